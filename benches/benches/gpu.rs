#![allow(missing_docs)] // criterion_group! generates undocumented items

//! backend-gpu: f32 matmul, softmax over rows, a chain of elementwise ops, and causal attention
//! (forward, and forward plus backward) through the fused kernels and through the default body
//! on the same adapter (`PrimitivesOnly`). Every iteration
//! ends with `sync()`, so the clock stops only when the GPU has finished. On a software adapter
//! (lavapipe) the shapes stay small and the numbers are a smoke test, not GPU performance. The
//! adapter is written to `target/criterion/gpu-adapter.txt` for `cargo xtask bench`.

use std::sync::Arc;
use std::time::Duration;

use backend_gpu::GpuDevice;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tensor_core::{AttentionMask, DType, Device, PrimitivesOnly, Tensor, TensorRng, default_attention_scale};
use tessera_benches::{
    GPU_ATTENTION_HEADS, GPU_ATTENTION_STEPS, GPU_CHAIN_SIZES, GPU_MATMUL_SIZES, GPU_SOFTMAX_ROWS, bench_threads,
};

fn gpu(c: &mut Criterion) {
    if bench_threads() != 1 {
        println!("gpu benches: run once, with TESSERA_BENCH_THREADS=1 (the GPU does not use the CPU pool)");
        return;
    }
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let gpu = GpuDevice::shared_gpu().expect("opened above");
    let software = gpu.is_software();
    let summary = format!("{}{}\n", gpu.adapter_summary(), if software { " [software: smoke test only]" } else { "" });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion");
    let _ = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join("gpu-adapter.txt"), summary));
    // Software adapters get the small half of each list.
    let pick = |sizes: &'static [usize]| if software { &sizes[..sizes.len() / 2] } else { sizes };
    let mut rng = TensorRng::new(7);

    let mut group = c.benchmark_group("gpu/matmul_f32");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    for &n in pick(&GPU_MATMUL_SIZES) {
        let a = rng.uniform([n, n], -1.0, 1.0, DType::F32, &device).expect("lhs");
        let b = rng.uniform([n, n], -1.0, 1.0, DType::F32, &device).expect("rhs");
        group.throughput(Throughput::Elements((2 * n * n * n) as u64));
        group.bench_function(format!("{n}x{n}x{n}"), |bench| {
            bench.iter(|| {
                let product = a.matmul(&b);
                product.sync().expect("sync");
                product
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("gpu/softmax_f32");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    for &rows in pick(&GPU_SOFTMAX_ROWS) {
        let x = rng.uniform([rows, rows], -4.0, 4.0, DType::F32, &device).expect("input");
        group.throughput(Throughput::Bytes((2 * 4 * rows * rows) as u64));
        group.bench_function(format!("{rows}x{rows}"), |bench| {
            bench.iter(|| {
                let p = x.softmax(-1);
                p.sync().expect("sync");
                p
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("gpu/elementwise_chain_f32");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    for &len in pick(&GPU_CHAIN_SIZES) {
        let x = rng.uniform([len], -1.0, 1.0, DType::F32, &device).expect("input");
        let scale = Tensor::scalar(0.5, DType::F32, &device).expect("scalar");
        // Five kernels, each reading and writing `len` floats.
        group.throughput(Throughput::Bytes((5 * 2 * 4 * len) as u64));
        group.bench_function(format!("{len}"), |bench| {
            bench.iter(|| {
                let y = x.tanh().mul(&scale).exp().add(&x).relu();
                y.sync().expect("sync");
                y
            })
        });
    }
    group.finish();

    attention(c, &device);
}

/// Causal attention `[1, H, T, 64]`, fused (`fused`) and through the default body on the same
/// adapter (`default`): the forward alone, and the forward with the backward.
fn attention(c: &mut Criterion, gpu: &Arc<dyn Device>) {
    let defaults: Arc<dyn Device> = Arc::new(PrimitivesOnly(gpu.clone()));
    let mut group = c.benchmark_group("gpu/attention_f32");
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    let (width, mask) = (64, AttentionMask::causal());
    let scale = default_attention_scale(width);
    for &steps in &GPU_ATTENTION_STEPS {
        for (name, device) in [("fused", gpu), ("default", &defaults)] {
            let mut rng = TensorRng::new(7);
            let mut input = || rng.normal([1, GPU_ATTENTION_HEADS, steps, width], 0.0, 1.0, DType::F32, device);
            let (q, k, v, grad) = (input().unwrap(), input().unwrap(), input().unwrap(), input().unwrap());
            group.bench_function(format!("{steps}x{width}_{name}_forward"), |bench| {
                bench.iter(|| {
                    let forward = q.attention(&k, &v, &mask, scale);
                    forward.out.sync().expect("sync");
                    forward
                })
            });
            group.bench_function(format!("{steps}x{width}_{name}_forward_backward"), |bench| {
                bench.iter(|| {
                    let forward = q.attention(&k, &v, &mask, scale);
                    let grads = q.try_attention_backward(&k, &v, &forward, &grad, &mask, scale).expect("backward");
                    grads.0.sync().expect("sync");
                    grads
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, gpu);
criterion_main!(benches);
