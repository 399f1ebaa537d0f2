//! An MLP trains on the simulated TPU (f32-exact mode) exactly as on the CPU, and the device
//! reports where its cycles went.

use std::sync::Arc;

use autograd::Var;
use backend_cpu::CpuDevice;
use backend_tpu_sim::TpuDevice;
use nn_layers::data::read_digits_csv;
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use nn_layers::{Module, ModuleExt};
use tensor_core::{Device, TensorRng};

fn losses(device: &Arc<dyn Device>, steps: usize) -> Vec<f64> {
    let data =
        read_digits_csv(&test_support::repo_data("sklearn-digits/digits.csv.gz")).expect("the shipped digits parse");
    let mut rng = TensorRng::new(3);
    let model = Sequential::new()
        .push(Linear::new(64, 48, &mut rng, device).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(48, 10, &mut rng, device).unwrap());
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(3e-3));
    (0..steps)
        .map(|step| {
            let (x, y) = data.batch(&(step * 32..step * 32 + 32).collect::<Vec<_>>(), device).unwrap();
            optimizer.zero_grad();
            let loss = cross_entropy(&model.forward(&Var::constant(x)).unwrap(), &y, CrossEntropy::default()).unwrap();
            loss.backward().unwrap();
            optimizer.step().unwrap();
            loss.value().to_scalar().unwrap()
        })
        .collect()
}

#[test]
fn an_mlp_trains_on_the_simulated_tpu_like_on_the_cpu() {
    let tpu = TpuDevice::exact();
    let on_tpu = losses(&(tpu.clone() as Arc<dyn Device>), 20);
    let on_cpu = losses(&CpuDevice::shared(), 20);
    let worst = on_cpu.iter().zip(&on_tpu).map(|(c, t)| (c - t).abs() / c.abs()).fold(0.0, f64::max);
    println!("cpu {on_cpu:.5?}\ntpu {on_tpu:.5?}\nworst relative gap {worst:.2e}");
    assert!(worst <= 1e-4, "the TPU's loss curve leaves the CPU's by {worst:.2e}");
    assert!(on_tpu.last() < on_tpu.first(), "the loss falls");
    let ledger = tpu.ledger();
    println!("{ledger}");
    // Per step: 2 forward products, 2 weight gradients and 1 input gradient (the first layer's
    // input needs none): the [32, 64] x [64, 48] shape twice and the [32, 48] x [48, 10] one 3 times.
    assert_eq!(ledger.ops["matmul"].calls, 20 * 5);
    assert_eq!(ledger.array.useful_macs, 20 * (2 * 32 * 64 * 48 + 3 * 32 * 48 * 10) as u64);
}
