//! The array stepped cycle by cycle: every PE's registers are updated from its neighbours each
//! cycle, operands enter skewed at the edges, and results leave where the dataflow says. The
//! numbers are real, so the product can be checked against the CPU; the counts are the ground
//! truth that [`crate::analytic`] must reproduce.
//!
//! Accounting follows SCALE-Sim: folds run back to back; a fold of the stationary dataflows
//! (WS, IS) first shifts its tile down the full array (`rows` cycles), then streams its
//! `temporal` vectors until the last one has left the last column (`temporal + rows + cols - 2`
//! cycles, padding included); an OS fold ends with its last MAC.

use crate::mapping::{Fold, FoldPlan};
use crate::numeric::Accumulator;
use crate::{Counts, Dataflow};

/// The product `lhs [m, k] x rhs [k, n]` (row-major, operands already in the array's input
/// type) on the array, and what it cost. Partial sums of the row folds meet in the output (the
/// accumulator memory).
pub fn run<A: Accumulator>(plan: &FoldPlan, lhs: &[f32], rhs: &[f32]) -> (Vec<A>, Counts) {
    let g = plan.gemm;
    assert_eq!(lhs.len(), g.m * g.k, "lhs is not [m, k]");
    assert_eq!(rhs.len(), g.k * g.n, "rhs is not [k, n]");
    let mut out = vec![A::default(); g.m * g.n];
    let mut counts = Counts::default();
    let mut array = Array::<A>::new(plan.rows, plan.cols);
    for fold in plan.folds() {
        counts.folds += 1;
        counts.mapped_pes += (fold.rows_used * fold.cols_used) as u64;
        counts.useful_macs += (fold.rows_used * fold.cols_used * plan.temporal) as u64;
        let fold_counts = match plan.dataflow {
            Dataflow::WeightStationary => array.stationary_fold(
                &fold,
                plan.temporal,
                |r, c| rhs[r * g.n + c],
                |t, r| lhs[t * g.k + r],
                |t, c, v| out[t * g.n + c] = out[t * g.n + c].add(v),
            ),
            Dataflow::InputStationary => {
                let mut c = array.stationary_fold(
                    &fold,
                    plan.temporal,
                    |r, c| lhs[c * g.k + r],
                    |t, r| rhs[r * g.n + t],
                    |t, c, v| out[c * g.n + t] = out[c * g.n + t].add(v),
                );
                // The held tile is the input here and the streamed vectors the weights.
                std::mem::swap(&mut c.ifmap_reads, &mut c.filter_reads);
                c
            }
            Dataflow::OutputStationary => array.output_fold(
                &fold,
                plan.temporal,
                |m, k| lhs[m * g.k + k],
                |k, n| rhs[k * g.n + n],
                |m, n, v| out[m * g.n + n] = out[m * g.n + n].add(v),
            ),
        };
        counts += fold_counts;
    }
    (out, counts)
}

/// The PE grid: per PE the operand moving right, the one moving down (or the partial sum), the
/// stationary value, and whether each register holds real data.
struct Array<A> {
    rows: usize,
    cols: usize,
    right: Vec<f32>,
    right_valid: Vec<bool>,
    down: Vec<f32>,
    down_valid: Vec<bool>,
    held: Vec<f32>,
    held_valid: Vec<bool>,
    acc: Vec<A>,
}

impl<A: Accumulator> Array<A> {
    fn new(rows: usize, cols: usize) -> Self {
        let pes = rows * cols;
        Array {
            rows,
            cols,
            right: vec![0.0; pes],
            right_valid: vec![false; pes],
            down: vec![0.0; pes],
            down_valid: vec![false; pes],
            held: vec![0.0; pes],
            held_valid: vec![false; pes],
            acc: vec![A::default(); pes],
        }
    }

    /// Moves row `r`'s right-moving operands one PE right; the one entering its first PE is
    /// `value(cycle - r)` when that is one of the fold's `temporal` steps and the row is in the
    /// tile, else padding. Returns whether a real operand entered (an SRAM read).
    fn shift_right(
        &mut self,
        r: usize,
        fold: &Fold,
        cycle: usize,
        temporal: usize,
        value: impl Fn(usize) -> f32,
    ) -> bool {
        let start = r * self.cols;
        self.right.copy_within(start..start + self.cols - 1, start + 1);
        self.right_valid.copy_within(start..start + self.cols - 1, start + 1);
        let step = cycle as isize - r as isize;
        let real = r < fold.rows_used && step >= 0 && (step as usize) < temporal;
        self.right[start] = if real { value(step as usize) } else { 0.0 };
        self.right_valid[start] = real;
        real
    }

    /// WS and IS: shift the tile `held(r, c)` down into the array, then stream vector `t`
    /// (`stream(t, r)` enters row `r` at cycle `t + r`) to the right while partial sums flow
    /// down; output `(t, c)` leaves the bottom of column `c` at cycle `t + rows - 1 + c`.
    fn stationary_fold(
        &mut self,
        fold: &Fold,
        temporal: usize,
        held: impl Fn(usize, usize) -> f32,
        stream: impl Fn(usize, usize) -> f32,
        mut emit: impl FnMut(usize, usize, A),
    ) -> Counts {
        let (rows, cols) = (self.rows, self.cols);
        let mut counts = Counts::default();
        // Load: one tile row enters the top each cycle and everything moves down a row.
        for cycle in 0..rows {
            for r in (1..rows).rev() {
                let (above, here) = self.held.split_at_mut(r * cols);
                here[..cols].copy_from_slice(&above[(r - 1) * cols..]);
                let (above, here) = self.held_valid.split_at_mut(r * cols);
                here[..cols].copy_from_slice(&above[(r - 1) * cols..]);
            }
            let tile_row = rows - 1 - cycle;
            for c in 0..cols {
                let real = tile_row < fold.rows_used && c < fold.cols_used;
                self.held[c] = if real { held(fold.row_start + tile_row, fold.col_start + c) } else { 0.0 };
                self.held_valid[c] = real;
                counts.filter_reads += real as u64;
            }
        }
        counts.load_cycles = rows as u64;
        // Stream: each cycle, every row's operands move one PE right and every partial sum one PE
        // down (rows are visited bottom-up, so a row still sees the row above as it was).
        self.right_valid.fill(false);
        let stream_cycles = temporal + rows + cols - 2;
        for cycle in 0..stream_cycles {
            for r in (0..rows).rev() {
                let row = r * cols..(r + 1) * cols;
                counts.ifmap_reads +=
                    self.shift_right(r, fold, cycle, temporal, |t| stream(t, fold.row_start + r)) as u64;
                let (upper, lower) = self.acc.split_at_mut(row.start);
                let here = &mut lower[..cols];
                let (x, x_valid) = (&self.right[row.clone()], &self.right_valid[row.clone()]);
                let (w, w_valid) = (&self.held[row.clone()], &self.held_valid[row]);
                if r == 0 {
                    for c in 0..cols {
                        here[c] = A::default().mac_if(x[c], w[c], x_valid[c] & w_valid[c]);
                    }
                } else {
                    let above = &upper[(r - 1) * cols..(r - 1) * cols + cols];
                    for c in 0..cols {
                        here[c] = above[c].mac_if(x[c], w[c], x_valid[c] & w_valid[c]);
                    }
                }
            }
            for c in 0..fold.cols_used {
                let t = cycle as isize - (rows - 1 + c) as isize;
                if t >= 0 && (t as usize) < temporal {
                    emit(t as usize, fold.col_start + c, self.acc[(rows - 1) * cols + c]);
                    counts.ofmap_writes += 1;
                }
            }
        }
        counts.stream_cycles = stream_cycles as u64;
        counts.cycles = counts.load_cycles + counts.stream_cycles;
        // Counted as WS sees it: the held tile from the filter side, the stream from the ifmap.
        counts
    }

    /// OS: `a(m, k)` enters row `m - row_start` at cycle `k + r` and moves right, `b(k, n)`
    /// enters column `n - col_start` at cycle `k + c` and moves down; PE `(r, c)` accumulates
    /// output `(row_start + r, col_start + c)` and hands it out after the last MAC.
    fn output_fold(
        &mut self,
        fold: &Fold,
        temporal: usize,
        a: impl Fn(usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
        mut emit: impl FnMut(usize, usize, A),
    ) -> Counts {
        let (rows, cols) = (self.rows, self.cols);
        let mut counts = Counts::default();
        self.acc.fill(A::default());
        let stream_cycles = temporal + rows + cols - 2;
        for cycle in 0..stream_cycles {
            // Bottom-up, so each row still sees the row above as it was this cycle.
            for r in (0..rows).rev() {
                let row = r * cols..(r + 1) * cols;
                counts.ifmap_reads += self.shift_right(r, fold, cycle, temporal, |k| a(fold.row_start + r, k)) as u64;
                if r == 0 {
                    for c in 0..cols {
                        let k = cycle as isize - c as isize;
                        let real = c < fold.cols_used && k >= 0 && (k as usize) < temporal;
                        self.down[c] = if real { b(k as usize, fold.col_start + c) } else { 0.0 };
                        self.down_valid[c] = real;
                        counts.filter_reads += real as u64;
                    }
                } else {
                    self.down.copy_within(row.start - cols..row.start, row.start);
                    self.down_valid.copy_within(row.start - cols..row.start, row.start);
                }
                let (x, x_valid) = (&self.right[row.clone()], &self.right_valid[row.clone()]);
                let (y, y_valid) = (&self.down[row.clone()], &self.down_valid[row.clone()]);
                let here = &mut self.acc[row];
                for c in 0..cols {
                    here[c] = here[c].mac_if(x[c], y[c], x_valid[c] & y_valid[c]);
                }
            }
        }
        for r in 0..fold.rows_used {
            for c in 0..fold.cols_used {
                emit(fold.row_start + r, fold.col_start + c, self.acc[r * cols + c]);
            }
        }
        // SCALE-Sim also counts `rows + cols` writes per OS fold beyond the outputs.
        counts.ofmap_writes = (fold.rows_used * fold.cols_used + rows + cols) as u64;
        counts.stream_cycles = stream_cycles as u64;
        counts.cycles = counts.stream_cycles;
        counts
    }
}
