//! A LeNet-style CNN on MNIST. CI trains on a 12k-image subset for three epochs and must reach
//! 97.3% on the full test set; the full run (`tessera train cnn --dataset mnist`, 60k images)
//! is what reaches the 99%.

use backend_cpu::CpuDevice;
use nn_layers::ModuleExt;
use nn_layers::data::{read_mnist, shared_data};
use nn_layers::models::{LeNetConfig, lenet};
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{FitConfig, fit_classifier};
use tensor_core::TensorRng;

#[test]
fn lenet_learns_mnist() {
    let Some(dir) = shared_data("mnist") else { return };
    let (train, test) = read_mnist(&dir).expect("MNIST parses");
    let train = train.split(0.2, 1).0.with_feature_dims(vec![1, 28, 28]).unwrap();
    let test = test.with_feature_dims(vec![1, 28, 28]).unwrap();
    let dev = CpuDevice::shared();
    let model = lenet(&LeNetConfig::for_digits([28, 28], 10), &mut TensorRng::new(0), &dev).unwrap();
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(2e-3));
    let (epochs, batch) = (3, 64);
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
    let last = history.last().unwrap().eval.unwrap().1;
    assert!(last >= 0.973, "test accuracy {last} after {epochs} epochs on {} images", train.len());
}
