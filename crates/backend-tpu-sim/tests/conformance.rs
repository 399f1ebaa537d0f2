//! The shared conformance suite on the simulated TPU: in the f32-exact mode every op meets the
//! f32 tolerance; with bf16 or int8 operands the products (matmul, convolutions) meet a stated
//! tolerance relative to the sum of their absolute terms, and every other op (the vector unit,
//! f32) still meets the f32 one.

use std::sync::Arc;

use backend_tpu_sim::{InputType, TpuConfig, TpuDevice};
use tensor_core::conformance::{self, Options};
use tensor_core::{DType, Device};

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

/// bf16 keeps 8 significant bits: each operand is off by at most 2^-9 relative, each product
/// term by about 2^-8, so 1e-2 of the terms' magnitude bounds a product with room for f32 sums.
/// int8 with one scale per matrix: an operand is off by up to half a step, max|x| / 254, which
/// for the suite's inputs (|x| in [0.25, 2]) is up to 3% of a term's operand; 8e-2 bounds it.
#[test]
fn tpu_sim_bf16_and_int8_products_within_stated_tolerances() {
    for (input, rtol) in [(InputType::Bf16, 1e-2), (InputType::Int8, 8e-2)] {
        let mut config = TpuConfig::preset("tpu-v1").unwrap();
        config.input = input;
        config.name = format!("tpu-v1 ({input:?} operands)");
        let device: Arc<dyn Device> = Arc::new(TpuDevice::new(config));
        let report = conformance::run_with(&device, DType::F32, Options { product_rtol: Some(rtol) });
        println!("{}", report.to_string().lines().next().unwrap_or_default());
        report.assert_passed();
    }
}
