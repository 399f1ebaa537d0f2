#![allow(missing_docs)] // criterion_group! generates undocumented items

//! f32 matmul on backend-cpu: square 64..2048 and 4096x1024 by 1024x256, with the thread count
//! from `TESSERA_BENCH_THREADS`. Throughput is in FLOPs (2·m·k·n per product). Beside them, one
//! core's FMA peak (`cpu/fma_peak/<avx512|avx2>`), so a GEMM's share of it comes from one run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tensor_core::{DType, TensorRng};
use tessera_benches::{MATMUL_SHAPES, init_threads};

fn matmul(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(7);
    let mut group = c.benchmark_group(format!("cpu/matmul_f32/t{threads}"));
    group.sample_size(10).warm_up_time(std::time::Duration::from_millis(300));
    for (m, k, n) in MATMUL_SHAPES {
        let a = rng.uniform([m, k], -1.0, 1.0, DType::F32, &device).expect("lhs");
        let b = rng.uniform([k, n], -1.0, 1.0, DType::F32, &device).expect("rhs");
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        group.measurement_time(std::time::Duration::from_millis(if m * k * n >= 1 << 30 { 3000 } else { 1000 }));
        group.bench_function(format!("{m}x{k}x{n}"), |bench| {
            bench.iter(|| {
                let product = a.matmul(&b);
                product.sync().expect("sync");
                product
            })
        });
    }
    group.finish();
}

fn fma_peak(c: &mut Criterion) {
    use tessera_benches::fma_peak::{fma_kind, fma_loop, fma_loop_flops};
    let Some((kind, _)) = fma_kind() else { return };
    // About 5 ms per call on the development machine (AVX-512, 117 GFLOP/s).
    const ITERATIONS: u64 = 1 << 20;
    let mut group = c.benchmark_group("cpu/fma_peak");
    group.sample_size(20).warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_millis(1000));
    group.throughput(Throughput::Elements(fma_loop_flops(ITERATIONS)));
    group.bench_function(kind, |bench| bench.iter(|| fma_loop(std::hint::black_box(ITERATIONS))));
    group.finish();
}

criterion_group!(benches, fma_peak, matmul);
criterion_main!(benches);
