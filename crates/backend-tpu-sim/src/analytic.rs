//! The fast mode: the same counts as [`crate::stepped`] in closed form per fold, and the same
//! product in the same summation order, without stepping a PE. Proven cycle-identical to the stepped array by a property test
//! (`tests/fast_mode.rs`); large layers use it, the stepped array stays the ground truth.

use crate::mapping::{Fold, FoldPlan};
use crate::numeric::Accumulator;
use crate::{Counts, Dataflow};

/// The counts of `plan`: the sum of [`fold_counts`].
pub fn counts(plan: &FoldPlan) -> Counts {
    let mut total = Counts::default();
    for (_, c) in fold_counts(plan) {
        total += c;
    }
    total
}

/// Each fold of `plan` in order, with its counts.
pub fn fold_counts(plan: &FoldPlan) -> impl Iterator<Item = (Fold, Counts)> + '_ {
    let (rows, cols, temporal) = (plan.rows as u64, plan.cols as u64, plan.temporal as u64);
    plan.folds().map(move |fold| {
        let (ru, cu) = (fold.rows_used as u64, fold.cols_used as u64);
        let stream = temporal + rows + cols - 2;
        let mut c = Counts {
            folds: 1,
            mapped_pes: ru * cu,
            useful_macs: ru * cu * temporal,
            stream_cycles: stream,
            ..Counts::default()
        };
        match plan.dataflow {
            Dataflow::WeightStationary | Dataflow::InputStationary => {
                c.load_cycles = rows;
                let (held, streamed) = (ru * cu, temporal * ru);
                (c.filter_reads, c.ifmap_reads) =
                    if plan.dataflow == Dataflow::WeightStationary { (held, streamed) } else { (streamed, held) };
                c.ofmap_writes = temporal * cu;
            }
            Dataflow::OutputStationary => {
                c.ifmap_reads = ru * temporal;
                c.filter_reads = cu * temporal;
                c.ofmap_writes = ru * cu + rows + cols;
            }
        }
        c.cycles = c.load_cycles + c.stream_cycles;
        (fold, c)
    })
}

/// The product the array computes for `plan`, without stepping it: the same sums in the same
/// order, so the result is bit-identical to [`crate::stepped::run`]. Each output is a sequential
/// sum over `k` (from zero) within each row fold, and the folds' partial sums are added in fold
/// order; output-stationary PEs sum all of `k` in one pass.
pub fn product<A: Accumulator>(plan: &FoldPlan, lhs: &[f32], rhs: &[f32]) -> Vec<A> {
    let g = plan.gemm;
    assert_eq!(lhs.len(), g.m * g.k, "lhs is not [m, k]");
    assert_eq!(rhs.len(), g.k * g.n, "rhs is not [k, n]");
    let chunk = match plan.dataflow {
        Dataflow::OutputStationary => g.k.max(1),
        Dataflow::WeightStationary | Dataflow::InputStationary => plan.rows,
    };
    let mut out = vec![A::default(); g.m * g.n];
    let mut partial = vec![A::default(); g.n];
    for m in 0..g.m {
        let row = &mut out[m * g.n..(m + 1) * g.n];
        for k0 in (0..g.k).step_by(chunk) {
            partial.fill(A::default());
            for k in k0..(k0 + chunk).min(g.k) {
                let a = lhs[m * g.k + k];
                let weights = &rhs[k * g.n..(k + 1) * g.n];
                for (p, &w) in partial.iter_mut().zip(weights) {
                    *p = p.mac_if(a, w, true);
                }
            }
            for (o, &p) in row.iter_mut().zip(&partial) {
                *o = o.add(p);
            }
        }
    }
    out
}
