#![allow(missing_docs)] // criterion_group! generates undocumented items

//! backend-tpu-sim: a 128x128 weight-stationary array on a 1024x1024x1024 GEMM, stepped cycle
//! by cycle and in the fast mode. `cargo xtask bench` puts both beside SCALE-Sim's time for the
//! same case.

use std::time::Duration;

use backend_tpu_sim::{Dataflow, FoldPlan, Gemm, analytic, stepped};
use criterion::{Criterion, criterion_group, criterion_main};

fn tpu_sim(c: &mut Criterion) {
    let plan = FoldPlan::new(Gemm { m: 1024, n: 1024, k: 1024 }, Dataflow::WeightStationary, 128, 128);
    let lhs: Vec<f32> = (0..1024 * 1024).map(|i| (i % 13) as f32 - 6.0).collect();
    let rhs: Vec<f32> = (0..1024 * 1024).map(|i| (i % 7) as f32 - 3.0).collect();
    let mut group = c.benchmark_group("tpu_sim/ws128_gemm1024");
    group.sample_size(10).warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(10));
    group.bench_function("stepped", |b| b.iter(|| stepped::run::<f32>(&plan, &lhs, &rhs).1));
    group.measurement_time(Duration::from_secs(1));
    group.bench_function("fast", |b| b.iter(|| analytic::counts(&plan)));
    group.finish();
}

criterion_group!(benches, tpu_sim);
criterion_main!(benches);
