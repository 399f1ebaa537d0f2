//! The CPU backend: a timed f32 matrix product through a transposed view, checked against the
//! f64 product, and composites run natively and through the contract's default bodies.
//!
//! Run with `cargo run --release -p backend-cpu --example cpu_backend` (debug builds are slower).

use std::sync::Arc;
use std::time::Instant;

use backend_cpu::CpuDevice;
use tensor_core::{Composite, DType, Device, PrimitivesOnly, TensorRng, Window2d};

fn main() -> tensor_core::Result<()> {
    let device = CpuDevice::shared();
    println!("device {} on {} rayon threads", device.name(), rayon::current_num_threads());

    // [512, 512] x [512, 512]ᵀ: gemm reads the transposed view's strides, no copy is made.
    let n = 512;
    let mut rng = TensorRng::new(42);
    let a = rng.uniform([n, n], -1.0, 1.0, DType::F32, &device)?;
    let b = rng.uniform([n, n], -1.0, 1.0, DType::F32, &device)?;
    let mut best = f64::INFINITY;
    let mut product = a.try_matmul(&b.t())?;
    for _ in 0..3 {
        let started = Instant::now();
        product = a.try_matmul(&b.t())?;
        product.sync()?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    let exact = a.try_cast(DType::F64)?.try_matmul(&b.try_cast(DType::F64)?.t())?;
    let (got, want) = (product.to_f64_vec()?, exact.to_f64_vec()?);
    let max_error = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
    let gflops = 2.0 * (n as f64).powi(3) / best / 1e9;
    println!(
        "[{n}, {n}] x [{n}, {n}]ᵀ in f32: {:.2} ms ({gflops:.1} GFLOP/s), max |error| vs f64 {max_error:.1e}",
        best * 1e3
    );
    assert!(max_error < 1e-3);

    // The same composites natively and through their default bodies (PrimitivesOnly forwards
    // only the primitives): a new backend inherits the defaults and gets these answers at once.
    let defaults_only: Arc<dyn Device> = Arc::new(PrimitivesOnly(device.clone()));
    let images = rng.normal([8, 3, 32, 32], 0.0, 1.0, DType::F32, &device)?;
    let logits = rng.normal([64, 1000], 0.0, 30.0, DType::F32, &device)?;
    let composites = |dev: &Arc<dyn Device>| -> tensor_core::Result<Vec<Vec<f32>>> {
        let (pooled, _) = images.try_to_device(dev)?.try_max_pool2d(&Window2d::new([3, 3]).stride([2, 2]))?;
        let probs = logits.try_to_device(dev)?.try_log_softmax(-1)?;
        Ok(vec![pooled.to_vec()?, probs.to_vec()?])
    };
    for (name, (native, default)) in
        ["max_pool2d", "log_softmax"].iter().zip(composites(&device)?.iter().zip(composites(&defaults_only)?))
    {
        let gap = native.iter().zip(&default).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        println!("{name}: native and default bodies differ by at most {gap:.1e} over {} values", native.len());
        assert!(gap < 1e-4);
    }
    println!("CPU overrides {} of {} composites natively", device.native_composites().len(), Composite::ALL.len());
    Ok(())
}
