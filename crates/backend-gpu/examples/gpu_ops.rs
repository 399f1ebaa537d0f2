//! The GPU backend, if an adapter exists: a matrix product, a softmax and a training-style
//! update run as WGSL kernels and are checked against the CPU backend. Without an adapter it
//! says why and exits successfully.
//!
//! Run with `cargo run -p backend-gpu --example gpu_ops` (on a machine without a GPU, Mesa's
//! lavapipe: `apt-get install mesa-vulkan-drivers` and `WGPU_BACKEND=vulkan`).

use backend_cpu::CpuDevice;
use backend_gpu::GpuDevice;
use tensor_core::{DType, Device, Tensor, TensorRng};

fn main() -> tensor_core::Result<()> {
    let gpu = match GpuDevice::shared_gpu() {
        Ok(gpu) => gpu,
        Err(reason) => {
            println!("no GPU to run on: {reason}");
            return Ok(());
        }
    };
    println!("adapter: {}", gpu.adapter_summary());
    if gpu.is_software() {
        println!("(a software rasteriser on the CPU: correct results, not GPU speed)");
    }
    let device: std::sync::Arc<dyn Device> = gpu.clone();
    let cpu = CpuDevice::shared();

    // Inputs are drawn on the host from a seed, so both devices see the same numbers.
    let mut rng = TensorRng::new(3);
    let x = rng.normal([128, 256], 0.0, 1.0, DType::F32, &device)?;
    let w = rng.normal([64, 256], 0.0, 0.1, DType::F32, &device)?;
    let b = Tensor::full(0.5, [64], DType::F32, &device)?;
    let on_gpu = x.try_matmul(&w.t())?.try_add(&b)?.try_softmax(-1)?;
    let on_cpu = x.try_to_device(&cpu)?.try_matmul(&w.try_to_device(&cpu)?.t())?.try_add(&b.try_to_device(&cpu)?)?;
    let on_cpu = on_cpu.try_softmax(-1)?;
    let (g, c) = (on_gpu.to_vec::<f32>()?, on_cpu.to_vec::<f32>()?);
    let gap = g.iter().zip(&c).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    println!("softmax(x · wᵀ + b) {}: GPU and CPU differ by at most {gap:.1e}", on_gpu.shape());
    assert!(gap < 1e-4);

    // An optimizer-style update in place on the device: w -= 0.1 · w leaves 0.9 · w.
    let before = w.to_vec::<f32>()?;
    w.try_add_scaled_(-0.1, &w.try_contiguous()?)?;
    let after = w.to_vec::<f32>()?;
    assert!(before.iter().zip(&after).all(|(b, a)| (0.9 * b - a).abs() < 1e-6));
    println!("in-place w -= 0.1·w on the device: ok; {} pipelines compiled", gpu.pipelines_compiled());

    // f64 has no WGSL arithmetic: the GPU refuses it with a typed error rather than a panic.
    let refused = Tensor::from_vec(vec![1.0f64, 2.0], [2], &device).expect_err("the GPU stores no f64");
    println!("f64 on the GPU: {refused}");
    Ok(())
}
