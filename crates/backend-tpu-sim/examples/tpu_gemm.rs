//! A GEMM on the simulated TPU: a dense layer's product runs on the systolic array and its ReLU
//! on the vector unit, the results match the CPU, and the device's ledger says where the cycles
//! went; then the same GEMM stepped cycle by cycle agrees with the fast mode's counts.
//!
//! Run with `cargo run -p backend-tpu-sim --example tpu_gemm`.

use std::sync::Arc;

use backend_cpu::CpuDevice;
use backend_tpu_sim::{Gemm, TpuConfig, TpuDevice, simulate};
use tensor_core::{DType, Device, TensorRng};

fn main() -> tensor_core::Result<()> {
    // tpu-v1's 256x256 weight-stationary array, with f32 operands so products match the CPU.
    let tpu = TpuDevice::exact();
    let device: Arc<dyn Device> = tpu.clone();
    let cpu = CpuDevice::shared();
    let (m, k, n) = (200, 256, 256);
    let mut rng = TensorRng::new(1);
    let x = rng.uniform([m, k], -1.0, 1.0, DType::F32, &device)?;
    let w = rng.uniform([k, n], -1.0, 1.0, DType::F32, &device)?;
    let y = x.try_matmul(&w)?.try_relu()?;
    let reference = x.try_to_device(&cpu)?.try_matmul(&w.try_to_device(&cpu)?)?.try_relu()?;
    let (got, want) = (y.to_vec::<f32>()?, reference.to_vec::<f32>()?);
    let gap = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    println!("relu([{m}, {k}] x [{k}, {n}]) on {}: max |TPU - CPU| = {gap:.1e}", device.name());
    assert!(gap < 1e-3);

    let ledger = tpu.ledger();
    let config = tpu.config();
    let seconds = ledger.total_cycles() as f64 / (config.clock_mhz * 1e6);
    println!("{ledger}");
    println!(
        "{:.1} µs at {} MHz; array utilisation {:.1}%, mapping efficiency {:.1}%",
        seconds * 1e6,
        config.clock_mhz,
        100.0 * ledger.array.utilisation(config.pes()),
        100.0 * ledger.array.mapping_efficiency(config.pes())
    );
    assert_eq!(ledger.array.useful_macs, (m * k * n) as u64);

    // The fast mode computes the counts in closed form; stepping every PE and the memory path
    // cycle by cycle gives the same counts and the exact integer product (a smaller array keeps
    // the debug build quick).
    let small = TpuConfig { rows: 32, cols: 32, ..TpuConfig::preset("tpu-v1").expect("a preset") };
    let gemm = Gemm { m: 48, n: 40, k: 70 };
    let fast = simulate::fast(&small, gemm);
    let lhs: Vec<f32> = (0..gemm.m * gemm.k).map(|i| (i % 7) as f32 - 3.0).collect();
    let rhs: Vec<f32> = (0..gemm.k * gemm.n).map(|i| (i % 5) as f32 - 2.0).collect();
    let (product, stepped) = simulate::stepped::<i32>(&small, gemm, &lhs, &rhs);
    let dot = |i: usize, j: usize| (0..gemm.k).map(|p| (lhs[i * gemm.k + p] * rhs[p * gemm.n + j]) as i32).sum::<i32>();
    assert!((0..gemm.m * gemm.n).all(|e| product[e] == dot(e / gemm.n, e % gemm.n)), "the array computes real sums");
    println!(
        "{gemm:?} on 32x32: {} folds, {} cycles ({} stalled) fast, {} cycles stepped",
        fast.counts.folds,
        fast.counts.cycles,
        fast.counts.stall_cycles(),
        stepped.counts.cycles
    );
    assert_eq!(fast.counts, stepped.counts);
    Ok(())
}
