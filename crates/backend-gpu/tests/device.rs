//! The GPU device itself: buffers are released, f64 is refused with a typed error, pipelines are
//! compiled once, and data stays on the device until it is read.

use backend_gpu::GpuDevice;
use tensor_core::{DType, Tensor, TensorError};

/// Resident memory of this process in MiB (lavapipe keeps "device" memory in it).
fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

#[test]
fn ten_thousand_dropped_tensors_do_not_grow_memory() {
    let Some(device) = GpuDevice::shared_or_skip("memory") else { return };
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
    let before = resident_mib();
    one_round(10_000);
    let after = resident_mib();
    println!("resident memory {before:.0} MiB before, {after:.0} MiB after 10,000 tensors");
    if before > 0.0 {
        assert!(after - before < 64.0, "memory grew from {before:.0} to {after:.0} MiB");
    }
}

#[test]
fn f64_is_refused_with_a_typed_error() {
    let Some(device) = GpuDevice::shared_or_skip("f64") else { return };
    assert!(!device.supports(DType::F64));
    let err = Tensor::from_vec(vec![1.0f64, 2.0], [2], &device).unwrap_err();
    assert!(matches!(err, TensorError::UnsupportedDType { dtype: DType::F64, .. }), "{err}");
    let t = Tensor::from_vec(vec![1.0f32, 2.0], [2], &device).unwrap();
    assert!(t.try_cast(DType::F64).is_err());
}

#[test]
fn pipelines_compile_once_and_results_stay_on_the_device() {
    if GpuDevice::shared_or_skip("pipelines").is_none() {
        return;
    }
    // A device of its own: the shared one compiles pipelines for the tests running beside this.
    let gpu = std::sync::Arc::new(GpuDevice::open().unwrap());
    let device: std::sync::Arc<dyn tensor_core::Device> = gpu.clone();
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
    let Some(device) = GpuDevice::shared_or_skip("empty") else { return };
    let empty = Tensor::from_vec(Vec::<f32>::new(), [0, 3], &device).unwrap();
    assert_eq!(empty.try_exp().unwrap().to_vec::<f32>().unwrap(), Vec::<f32>::new());
    assert_eq!(empty.sum(&[0], false).to_vec::<f32>().unwrap(), vec![0.0; 3]);
    let ids = Tensor::from_vec(vec![-3i64, 1 << 40], [2], &device).unwrap();
    assert_eq!(ids.try_neg().unwrap().to_vec::<i64>().unwrap(), vec![3, -(1 << 40)]);
}

#[test]
fn indices_written_in_place_are_range_checked_again() {
    let Some(device) = GpuDevice::shared_or_skip("index range") else { return };
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
