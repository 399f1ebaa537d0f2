//! An MLP on MNIST reaches at least 98% test accuracy (the bar).

mod common;

use backend_cpu::CpuDevice;
use nn_layers::data::read_mnist;
use nn_layers::layers::{Activation, Linear, Sequential};
use tensor_core::TensorRng;

#[test]
fn mlp_reaches_98_percent() {
    let Some(dir) = test_support::shared_data("mnist") else { return };
    let (train, test) = read_mnist(&dir).expect("MNIST parses");
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    let dev = CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = Sequential::new()
        .push(Linear::new(784, 256, &mut rng, &dev).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(256, 10, &mut rng, &dev).unwrap());
    let accuracies = common::fit_mnist(&model, &train, &test, 6, 2e-3, &dev);
    let best = accuracies.iter().copied().fold(0.0, f64::max);
    let last = *accuracies.last().unwrap();
    assert!(last >= 0.98, "final test accuracy {last} (best {best})");
}
