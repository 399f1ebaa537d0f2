//! The shared conformance suite on backend-gpu (lavapipe in CI), with every composite native
//! except attention and the fused cross-entropy, which run their default bodies until their
//! kernels land.

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
    assert_eq!(
        defaults,
        ["attention", "attention_backward", "cross_entropy", "cross_entropy_backward"],
        "backend-gpu runs every other composite natively"
    );
}
