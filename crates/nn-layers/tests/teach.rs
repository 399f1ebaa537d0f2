//! The seed's lessons as tests: a linear head with MSE recovers known coefficients; a network
//! without activations cannot fit XOR while the same network with one can; sigmoid (binary)
//! and softmax (multi-class) heads learn real data (scikit-learn digits).

use std::sync::Arc;

use autograd::Var;
use backend_cpu::CpuDevice;
use nn_layers::data::{LastBatch, read_digits_csv};
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::loss::{Reduction, bce_with_logits, mse};
use nn_layers::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use nn_layers::train::{FitConfig, evaluate_classifier, fit_classifier};
use nn_layers::{Module, ModuleExt};
use tensor_core::{DType, Device, Tensor, TensorRng};

fn device() -> Arc<dyn Device> {
    CpuDevice::shared()
}

#[test]
fn linear_regression_recovers_coefficients() {
    let dev = device();
    let mut rng = TensorRng::new(1);
    let x = rng.uniform([256, 3], -1.0, 1.0, DType::F32, &dev).unwrap();
    let true_w = Tensor::from_vec(vec![2.0f32, -3.0, 0.5], [3, 1], &dev).unwrap();
    let noise = rng.normal([256, 1], 0.0, 0.01, DType::F32, &dev).unwrap();
    let y = x.matmul(&true_w).add_scalar(1.5).add(&noise);
    let model = Linear::new(3, 1, &mut rng, &dev).unwrap();
    let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.1));
    for _ in 0..300 {
        opt.zero_grad();
        let loss = mse(&model.forward(&Var::constant(x.clone())).unwrap(), &Var::constant(y.clone()), Reduction::Mean)
            .unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let w = model.weight.value().to_vec::<f32>().unwrap();
    let b = model.bias.as_ref().unwrap().value().to_vec::<f32>().unwrap();
    for (got, want) in w.iter().zip([2.0, -3.0, 0.5]) {
        assert!((got - want).abs() < 0.02, "weights {w:?}");
    }
    assert!((b[0] - 1.5).abs() < 0.02, "bias {b:?}");
}

/// Trains a 2-8-1 network on XOR with a sigmoid output and returns its accuracy.
fn xor_accuracy(hidden_activation: Option<Activation>) -> f64 {
    let dev = device();
    let x = Tensor::from_vec(vec![0f32, 0., 0., 1., 1., 0., 1., 1.], [4, 2], &dev).unwrap();
    let y = Tensor::from_vec(vec![0f32, 1., 1., 0.], [4, 1], &dev).unwrap();
    let mut rng = TensorRng::new(3);
    let mut model = Sequential::new().push(Linear::new(2, 8, &mut rng, &dev).unwrap());
    if let Some(a) = hidden_activation {
        model = model.push(a);
    }
    let model = model.push(Linear::new(8, 1, &mut rng, &dev).unwrap());
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(0.05));
    for _ in 0..500 {
        opt.zero_grad();
        let loss = bce_with_logits(&model.forward(&Var::constant(x.clone())).unwrap(), &y, Reduction::Mean).unwrap();
        loss.backward().unwrap();
        opt.step().unwrap();
    }
    let logits = model.forward(&Var::constant(x)).unwrap().value().to_vec::<f32>().unwrap();
    let targets = [0.0, 1.0, 1.0, 0.0];
    logits.iter().zip(targets).filter(|(l, t)| ((**l > 0.0) as i32 as f64) == *t).count() as f64 / 4.0
}

#[test]
fn xor_needs_a_nonlinearity() {
    // Without an activation the two layers collapse into one linear map: at most 3 of 4.
    assert!(xor_accuracy(None) <= 0.75);
    assert_eq!(xor_accuracy(Some(Activation::Relu)), 1.0);
    assert_eq!(xor_accuracy(Some(Activation::Tanh)), 1.0);
}

/// The digits that ship in the repository's data/ folder.
fn digits() -> nn_layers::data::Dataset {
    read_digits_csv(&test_support::repo_data("sklearn-digits/digits.csv.gz")).expect("digits parse")
}

#[test]
fn sigmoid_head_separates_two_digits() {
    let all = digits();
    // Binary task: 3 (label 0) vs 8 (label 1), the pair that looks most alike.
    let pair = all.filter_map_labels(|l| match l {
        3 => Some(0),
        8 => Some(1),
        _ => None,
    });
    let (train, test) = pair.split(0.8, 5);
    let dev = device();
    let mut rng = TensorRng::new(5);
    let model = Sequential::new()
        .push(Linear::new(64, 32, &mut rng, &dev).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(32, 1, &mut rng, &dev).unwrap());
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(0.01));
    for epoch in 0..30 {
        for idx in train.batches(32, Some(epoch), LastBatch::Keep) {
            let (x, y) = train.batch(&idx, &dev).unwrap();
            let targets = y.cast(DType::F32).reshape([idx.len(), 1]);
            opt.zero_grad();
            bce_with_logits(&model.forward(&Var::constant(x)).unwrap(), &targets, Reduction::Mean)
                .unwrap()
                .backward()
                .unwrap();
            opt.step().unwrap();
        }
    }
    let all_idx: Vec<usize> = (0..test.len()).collect();
    let (x, y) = test.batch(&all_idx, &dev).unwrap();
    let probs = model.forward(&Var::constant(x)).unwrap().sigmoid().unwrap().value().to_vec::<f32>().unwrap();
    let labels = y.to_vec::<i64>().unwrap();
    let acc =
        probs.iter().zip(&labels).filter(|(p, l)| ((**p > 0.5) as i64) == **l).count() as f64 / labels.len() as f64;
    assert!(acc >= 0.95, "3-vs-8 accuracy {acc}");
}

#[test]
fn softmax_head_classifies_ten_digits() {
    let all = digits();
    let (train, test) = all.split(0.8, 7);
    let dev = device();
    let mut rng = TensorRng::new(7);
    let model = Sequential::new()
        .push(Linear::new(64, 64, &mut rng, &dev).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(64, 10, &mut rng, &dev).unwrap());
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(0.01));
    let config = FitConfig::new(25, 32, 7);
    fit_classifier(&model, &mut opt, &train, None, config, &dev, |_| {}).unwrap();
    let (loss, acc) = evaluate_classifier(&model, &test, 256, &dev).unwrap();
    assert!(acc >= 0.95, "10-class digits accuracy {acc} (loss {loss})");
}
