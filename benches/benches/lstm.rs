#![allow(missing_docs)] // criterion_group! generates undocumented items

//! One LSTM layer, input 128, hidden 256, sequence 35, batch 20, f32 on backend-cpu: forward,
//! loss = sum of the hidden outputs, backward with gradients for the weights and the input, no
//! optimizer step (the JAX peer's `lstm_in128_h256_seq35_b20_fwdbwd`).

use autograd::Var;
use criterion::{Criterion, criterion_group, criterion_main};
use nn_layers::ModuleExt;
use nn_layers::layers::{Recurrent, RecurrentConfig};
use tensor_core::{DType, TensorRng};
use tessera_benches::init_threads;

fn lstm_step(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let lstm = Recurrent::lstm(RecurrentConfig::new(128, 256), &mut rng, &device).unwrap();
    let x = Var::parameter(rng.normal([35, 20, 128], 0.0, 1.0, DType::F32, &device).unwrap());
    let mut group = c.benchmark_group(format!("cpu/lstm/t{threads}"));
    group.sample_size(20);
    group.bench_function("in128_h256_seq35_b20_fwdbwd", |bench| {
        bench.iter(|| {
            lstm.zero_grad();
            x.zero_grad();
            let (out, _) = lstm.forward_with(&x, None, None).unwrap();
            out.sum_all().unwrap().backward().unwrap();
            x.grad().expect("input gradient").sync().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, lstm_step);
criterion_main!(benches);
