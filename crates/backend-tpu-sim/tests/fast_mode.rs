//! The fast mode is cycle-identical to the stepped array: every count, over random shapes,
//! arrays and dataflows.

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
        let lhs = vec![1.0f32; m * k];
        let rhs = vec![1.0f32; k * n];
        let (out, stepped) = stepped::run::<f32>(&plan, &lhs, &rhs);
        prop_assert_eq!(analytic::counts(&plan), stepped);
        prop_assert!(out.iter().all(|&v| v == k as f32));
    }
}
