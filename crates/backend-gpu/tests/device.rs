//! The GPU device itself: buffers are released, f64 is refused with a typed error, pipelines are
//! compiled once, and data stays on the device until it is read.

use std::sync::Arc;

use backend_gpu::GpuDevice;
use tensor_core::{DType, Device, Tensor, TensorError};

/// The shared GPU device, through the skip policy.
fn gpu() -> Option<Arc<dyn Device>> {
    test_support::require("a GPU adapter", GpuDevice::shared())
}

/// Resident memory of this process in MiB (lavapipe keeps "device" memory in it), or why it
/// cannot be read.
fn resident_mib() -> Result<f64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("/proc/self/status has no VmRSS line")?;
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("unreadable VmRSS line: {line:?}"))?;
    if kib <= 0.0 {
        return Err(format!("VmRSS reads {kib} kB"));
    }
    Ok(kib / 1024.0)
}

#[test]
fn ten_thousand_dropped_tensors_do_not_grow_memory() {
    let Some(device) = gpu() else { return };
    let rss = "this process's resident memory (VmRSS)";
    let Some(_) = test_support::require(rss, resident_mib()) else { return };
    let one_round = |count: usize| {
        for i in 0..count {
            // 16 KiB each, two per round: leaking them would take 320 MiB.
            let t = Tensor::full(i as f64, [64, 64], DType::F32, &device).unwrap();
            let u = t.try_add(&t).unwrap();
            drop((t, u));
        }
        device.sync().unwrap();
    };
    one_round(1_000);
    let before = resident_mib().expect("VmRSS was readable a moment ago");
    one_round(10_000);
    let after = resident_mib().expect("VmRSS was readable a moment ago");
    println!("resident memory {before:.0} MiB before, {after:.0} MiB after 10,000 tensors");
    assert!(after - before < 64.0, "memory grew from {before:.0} to {after:.0} MiB");
}

#[test]
fn f64_is_refused_with_a_typed_error() {
    let Some(device) = gpu() else { return };
    assert!(!device.supports(DType::F64));
    let err = Tensor::from_vec(vec![1.0f64, 2.0], [2], &device).unwrap_err();
    assert!(matches!(err, TensorError::UnsupportedDType { dtype: DType::F64, .. }), "{err}");
    let t = Tensor::from_vec(vec![1.0f32, 2.0], [2], &device).unwrap();
    assert!(t.try_cast(DType::F64).is_err());
}

#[test]
fn pipelines_compile_once_and_results_stay_on_the_device() {
    if gpu().is_none() {
        return;
    }
    // A device of its own: the shared one compiles pipelines for the tests running beside this.
    let gpu = Arc::new(GpuDevice::open().unwrap());
    let device: Arc<dyn Device> = gpu.clone();
    let x = Tensor::from_vec((0..1000).map(|i| i as f32 / 100.0).collect::<Vec<_>>(), [10, 100], &device).unwrap();
    let chain = |x: &Tensor| x.try_exp().unwrap().try_mul(x).unwrap().sum(&[1], false);
    let first = chain(&x);
    let compiled = gpu.pipelines_compiled();
    for _ in 0..20 {
        chain(&x);
    }
    assert_eq!(gpu.pipelines_compiled(), compiled, "the same ops compile no new pipelines");
    let got = first.to_vec::<f32>().unwrap();
    let want: f32 = (0..100).map(|i| (i as f32 / 100.0).exp() * (i as f32 / 100.0)).sum();
    assert!((got[0] - want).abs() <= 1e-4 * want, "{} vs {want}", got[0]);
}

#[test]
fn empty_and_scalar_tensors_round_trip() {
    let Some(device) = gpu() else { return };
    let empty = Tensor::from_vec(Vec::<f32>::new(), [0, 3], &device).unwrap();
    assert_eq!(empty.try_exp().unwrap().to_vec::<f32>().unwrap(), Vec::<f32>::new());
    assert_eq!(empty.sum(&[0], false).to_vec::<f32>().unwrap(), vec![0.0; 3]);
    let ids = Tensor::from_vec(vec![-3i64, 1 << 40], [2], &device).unwrap();
    assert_eq!(ids.try_neg().unwrap().to_vec::<i64>().unwrap(), vec![3, -(1 << 40)]);
}

#[test]
fn indices_written_in_place_are_range_checked_again() {
    let Some(device) = gpu() else { return };
    let table = Tensor::from_vec((0..12).map(|v| v as f32).collect::<Vec<_>>(), [4, 3], &device).unwrap();
    let ids = Tensor::from_vec(vec![0i64, 3], [2], &device).unwrap();
    assert_eq!(table.try_index_select(0, &ids).unwrap().to_vec::<f32>().unwrap(), vec![0., 1., 2., 9., 10., 11.]);
    // Made on the device: no range known from an upload, checked by a reduction.
    let made = ids.try_add(&Tensor::scalar(1.0, DType::I64, &device).unwrap()).unwrap();
    assert!(matches!(table.try_index_select(0, &made), Err(TensorError::IndexOutOfRange { index: 4, .. })));
    // Overwritten in place: the range known from the upload no longer holds.
    ids.try_assign(&Tensor::from_vec(vec![7i64, 1], [2], &device).unwrap()).unwrap();
    assert!(matches!(table.try_index_select(0, &ids), Err(TensorError::IndexOutOfRange { index: 7, .. })));
}
