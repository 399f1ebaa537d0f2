//! The shared conformance suite on backend-gpu (lavapipe in CI), with every composite native
//! except attention, which runs its default body until its fused kernel lands.

use backend_gpu::GpuDevice;
use tensor_core::DType;
use tensor_core::conformance::{self, Implementation};

#[test]
fn gpu_f32() {
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let report = conformance::run(&device, DType::F32);
    println!("{report}");
    report.assert_passed();
    let defaults: Vec<&str> =
        report.ops.iter().filter(|o| o.implementation == Implementation::Default).map(|o| o.op.as_str()).collect();
    assert_eq!(defaults, ["attention", "attention_backward"], "backend-gpu runs every other composite natively");
}
