//! An MLP on MNIST reaches at least 98% test accuracy (the bar).

use backend_cpu::CpuDevice;
use nn_layers::ModuleExt;
use nn_layers::data::{read_mnist, shared_data};
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{FitConfig, fit_classifier};
use tensor_core::TensorRng;

#[test]
fn mlp_reaches_98_percent() {
    let Some(dir) = shared_data("mnist") else { return };
    let (train, test) = read_mnist(&dir).expect("MNIST parses");
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    let dev = CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = Sequential::new()
        .push(Linear::new(784, 256, &mut rng, &dev).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(256, 10, &mut rng, &dev).unwrap());
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(1e-3));
    let (epochs, batch) = (6, 64);
    let config = FitConfig::new(epochs, batch, 0).with_cosine(2e-3, train.len());
    let history = fit_classifier(&model, &mut opt, &train, Some(&test), config, &dev, |e| {
        let (loss, acc) = e.eval.unwrap();
        println!(
            "epoch {}: train loss {:.4}, test loss {loss:.4}, test accuracy {:.2}% ({:.1} s)",
            e.epoch,
            e.train_loss,
            acc * 100.0,
            e.seconds
        );
    })
    .unwrap();
    let best = history.iter().map(|e| e.eval.unwrap().1).fold(0.0, f64::max);
    let last = history.last().unwrap().eval.unwrap().1;
    assert!(last >= 0.98, "final test accuracy {last} (best {best})");
}
