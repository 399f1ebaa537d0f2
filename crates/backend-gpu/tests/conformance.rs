//! The shared conformance suite on backend-gpu (lavapipe in CI), with every composite native.

use backend_gpu::GpuDevice;
use tensor_core::DType;
use tensor_core::conformance;

#[test]
fn gpu_f32() {
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let report = conformance::run(&device, DType::F32);
    println!("{report}");
    report.assert_passed();
    let (native, total) = report.native_composites();
    assert_eq!(native, total, "backend-gpu runs every composite natively");
}
