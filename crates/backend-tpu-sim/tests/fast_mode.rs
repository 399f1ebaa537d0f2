//! The fast mode is cycle-identical to the stepped array (every count) and computes the same
//! product bit for bit, over random shapes, arrays and dataflows; with the faithful timing also
//! over random memories (bandwidths, FIFO depths, buffer and accumulator sizes), where the
//! whole timeline must agree.

use backend_tpu_sim::{Dataflow, FoldPlan, Gemm, InputType, TpuConfig, analytic, simulate, stepped};
use proptest::prelude::*;

fn dataflow() -> impl Strategy<Value = Dataflow> {
    prop_oneof![Just(Dataflow::WeightStationary), Just(Dataflow::OutputStationary), Just(Dataflow::InputStationary)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn fast_counts_equal_stepped_counts(
        m in 1usize..40, n in 1usize..40, k in 1usize..40,
        rows in 1usize..12, cols in 1usize..12, dataflow in dataflow(),
    ) {
        let plan = FoldPlan::new(Gemm { m, n, k }, dataflow, rows, cols);
        // Values whose sums round, so a different summation order would show.
        let lhs: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013).collect();
        let rhs: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.29).collect();
        let (out, stepped) = stepped::run::<f32>(&plan, &lhs, &rhs);
        prop_assert_eq!(analytic::counts(&plan), stepped);
        let fast = analytic::product::<f32>(&plan, &lhs, &rhs);
        prop_assert!(out.iter().zip(&fast).all(|(a, b)| a.to_bits() == b.to_bits()), "products differ bitwise");
    }
}

/// A chip with random memories: bandwidths from a fraction of a byte to many bytes a cycle,
/// FIFOs of 1 to 4 tiles, unified buffers small enough to spill and accumulators small enough
/// to split the layer into passes.
fn chip(
    (rows, cols, dataflow): (usize, usize, Dataflow),
    (weight_bw, host_bw): (f64, f64),
    fifo: usize,
    (buffer, accumulators): (u64, u64),
    input: InputType,
) -> TpuConfig {
    let mut c = TpuConfig::preset("tpu-v1").unwrap();
    (c.rows, c.cols, c.dataflow, c.input) = (rows, cols, dataflow, input);
    (c.dram_bytes_per_cycle, c.host_bytes_per_cycle, c.weight_fifo_tiles) = (weight_bw, host_bw, fifo);
    (c.unified_buffer_bytes, c.accumulator_bytes) = (buffer, accumulators);
    c
}

fn input_type() -> impl Strategy<Value = InputType> {
    prop_oneof![Just(InputType::F32), Just(InputType::Bf16), Just(InputType::Int8)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn faithful_fast_mode_equals_the_stepped_array_and_memory(
        m in 1usize..40, n in 1usize..40, k in 1usize..40,
        rows in 1usize..10, cols in 1usize..10, dataflow in dataflow(),
        weight_bw in 0.05f64..64.0, host_bw in 0.05f64..64.0, fifo in 1usize..5,
        buffer in 0u64..4096, accumulators in 0u64..2048, input in input_type(),
    ) {
        let config = chip((rows, cols, dataflow), (weight_bw, host_bw), fifo, (buffer, accumulators), input);
        let gemm = Gemm { m, n, k };
        let lhs: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013).collect();
        let rhs: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.29).collect();
        let (out, stepped) = simulate::stepped::<f32>(&config, gemm, &lhs, &rhs);
        let fast = simulate::fast(&config, gemm);
        prop_assert_eq!(&fast, &stepped);
        let c = fast.counts;
        prop_assert_eq!(c.cycles, c.stream_cycles + c.stall_cycles(), "every cycle streams or stalls");
        prop_assert_eq!(c.useful_macs, gemm.macs());
        // Splitting the layer into passes changes no sum: the product is the whole plan's.
        let whole = analytic::product::<f32>(&fast.plan, &lhs, &rhs);
        prop_assert!(out.iter().zip(&whole).all(|(a, b)| a.to_bits() == b.to_bits()), "products differ bitwise");
    }
}
