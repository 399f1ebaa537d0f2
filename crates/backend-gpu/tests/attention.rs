//! Gradient parity for the fused kernels: one training step of a tiny causal self-attention
//! classifier (projections, heads split from `[B, T, H, d]` as strided views, causal attention,
//! a projection to class logits, the fused cross-entropy) gives the same loss and gradients on
//! the GPU as on the CPU. The sequence is longer than one 64-row block, so the kernels' block
//! and tile boundaries are crossed.

use std::sync::Arc;

use autograd::Var;
use backend_cpu::CpuDevice;
use backend_gpu::GpuDevice;
use tensor_core::{AttentionMask, Composite, DType, Device, Result, TensorError, TensorRng};

/// Largest allowed gap between a GPU gradient and the CPU's, relative to the largest magnitude
/// of that gradient: f32 sums run in other orders on the two devices.
const TOLERANCE: f64 = 1e-4;

const BATCH: usize = 2;
const STEPS: usize = 70;
const HEADS: usize = 2;
const WIDTH: usize = 8;
const CLASSES: usize = 5;

/// The loss and the gradients of the input and the four weights after one backward pass.
fn step(device: &Arc<dyn Device>, mask: &AttentionMask) -> Result<(f64, Vec<Vec<f32>>)> {
    let embed = HEADS * WIDTH;
    let mut rng = TensorRng::new(11);
    let x = Var::parameter(rng.normal([BATCH * STEPS, embed], 0.0, 1.0, DType::F32, device)?);
    let mut weight = |cols: usize| rng.normal([embed, cols], 0.0, 0.3, DType::F32, device).map(Var::parameter);
    let (wq, wk, wv, wo) = (weight(embed)?, weight(embed)?, weight(embed)?, weight(CLASSES)?);
    let labels = rng.integers([BATCH * STEPS], CLASSES as u64, device)?;
    // [B·T, E] -> [B, T, H, d] -> [B, H, T, d]: a strided view, read in place by the kernels.
    let heads = |w: &Var| x.matmul(w)?.reshape([BATCH, STEPS, HEADS, WIDTH])?.transpose(1, 2);
    let attended = Var::attention(&heads(&wq)?, &heads(&wk)?, &heads(&wv)?, mask, None)?;
    let merged = attended.transpose(1, 2)?.reshape([BATCH * STEPS, embed])?;
    let loss = merged.matmul(&wo)?.cross_entropy_with_labels(&labels)?.mean_all()?;
    loss.backward()?;
    let grads = [&x, &wq, &wk, &wv, &wo]
        .into_iter()
        .map(|p| p.grad().expect("every parameter gets a gradient").to_vec::<f32>())
        .collect::<Result<Vec<_>>>()?;
    Ok((loss.value().to_scalar()?, grads))
}

fn assert_same_step(mask: &AttentionMask) {
    let Some(gpu) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let native = gpu.native_composites();
    for op in [Composite::Attention, Composite::AttentionBackward, Composite::CrossEntropy] {
        assert!(native.contains(&op), "{op:?} runs natively on the GPU");
    }
    let (cpu_loss, cpu_grads) = step(&CpuDevice::shared(), mask).expect("the CPU step");
    let (gpu_loss, gpu_grads) = step(&gpu, mask).expect("the GPU step");
    let loss_gap = (cpu_loss - gpu_loss).abs() / cpu_loss.abs();
    assert!(loss_gap <= TOLERANCE, "loss: cpu {cpu_loss} vs gpu {gpu_loss}");
    for (name, (cpu, gpu)) in ["x", "wq", "wk", "wv", "wo"].into_iter().zip(cpu_grads.iter().zip(&gpu_grads)) {
        let scale = cpu.iter().fold(0.0f64, |m, &g| m.max(f64::from(g).abs()));
        let gap = cpu.iter().zip(gpu).fold(0.0f64, |m, (&c, &g)| m.max(f64::from(c - g).abs()));
        println!("{name}: largest |grad| {scale:.3e}, largest gap {gap:.3e} ({:.2e} relative)", gap / scale);
        assert!(scale > 0.0, "{name}: the gradient is not zero");
        assert!(gap <= TOLERANCE * scale, "{name}: the GPU gradient leaves the CPU's by {gap:.3e} (scale {scale:.3e})");
    }
}

#[test]
fn causal_attention_step_matches_the_cpu() {
    assert_same_step(&AttentionMask::causal());
}

#[test]
fn padded_causal_attention_step_matches_the_cpu() {
    // The second sequence has 23 real steps: its later queries see only those keys.
    assert_same_step(&AttentionMask::causal().with_key_lengths(vec![STEPS, 23]));
}

/// Attention forward and backward on `device` for random inputs of the given sizes: `out`,
/// `lse`, `dq`, `dk` and `dv`, read back.
fn attention_run(device: &Arc<dyn Device>, sizes: [usize; 6], mask: &AttentionMask) -> Result<Vec<Vec<f32>>> {
    let [b, h, tq, tk, d, dv] = sizes;
    let mut rng = TensorRng::new(5);
    let q = rng.normal([b, h, tq, d], 0.0, 1.0, DType::F32, device)?;
    let k = rng.normal([b, h, tk, d], 0.0, 1.0, DType::F32, device)?;
    let v = rng.normal([b, h, tk, dv], 0.0, 1.0, DType::F32, device)?;
    let grad = rng.normal([b, h, tq, dv], 0.0, 1.0, DType::F32, device)?;
    let scale = tensor_core::default_attention_scale(d);
    let forward = q.try_attention(&k, &v, mask, scale)?;
    let (dq, dk, dvs) = q.try_attention_backward(&k, &v, &forward, &grad, mask, scale)?;
    [&forward.out, &forward.lse, &dq, &dk, &dvs].into_iter().map(|t| t.to_vec::<f32>()).collect()
}

#[test]
fn wide_heads_match_the_cpu() {
    let Some(gpu) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let cases = [
        // Tiles shorter than a block (31 rows of 128 + 128 floats in 32 KiB), ragged at both ends.
        ([1, 2, 70, 75, 128, 128], AttentionMask::causal()),
        // The widest native head (27-row tiles), values narrower than keys, padding.
        ([2, 1, 20, 33, 256, 40], AttentionMask::causal().with_key_lengths(vec![33, 17])),
        // Past the widest native head: the default body.
        ([1, 1, 9, 9, 300, 8], AttentionMask::none()),
    ];
    for (sizes, mask) in cases {
        let cpu = attention_run(&CpuDevice::shared(), sizes, &mask).expect("cpu");
        let got = attention_run(&gpu, sizes, &mask).expect("gpu");
        for (name, (want, got)) in ["out", "lse", "dq", "dk", "dv"].into_iter().zip(cpu.iter().zip(&got)) {
            let scale = want.iter().filter(|v| v.is_finite()).fold(1e-3f32, |m, &v| m.max(v.abs()));
            for (i, (&w, &g)) in want.iter().zip(got).enumerate() {
                let close = if w.is_finite() { (w - g).abs() <= 1e-4 * scale } else { w == g };
                assert!(close, "{sizes:?} {name}[{i}]: gpu {g} vs cpu {w}");
            }
        }
    }
}

#[test]
fn fused_kernels_compile_once() {
    if GpuDevice::shared().is_err() {
        test_support::require("a GPU adapter", GpuDevice::shared());
        return;
    }
    // A device of its own: the shared one compiles pipelines for the tests running beside this.
    let gpu = Arc::new(GpuDevice::open().expect("opened above"));
    let device: Arc<dyn Device> = gpu.clone();
    let run = || {
        attention_run(&device, [1, 2, 9, 9, 8, 8], &AttentionMask::causal()).expect("attention");
        let logits = TensorRng::new(3).normal([4, 7], 0.0, 1.0, DType::F32, &device).unwrap();
        let labels = tensor_core::Tensor::from_vec(vec![0i64, 6, 3, 3], [4], &device).unwrap();
        let (_, lse) = logits.try_cross_entropy(&labels).unwrap();
        logits.try_cross_entropy_backward(&labels, &lse, &lse).unwrap().to_vec::<f32>().unwrap();
    };
    run();
    let compiled = gpu.pipelines_compiled();
    for _ in 0..5 {
        run();
    }
    assert_eq!(gpu.pipelines_compiled(), compiled, "the same ops compile no new pipelines");
}

#[test]
fn labels_made_on_the_device_are_range_checked() {
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let logits = TensorRng::new(3).normal([3, 4], 0.0, 1.0, DType::F32, &device).unwrap();
    let labels = tensor_core::Tensor::from_vec(vec![0i64, 3, 1], [3], &device).unwrap();
    // No range is known for labels computed on the device: a reduction checks them.
    let shifted = labels.try_add(&tensor_core::Tensor::scalar(1.0, DType::I64, &device).unwrap()).unwrap();
    let error = logits.try_cross_entropy(&shifted).unwrap_err();
    assert!(matches!(error, TensorError::IndexOutOfRange { index: 4, size: 4, .. }), "{error}");
    let (_, lse) = logits.try_cross_entropy(&labels).unwrap();
    let error = logits.try_cross_entropy_backward(&shifted, &lse, &lse).unwrap_err();
    assert!(matches!(error, TensorError::IndexOutOfRange { index: 4, .. }), "{error}");
}
