//! The fast mode is cycle-identical to the stepped array (every count) and computes the same
//! product bit for bit, over random shapes, arrays and dataflows.

use backend_tpu_sim::{Dataflow, FoldPlan, Gemm, analytic, stepped};
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
