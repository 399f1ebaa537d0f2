//! The shared conformance suite on backend-gpu (lavapipe in CI), with every composite native.

use backend_gpu::GpuDevice;
use tensor_core::conformance::{self, Implementation};
use tensor_core::{Composite, DType};

#[test]
fn gpu_f32() {
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    assert_eq!(device.native_composites(), Composite::ALL, "backend-gpu overrides every composite");
    let report = conformance::run(&device, DType::F32);
    println!("{report}");
    report.assert_passed();
    let defaults: Vec<&str> =
        report.ops.iter().filter(|o| o.implementation == Implementation::Default).map(|o| o.op.as_str()).collect();
    assert!(defaults.is_empty(), "backend-gpu runs every composite natively, not {defaults:?}");
}
