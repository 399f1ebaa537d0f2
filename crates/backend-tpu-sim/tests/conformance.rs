//! The shared conformance suite on the simulated TPU in its f32-exact mode: matrix products on
//! the systolic array, everything else on the vector unit, composites from the defaults.

use std::sync::Arc;

use backend_tpu_sim::TpuDevice;
use tensor_core::{DType, Device, conformance};

#[test]
fn tpu_sim_f32_exact() {
    let device = TpuDevice::exact();
    let dyn_device: Arc<dyn Device> = device.clone();
    let report = conformance::run(&dyn_device, DType::F32);
    println!("{report}");
    report.assert_passed();
    let ledger = device.ledger();
    println!("{ledger}");
    assert!(ledger.array.useful_macs > 0 && ledger.ops.contains_key("matmul"), "products ran on the array");
}
