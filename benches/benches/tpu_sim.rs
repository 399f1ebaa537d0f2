#![allow(missing_docs)] // criterion_group! generates undocumented items

//! backend-tpu-sim: a 128x128 weight-stationary array on a 1024x1024x1024 GEMM, stepped cycle
//! by cycle and in the fast mode, in SCALE-Sim's timing and in the faithful one (the `bf16-128`
//! chip, memory path included). `cargo xtask bench` puts them beside SCALE-Sim's time for the
//! same case. `tpu_sim/memory_limited` runs SCALE-Sim's memory model too: the 256x256x256 GEMM
//! of issue 30 on a 32x32 weight-stationary array with 4 kB SRAMs and 10 words a cycle of DRAM
//! bandwidth (`InterfaceBandwidth: USER`), where stalls are most of the cycles.

use std::time::Duration;

use backend_tpu_sim::scalesim_memory::{Interface, ScaleSimMemory};
use backend_tpu_sim::{Dataflow, FoldPlan, Gemm, Timing, TpuConfig, analytic, simulate, stepped};
use criterion::{Criterion, criterion_group, criterion_main};

fn tpu_sim(c: &mut Criterion) {
    let gemm = Gemm { m: 1024, n: 1024, k: 1024 };
    let plan = FoldPlan::new(gemm, Dataflow::WeightStationary, 128, 128);
    let chip = TpuConfig::preset("bf16-128").expect("a preset");
    let lhs: Vec<f32> = (0..1024 * 1024).map(|i| (i % 13) as f32 - 6.0).collect();
    let rhs: Vec<f32> = (0..1024 * 1024).map(|i| (i % 7) as f32 - 3.0).collect();
    let mut group = c.benchmark_group("tpu_sim/ws128_gemm1024");
    group.sample_size(10).warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(10));
    group.bench_function("stepped", |b| b.iter(|| stepped::run::<f32>(&plan, &lhs, &rhs).1));
    group.bench_function("faithful_stepped", |b| b.iter(|| simulate::stepped::<f32>(&chip, gemm, &lhs, &rhs).1));
    group.measurement_time(Duration::from_secs(1));
    group.bench_function("fast", |b| b.iter(|| analytic::counts(&plan)));
    group.bench_function("faithful_fast", |b| b.iter(|| simulate::fast(&chip, gemm)));
    group.finish();
    memory_limited(c);
}

/// Issue 30's memory-limited case, stepped (array and memory replay) and fast.
fn memory_limited(c: &mut Criterion) {
    let gemm = Gemm { m: 256, n: 256, k: 256 };
    let memory = ScaleSimMemory {
        ifmap_bytes: 4096,
        filter_bytes: 4096,
        ofmap_bytes: 4096,
        interface: Interface::User { ifmap: 10, filter: 10, ofmap: 10 },
    };
    let chip = TpuConfig {
        rows: 32,
        cols: 32,
        dataflow: Dataflow::WeightStationary,
        timing: Timing::ScaleSim,
        scalesim_memory: Some(memory),
        ..TpuConfig::preset("bf16-128").expect("a preset")
    };
    let lhs: Vec<f32> = (0..256 * 256).map(|i| (i % 13) as f32 - 6.0).collect();
    let rhs: Vec<f32> = (0..256 * 256).map(|i| (i % 7) as f32 - 3.0).collect();
    let mut group = c.benchmark_group("tpu_sim/memory_limited");
    group.sample_size(10).warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(3));
    group.bench_function("stepped", |b| b.iter(|| simulate::stepped::<f32>(&chip, gemm, &lhs, &rhs).1));
    group.bench_function("fast", |b| b.iter(|| simulate::fast(&chip, gemm)));
    group.finish();
}

criterion_group!(benches, tpu_sim);
criterion_main!(benches);
