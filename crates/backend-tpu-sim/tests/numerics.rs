//! The stepped array computes real products: f32 operands match an f64 reference to f32
//! rounding, bf16 operands match the reference of the rounded operands, and int8 codes sum
//! exactly in i32 — for every dataflow, odd shapes, and arrays smaller and larger than the
//! operands.

use backend_tpu_sim::numeric::{quantize_int8, round_bf16};
use backend_tpu_sim::{Dataflow, FoldPlan, Gemm, stepped};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DATAFLOWS: [Dataflow; 3] = [Dataflow::WeightStationary, Dataflow::OutputStationary, Dataflow::InputStationary];
const SHAPES: [(usize, usize, usize); 4] = [(1, 1, 1), (7, 5, 3), (13, 17, 19), (33, 4, 40)];
const ARRAYS: [(usize, usize); 3] = [(4, 4), (8, 3), (16, 16)];

fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-2.0f32..2.0)).collect()
}

/// The f64 product of the operands, and the sum of absolute terms behind each output.
fn reference(g: Gemm, lhs: &[f32], rhs: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let mut out = vec![0.0; g.m * g.n];
    let mut magnitude = vec![0.0; g.m * g.n];
    for m in 0..g.m {
        for n in 0..g.n {
            for k in 0..g.k {
                let p = lhs[m * g.k + k] as f64 * rhs[k * g.n + n] as f64;
                out[m * g.n + n] += p;
                magnitude[m * g.n + n] += p.abs();
            }
        }
    }
    (out, magnitude)
}

fn each_case(mut check: impl FnMut(FoldPlan, &mut ChaCha8Rng)) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (m, n, k) in SHAPES {
        for (rows, cols) in ARRAYS {
            for dataflow in DATAFLOWS {
                check(FoldPlan::new(Gemm { m, n, k }, dataflow, rows, cols), &mut rng);
            }
        }
    }
}

#[test]
fn f32_and_bf16_products_match_the_reference() {
    each_case(|plan, rng| {
        let g = plan.gemm;
        for bf16 in [false, true] {
            let round = |v: Vec<f32>| if bf16 { v.into_iter().map(round_bf16).collect() } else { v };
            let (lhs, rhs) = (round(random(g.m * g.k, rng)), round(random(g.k * g.n, rng)));
            let (got, _) = stepped::run::<f32>(&plan, &lhs, &rhs);
            let (want, magnitude) = reference(g, &lhs, &rhs);
            for i in 0..want.len() {
                let error = (got[i] as f64 - want[i]).abs();
                assert!(
                    error <= 1e-6 * magnitude[i] + 1e-7,
                    "{plan:?} bf16={bf16} output {i}: {} vs {}",
                    got[i],
                    want[i]
                );
            }
        }
    });
}

#[test]
fn int8_codes_accumulate_exactly_in_i32() {
    each_case(|plan, rng| {
        let g = plan.gemm;
        let (lhs, rhs) = (quantize_int8(&random(g.m * g.k, rng)), quantize_int8(&random(g.k * g.n, rng)));
        let (got, _) = stepped::run::<i32>(&plan, &lhs.codes, &rhs.codes);
        let (want, _) = reference(g, &lhs.codes, &rhs.codes);
        assert_eq!(got.iter().map(|&v| v as f64).collect::<Vec<_>>(), want, "{plan:?}");
    });
}
