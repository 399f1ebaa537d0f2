//! The devices this build offers, chosen at run time by name.

use std::sync::Arc;

use backend_cpu::CpuDevice;
use backend_gpu::GpuDevice;
use backend_tpu_sim::TpuDevice;
use tensor_core::Device;

use crate::error::CliError;

/// A device the user can pick with `--device`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceKind {
    /// The CPU backend (ndarray, rayon, gemm kernels).
    Cpu,
    /// The GPU backend (WGSL compute shaders through wgpu; the adapter comes from
    /// `WGPU_BACKEND` and `WGPU_ADAPTER_NAME`).
    Gpu,
    /// The simulated TPU: products on a cycle-level systolic array (tpu-v1 geometry, f32
    /// operands), the rest on its vector unit; every op is charged cycles.
    TpuSim,
}

impl DeviceKind {
    /// Opens the device.
    pub fn open(self) -> Result<Arc<dyn Device>, CliError> {
        match self {
            DeviceKind::Cpu => Ok(CpuDevice::shared()),
            DeviceKind::Gpu => Ok(GpuDevice::shared()?),
            DeviceKind::TpuSim => Ok(tpu_sim()),
        }
    }
}

/// `tessera devices`: every device this build offers, and why one is unavailable.
pub fn list(job: &crate::job::Job) -> Result<(), CliError> {
    if let Some(line) = job.describe() {
        println!("{:<8} {line}", "job");
    }
    for kind in <DeviceKind as clap::ValueEnum>::value_variants() {
        let line = match kind.open() {
            Ok(device) => describe(&device),
            Err(e) => format!("unavailable: {e}"),
        };
        let name = clap::ValueEnum::to_possible_value(kind).map_or_else(String::new, |v| v.get_name().to_string());
        println!("{name:<8} {line}");
    }
    Ok(())
}

/// The process-wide simulated TPU (one ledger for the whole run).
pub fn tpu_sim() -> Arc<TpuDevice> {
    static SHARED: std::sync::OnceLock<Arc<TpuDevice>> = std::sync::OnceLock::new();
    SHARED.get_or_init(TpuDevice::exact).clone()
}

/// One line about a device: for the GPU its adapter, for the CPU threads and vector features.
pub fn describe(device: &Arc<dyn Device>) -> String {
    if device.name().starts_with("tpu-sim") {
        let c = tpu_sim().config().clone();
        return format!(
            "{} — {}x{} {} array at {} MHz, {:?} operands, {} vector lanes",
            device.name(),
            c.rows,
            c.cols,
            c.dataflow.short_name(),
            c.clock_mhz,
            c.input,
            c.cols
        );
    }
    if device.name().starts_with("gpu") {
        return match GpuDevice::shared_gpu() {
            Ok(gpu) => format!("{} — {}", device.name(), gpu.adapter_summary()),
            Err(e) => e.to_string(),
        };
    }
    // Rayon's global pool (the CPU backend's threads) follows RAYON_NUM_THREADS when it is set.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0);
    let threads = threads.unwrap_or(cores);
    let mut features = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            features.push("avx512f");
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            features.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("fma") {
            features.push("fma");
        }
    }
    format!(
        "{} — {threads} threads, {}",
        device.name(),
        if features.is_empty() { "scalar".into() } else { features.join(" ") }
    )
}
