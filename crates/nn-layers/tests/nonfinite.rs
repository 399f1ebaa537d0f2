//! Numerical faults are named: a NaN in the data stops training at its first step with an error
//! naming the step and the loss; a NaN gradient is reported under the parameter's name; with
//! `NonFinitePolicy::Skip` the bad steps are skipped, counted, and the weights stay finite.

use std::sync::Arc;

use backend_cpu::CpuDevice;
use nn_layers::data::Dataset;
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::optim::{Sgd, SgdConfig};
use nn_layers::train::{FitConfig, NonFinitePolicy, all_finite, first_nonfinite, fit_classifier};
use nn_layers::{ModuleExt, NnError};
use tensor_core::{Device, Tensor, TensorRng};

fn model(device: &Arc<dyn Device>) -> Sequential {
    let mut rng = TensorRng::new(7);
    Sequential::new()
        .push(Linear::new(4, 8, &mut rng, device).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(8, 3, &mut rng, device).unwrap())
}

/// 12 examples of 4 features; example `poisoned` (if any) holds a NaN.
fn data(poisoned: Option<usize>) -> Dataset {
    let mut features: Vec<f32> = (0..48).map(|i| ((i * 7) % 11) as f32 / 11.0).collect();
    if let Some(row) = poisoned {
        features[row * 4 + 2] = f32::NAN;
    }
    Dataset::new(features, vec![4], (0..12).map(|i| i % 3).collect()).unwrap()
}

#[test]
fn a_nan_loss_stops_training_with_the_step_named() {
    let device = CpuDevice::shared();
    let net = model(&device);
    let mut optimizer = Sgd::new(net.parameters(), SgdConfig::new(0.1));
    // Batches of the whole set: the first step already reads the NaN.
    let config = FitConfig::new(3, 12, 0);
    let error = fit_classifier(&net, &mut optimizer, &data(Some(5)), None, config, &device, |_| {}).unwrap_err();
    match &error {
        NnError::NonFinite { step: 1, what } => assert!(what.starts_with("the loss"), "{what}"),
        other => panic!("expected a non-finite error at step 1, got {other}"),
    }
    assert!(error.to_string().contains("--skip-nonfinite"), "{error}");
    for (name, p) in net.parameters() {
        assert!(all_finite(&p.value()).unwrap(), "{name} was updated from a NaN step");
    }
}

#[test]
fn skipping_counts_the_bad_steps_and_keeps_the_weights_finite() {
    let device = CpuDevice::shared();
    let net = model(&device);
    let mut optimizer = Sgd::new(net.parameters(), SgdConfig::new(0.1));
    // Batches of 4 over 12 examples: 3 steps an epoch, one of which holds the NaN.
    let config = FitConfig { nonfinite: NonFinitePolicy::Skip, ..FitConfig::new(2, 4, 0) };
    let history = fit_classifier(&net, &mut optimizer, &data(Some(5)), None, config, &device, |_| {}).unwrap();
    assert_eq!(history.iter().map(|e| e.skipped_steps).collect::<Vec<_>>(), [1, 1]);
    assert!(history.iter().all(|e| e.train_loss.is_finite()), "{history:?}");
    for (name, p) in net.parameters() {
        assert!(all_finite(&p.value()).unwrap(), "{name} holds a NaN");
    }
    // Clean data skips nothing.
    let clean = fit_classifier(&net, &mut optimizer, &data(None), None, FitConfig::new(1, 4, 0), &device, |_| {});
    assert_eq!(clean.unwrap()[0].skipped_steps, 0);
}

#[test]
fn a_non_finite_gradient_is_named_by_its_parameter() {
    let device = CpuDevice::shared();
    let net = model(&device);
    let params = net.parameters();
    let loss = Tensor::from_vec(vec![0.5f32], [1], &device).unwrap();
    assert_eq!(first_nonfinite(&loss, &params).unwrap(), None);
    let (name, param) = &params[2];
    let shape = param.value().dims().to_vec();
    let mut values = vec![0.0f32; shape.iter().product()];
    values[1] = f32::INFINITY;
    param.leaf().set_grad(Some(Tensor::from_vec(values, shape, &device).unwrap()));
    let what = first_nonfinite(&loss, &params).unwrap().expect("the infinite gradient is found");
    assert_eq!(what, format!("the gradient of `{name}`"));
}

#[test]
fn detect_anomaly_names_the_first_op_that_produced_the_nan() {
    let device = CpuDevice::shared();
    let net = model(&device);
    let mut optimizer = Sgd::new(net.parameters(), SgdConfig::new(0.1));
    let config = FitConfig { detect_anomaly: true, ..FitConfig::new(1, 12, 0) };
    let error = fit_classifier(&net, &mut optimizer, &data(Some(5)), None, config, &device, |_| {}).unwrap_err();
    let text = error.to_string();
    // The NaN enters through the data: the first op to output it is the first layer's product,
    // whose inputs are the batch [12, 4] and the weight.
    assert!(text.contains("step 1: the loss"), "{text}");
    assert!(text.contains("the forward pass of the op at") && text.contains("[12, 4]"), "{text}");
    assert!(text.contains("crates/autograd/src/rules/"), "{text}");
    eprintln!("{text}");
}
