#![allow(missing_docs)] // criterion_group! generates undocumented items

//! A 3x3 convolution, padding 1, 16 -> 32 channels on 32x32 images, batch 32, f32 on
//! backend-cpu: forward, loss = sum of the output, backward with gradients for the weight, the
//! bias and the input (the JAX peer's `conv3x3_16-32_32x32_b32_fwdbwd`).

use autograd::Var;
use criterion::{Criterion, criterion_group, criterion_main};
use tensor_core::{DType, TensorRng, Window2d};
use tessera_benches::init_threads;

fn conv_step(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let x = Var::parameter(rng.normal([32, 16, 32, 32], 0.0, 1.0, DType::F32, &device).unwrap());
    let w = Var::parameter(rng.normal([32, 16, 3, 3], 0.0, 0.1, DType::F32, &device).unwrap());
    let b = Var::parameter(rng.normal([32], 0.0, 0.1, DType::F32, &device).unwrap());
    let window = Window2d::new([3, 3]).padding([1, 1]);
    let mut group = c.benchmark_group(format!("cpu/conv2d/t{threads}"));
    group.sample_size(20);
    group.bench_function("3x3_16-32_32x32_b32_fwdbwd", |bench| {
        bench.iter(|| {
            for v in [&x, &w, &b] {
                v.zero_grad();
            }
            let loss = x.conv2d(&w, Some(&b), &window, 1).unwrap().sum_all().unwrap();
            loss.backward().unwrap();
            for v in [&x, &w, &b] {
                v.grad().expect("gradient").sync().unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, conv_step);
criterion_main!(benches);
