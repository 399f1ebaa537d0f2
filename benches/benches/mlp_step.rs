#![allow(missing_docs)] // criterion_group! generates undocumented items

//! One training step of an MLP 784-256-10 with ReLU, batch 64, f32 on backend-cpu: forward,
//! cross-entropy, backward and an SGD step (the JAX peer's `mlp784-256-10_b64_step`).

use autograd::Var;
use criterion::{Criterion, criterion_group, criterion_main};
use nn_layers::Module;
use nn_layers::ModuleExt;
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Optimizer, Sgd, SgdConfig};
use tensor_core::{DType, TensorRng};
use tessera_benches::init_threads;

fn mlp_step(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = Sequential::new()
        .push(Linear::new(784, 256, &mut rng, &device).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(256, 10, &mut rng, &device).unwrap());
    let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.01));
    let x = rng.normal([64, 784], 0.0, 1.0, DType::F32, &device).unwrap();
    let y = rng.integers([64], 10, &device).unwrap();
    let mut group = c.benchmark_group(format!("cpu/mlp_step/t{threads}"));
    group.sample_size(30);
    group.bench_function("784-256-10_b64", |b| {
        b.iter(|| {
            opt.zero_grad();
            let logits = model.forward(&Var::constant(x.clone())).unwrap();
            let loss = cross_entropy(&logits, &y, CrossEntropy::default()).unwrap();
            loss.backward().unwrap();
            opt.step().unwrap();
            model.parameters()[0].1.value().sync().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, mlp_step);
criterion_main!(benches);
