//! A LeNet-style CNN on MNIST. CI trains on a 12k-image subset for three epochs and must reach
//! 97.3% on the full test set; the full run (`tessera train cnn --dataset mnist`, 60k images)
//! is what reaches the 99%.

mod common;

use backend_cpu::CpuDevice;
use nn_layers::data::read_mnist;
use nn_layers::models::{LeNetConfig, lenet};
use tensor_core::TensorRng;

#[test]
fn lenet_learns_mnist() {
    let Some(dir) = test_support::shared_data("mnist") else { return };
    let (train, test) = read_mnist(&dir).expect("MNIST parses");
    let train = train.split(0.2, 1).0.with_feature_dims(vec![1, 28, 28]).unwrap();
    let test = test.with_feature_dims(vec![1, 28, 28]).unwrap();
    let dev = CpuDevice::shared();
    let model = lenet(&LeNetConfig::for_digits([28, 28], 10), &mut TensorRng::new(0), &dev).unwrap();
    let epochs = 3;
    let last = *common::fit_mnist(&model, &train, &test, epochs, 2e-3, &dev).last().unwrap();
    assert!(last >= 0.973, "test accuracy {last} after {epochs} epochs on {} images", train.len());
}
