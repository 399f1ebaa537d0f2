//! Training parity: an MLP, a CNN and an LSTM trained on the GPU follow the CPU's loss curve
//! step for step (same seed, same batches, same optimizer) within a stated tolerance.

use std::sync::Arc;

use autograd::Var;
use backend_cpu::CpuDevice;
use backend_gpu::GpuDevice;
use nn_layers::data::{Dataset, read_digits_csv};
use nn_layers::layers::{Activation, Conv2d, Flatten, Linear, Pool, Recurrent, RecurrentConfig, Sequential};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use nn_layers::{Module, ModuleExt, Param};
use tensor_core::{Device, TensorRng, Window2d};

/// Largest allowed gap between the two loss curves, relative to the CPU loss: f32 sums run in
/// other orders on the GPU, and Adam carries the differences from step to step.
const TOLERANCE: f64 = 1e-4;

/// Builds a model from a seeded generator on a device.
type Build = dyn Fn(&mut TensorRng, &Arc<dyn Device>) -> Box<dyn Module>;

fn digits() -> Dataset {
    read_digits_csv(&test_support::repo_data("sklearn-digits/digits.csv.gz")).expect("the shipped digits parse")
}

/// The losses of `steps` Adam steps on batches of 32 digits, in a fixed order.
fn loss_curve(build: &Build, data: &Dataset, steps: usize, device: &Arc<dyn Device>) -> Vec<f64> {
    let model = build(&mut TensorRng::new(7), device);
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(3e-3));
    (0..steps)
        .map(|step| {
            let indices: Vec<usize> = (step * 32..step * 32 + 32).collect();
            let (x, y) = data.batch(&indices, device).expect("batch");
            optimizer.zero_grad();
            let loss = cross_entropy(&model.forward(&Var::constant(x)).unwrap(), &y, CrossEntropy::default()).unwrap();
            loss.backward().unwrap();
            optimizer.step().unwrap();
            loss.value().to_scalar().unwrap()
        })
        .collect()
}

fn assert_same_curve(what: &str, build: &Build, steps: usize) {
    let Some(gpu) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let data = digits();
    let cpu_losses = loss_curve(build, &data, steps, &CpuDevice::shared());
    let gpu_losses = loss_curve(build, &data, steps, &gpu);
    let worst = cpu_losses.iter().zip(&gpu_losses).map(|(c, g)| (c - g).abs() / c.abs().max(1e-3)).fold(0.0, f64::max);
    println!("{what}: cpu {cpu_losses:.5?}\n{what}: gpu {gpu_losses:.5?}\n{what}: worst relative gap {worst:.2e}");
    assert!(worst <= TOLERANCE, "{what}: the GPU loss curve leaves the CPU's by {worst:.2e}");
    assert!(cpu_losses.last() < cpu_losses.first(), "{what}: the loss falls");
}

#[test]
fn mlp_trains_like_the_cpu() {
    let build = |rng: &mut TensorRng, dev: &Arc<dyn Device>| -> Box<dyn Module> {
        Box::new(
            Sequential::new()
                .push(Linear::new(64, 48, rng, dev).unwrap())
                .push(Activation::Relu)
                .push(Linear::new(48, 10, rng, dev).unwrap()),
        )
    };
    assert_same_curve("mlp", &build, 30);
}

#[test]
fn cnn_trains_like_the_cpu() {
    let build = |rng: &mut TensorRng, dev: &Arc<dyn Device>| -> Box<dyn Module> {
        let conv = Conv2d::new(1, 6, Window2d::new([3, 3]).padding([1, 1]), rng, dev).unwrap();
        Box::new(Images(
            Sequential::new()
                .push(conv)
                .push(Activation::Relu)
                .push(Pool::max2d(2))
                .push(Flatten)
                .push(Linear::new(6 * 4 * 4, 10, rng, dev).unwrap()),
        ))
    };
    assert_same_curve("cnn", &build, 15);
}

#[test]
fn lstm_trains_like_the_cpu() {
    let build = |rng: &mut TensorRng, dev: &Arc<dyn Device>| -> Box<dyn Module> {
        let config = RecurrentConfig { batch_first: true, ..RecurrentConfig::new(8, 16) };
        Box::new(RowReader {
            lstm: Recurrent::lstm(config, rng, dev).unwrap(),
            head: Linear::new(16, 10, rng, dev).unwrap(),
        })
    };
    assert_same_curve("lstm", &build, 15);
}

/// Flat 64-pixel rows as `[N, 1, 8, 8]` images.
struct Images(Sequential);

impl Module for Images {
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.0.forward(&input.reshape([input.dims()[0], 1, 8, 8])?)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.0.visit_params(prefix, visit);
    }
}

/// Reads a digit as 8 steps of 8 pixels and classifies the last hidden state.
struct RowReader {
    lstm: Recurrent,
    head: Linear,
}

impl Module for RowReader {
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        let n = input.dims()[0];
        let states = self.lstm.forward(&input.reshape([n, 8, 8])?)?;
        self.head.forward(&states.narrow(1, 7, 1)?.reshape([n, 16])?)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.lstm.visit_params(&nn_layers::join(prefix, "lstm"), visit);
        self.head.visit_params(&nn_layers::join(prefix, "head"), visit);
    }
}
