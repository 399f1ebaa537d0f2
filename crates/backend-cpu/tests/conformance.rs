//! The shared conformance suite on backend-cpu: natively, and with every composite running its
//! default body (which proves the defaults a new backend inherits).

use std::sync::Arc;

use backend_cpu::CpuDevice;
use tensor_core::conformance::{self, Implementation};
use tensor_core::{DType, Device, PrimitivesOnly};

fn check(device: Arc<dyn Device>, dtype: DType) -> conformance::Report {
    let report = conformance::run(&device, dtype);
    println!("{report}");
    report.assert_passed();
    report
}

#[test]
fn cpu_f32() {
    let report = check(CpuDevice::shared(), DType::F32);
    let (native, total) = report.native_composites();
    assert_eq!(native, total, "backend-cpu runs every composite natively");
}

#[test]
fn cpu_f64() {
    check(CpuDevice::shared(), DType::F64);
}

#[test]
fn defaults_f32() {
    let report = check(Arc::new(PrimitivesOnly(CpuDevice::shared())), DType::F32);
    assert!(report.ops.iter().all(|o| o.implementation != Implementation::Native));
}

#[test]
fn defaults_f64() {
    check(Arc::new(PrimitivesOnly(CpuDevice::shared())), DType::F64);
}
