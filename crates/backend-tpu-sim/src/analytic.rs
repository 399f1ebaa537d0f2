//! The fast mode: the same counts as [`crate::stepped`] in closed form per fold, without
//! stepping a PE. Proven cycle-identical to the stepped array by a property test
//! (`tests/fast_mode.rs`); large layers use it, the stepped array stays the ground truth.

use crate::mapping::{Fold, FoldPlan};
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
