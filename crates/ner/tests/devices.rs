//! The CRF layer on every backend: its loss, its gradients (emissions and its own scores) and
//! its Viterbi paths on the simulated TPU and, when an adapter exists, the GPU agree with the
//! CPU's, since the loss is a composite of autograd ops each backend implements.

use std::sync::Arc;

use autograd::Var;
use backend_cpu::CpuDevice;
use backend_gpu::GpuDevice;
use backend_tpu_sim::TpuDevice;
use nn_layers::ModuleExt;
use nn_layers::layers::{Crf, TransitionMask};
use tensor_core::{DType, Device, Tensor, TensorRng};

const TAGS: [&str; 5] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

/// (loss, emission gradient, transition gradient, Viterbi paths) on `device`.
fn run(device: &Arc<dyn Device>) -> (f64, Vec<f64>, Vec<f64>, Vec<Vec<usize>>) {
    let crf =
        Crf::new(5, &mut TensorRng::new(3), device).unwrap().with_mask(TransitionMask::iob2(&TAGS).unwrap()).unwrap();
    let emissions = Var::parameter(TensorRng::new(4).normal([3, 6, 5], 0.0, 1.0, DType::F32, device).unwrap());
    let gold: Vec<i64> = vec![1, 2, 0, 3, 4, 0, 0, 1, 0, 0, 0, 0, 3, 4, 4, 0, 0, 0];
    let tags = Tensor::from_vec(gold, [3, 6], device).unwrap();
    let lengths = [6, 3, 4];
    let loss = crf.loss(&emissions, &tags, &lengths).unwrap();
    loss.backward().unwrap();
    let trans = crf.parameters().into_iter().find(|(n, _)| n == "transitions").unwrap().1;
    (
        loss.value().to_scalar().unwrap(),
        emissions.grad().unwrap().to_f64_vec().unwrap(),
        trans.grad().unwrap().to_f64_vec().unwrap(),
        crf.decode(&emissions.value(), &lengths).unwrap(),
    )
}

fn assert_close(
    name: &str,
    cpu: &(f64, Vec<f64>, Vec<f64>, Vec<Vec<usize>>),
    other: &(f64, Vec<f64>, Vec<f64>, Vec<Vec<usize>>),
) {
    assert!((cpu.0 - other.0).abs() < 1e-4 * cpu.0.abs().max(1.0), "{name} loss {} vs cpu {}", other.0, cpu.0);
    for (a, b) in cpu.1.iter().zip(&other.1).chain(cpu.2.iter().zip(&other.2)) {
        assert!((a - b).abs() < 1e-4, "{name} gradient {b} vs cpu {a}");
    }
    assert_eq!(cpu.3, other.3, "{name} Viterbi paths");
}

#[test]
fn crf_agrees_across_backends() {
    let cpu = run(&CpuDevice::shared());
    let tpu: Arc<dyn Device> = TpuDevice::exact();
    assert_close("tpu-sim", &cpu, &run(&tpu));
    if let Some(gpu) = test_support::require("a GPU adapter", GpuDevice::shared()) {
        let gpu: Arc<dyn Device> = gpu;
        assert_close("gpu", &cpu, &run(&gpu));
    }
}
