//! The two tile loops, for one (batch, head) at a time.
//!
//! Forward, for a block of query rows: walk the key tiles the block can see, score a tile with
//! one product, fold it into each row's running maximum and sum (rescaling what the row has
//! accumulated when its maximum grows: the online softmax), and accumulate the tile's
//! weights times its values with a second product. Only a `rows x KEY_TILE` score tile exists
//! at a time.
//!
//! Backward, for a range of keys: for each key tile and each block of query rows that sees
//! it, recompute the probabilities from the saved log-sum-exp, and accumulate `dV`, `dK` (the
//! range's own rows) and `dQ` (the caller sums the ranges' `dQ`s).
//!
//! Every row sees a prefix `0..ends[i]` of the keys, and `ends` never decreases down a head's
//! rows, so the tiles past a block's last row's end, and the query rows before the first one
//! that sees a key tile, are skipped without being computed.

use std::ops::Range;

use super::tile::{AttnFloat, KEY_TILE, QUERY_BLOCK, exp_row, row_max};
use crate::simd::has_avx512;

/// One (batch, head)'s operands, each contiguous.
pub(super) struct Head<'a, F> {
    /// `[Tq, Tk, d, dv]`.
    pub sizes: [usize; 4],
    /// Queries `[Tq, d]`.
    pub q: &'a [F],
    /// Keys transposed, `[d, Tk]`.
    pub kt: &'a [F],
    /// Values `[Tk, dv]`.
    pub v: &'a [F],
    /// How many leading keys each query row sees (`[Tq]`, non-decreasing).
    pub ends: &'a [usize],
    pub scale: F,
}

/// What the backward reads besides the [`Head`].
pub(super) struct HeadGrads<'a, F> {
    /// Keys `[Tk, d]`.
    pub k: &'a [F],
    /// Values transposed, `[dv, Tk]`.
    pub vt: &'a [F],
    /// The output gradient `[Tq, dv]`.
    pub grad: &'a [F],
    /// The forward's log-sum-exp `[Tq]`.
    pub lse: &'a [F],
    /// `rowsum(dO ⊙ O)`, `[Tq]`.
    pub delta: &'a [F],
}

/// Output rows `[rows, dv]` and their log-sum-exps.
pub(super) type ForwardBlock<F> = (Vec<F>, Vec<F>);

/// `dQ` `[Tq, d]` (a partial sum over this range of keys), then `dK` `[keys, d]` and `dV`
/// `[keys, dv]` of the range.
pub(super) type BackwardRange<F> = (Vec<F>, Vec<F>, Vec<F>);

#[inline(always)]
fn forward_body<F: AttnFloat>(head: &Head<'_, F>, rows: Range<usize>) -> ForwardBlock<F> {
    let [_, tk, d, dv] = head.sizes;
    let (i0, n) = (rows.start, rows.len());
    let ends = &head.ends[rows];
    let q = &head.q[i0 * d..][..n * d];
    let mut scores = vec![F::ZERO; n * KEY_TILE];
    let mut acc = vec![F::ZERO; n * dv];
    let mut max = vec![F::NEG_INFINITY; n];
    let mut sum = vec![F::ZERO; n];
    let last = ends.last().copied().unwrap_or(0);
    for j0 in (0..last).step_by(KEY_TILE) {
        let width = KEY_TILE.min(last - j0);
        F::product([n, width, d], (q, d, 1), (&head.kt[j0..], tk), (&mut scores, KEY_TILE), false);
        for (r, row) in scores.chunks_mut(KEY_TILE).enumerate() {
            let row = &mut row[..width];
            let valid = ends[r].saturating_sub(j0).min(width);
            if valid == 0 {
                row.fill(F::ZERO);
                continue;
            }
            let tile_max = row_max(&row[..valid], head.scale);
            if tile_max > max[r] {
                // The row's earlier terms were scaled by e^-max: rescale them to the new one.
                let rescale = (max[r] - tile_max).fast_exp();
                sum[r] *= rescale;
                acc[r * dv..][..dv].iter_mut().for_each(|a| *a *= rescale);
                max[r] = tile_max;
            }
            sum[r] += exp_row(row, valid, head.scale, max[r]);
        }
        F::product([n, dv, width], (&scores, KEY_TILE, 1), (&head.v[j0 * dv..], dv), (&mut acc, dv), true);
    }
    let mut lse = vec![F::NEG_INFINITY; n];
    for r in 0..n {
        let out = &mut acc[r * dv..][..dv];
        if sum[r] > F::ZERO {
            lse[r] = max[r] + sum[r].ln();
            let inverse = F::ONE / sum[r];
            out.iter_mut().for_each(|o| *o *= inverse);
        } else {
            out.fill(F::ZERO); // the row sees no key
        }
    }
    (acc, lse)
}

#[inline(always)]
fn backward_body<F: AttnFloat>(head: &Head<'_, F>, grads: &HeadGrads<'_, F>, keys: Range<usize>) -> BackwardRange<F> {
    let [tq, tk, d, dv] = head.sizes;
    let (q, ends, scale) = (head.q, head.ends, head.scale);
    let mut dq = vec![F::ZERO; tq * d];
    let mut dk = vec![F::ZERO; keys.len() * d];
    let mut dvs = vec![F::ZERO; keys.len() * dv];
    let mut probs = vec![F::ZERO; QUERY_BLOCK * KEY_TILE];
    let mut dprobs = vec![F::ZERO; QUERY_BLOCK * KEY_TILE];
    for j0 in keys.clone().step_by(KEY_TILE) {
        let width = KEY_TILE.min(keys.end - j0);
        let local = j0 - keys.start;
        let first = ends.partition_point(|&end| end <= j0);
        for i0 in (first..tq).step_by(QUERY_BLOCK) {
            let n = QUERY_BLOCK.min(tq - i0);
            let (qi, gi) = (&q[i0 * d..][..n * d], &grads.grad[i0 * dv..][..n * dv]);
            F::product([n, width, d], (qi, d, 1), (&head.kt[j0..], tk), (&mut probs, KEY_TILE), false);
            for (r, row) in probs.chunks_mut(KEY_TILE).take(n).enumerate() {
                let valid = ends[i0 + r].saturating_sub(j0).min(width);
                if valid == 0 {
                    row[..width].fill(F::ZERO);
                } else {
                    exp_row(&mut row[..width], valid, scale, grads.lse[i0 + r]);
                }
            }
            // dV_j += Pᵀ dO_i.
            F::product([width, dv, n], (&probs, 1, KEY_TILE), (gi, dv), (&mut dvs[local * dv..], dv), true);
            // dP = dO_i V_jᵀ, then dS = scale · P ⊙ (dP - D) in its place.
            F::product([n, width, dv], (gi, dv, 1), (&grads.vt[j0..], tk), (&mut dprobs, KEY_TILE), false);
            for (r, (ds, p)) in dprobs.chunks_mut(KEY_TILE).zip(probs.chunks(KEY_TILE)).take(n).enumerate() {
                let delta = grads.delta[i0 + r];
                for (ds, &p) in ds[..width].iter_mut().zip(&p[..width]) {
                    *ds = scale * p * (*ds - delta);
                }
            }
            // dK_j += dSᵀ Q_i and dQ_i += dS K_j.
            F::product([width, d, n], (&dprobs, 1, KEY_TILE), (qi, d), (&mut dk[local * d..], d), true);
            let kj = &grads.k[j0 * d..][..width * d];
            F::product([n, d, width], (&dprobs, KEY_TILE, 1), (kj, d), (&mut dq[i0 * d..], d), true);
        }
    }
    (dq, dk, dvs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn forward_avx512<F: AttnFloat>(head: &Head<'_, F>, rows: Range<usize>) -> ForwardBlock<F> {
    forward_body(head, rows)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn backward_avx512<F: AttnFloat>(head: &Head<'_, F>, grads: &HeadGrads<'_, F>, keys: Range<usize>) -> BackwardRange<F> {
    backward_body(head, grads, keys)
}

/// The forward for query rows `rows` of one head: their outputs `[rows, dv]` and log-sum-exps
/// (`-inf` and zeros for a row that sees no key). The softmax loops are compiled for AVX-512
/// too and chosen at run time.
pub(super) fn forward<F: AttnFloat>(head: &Head<'_, F>, rows: Range<usize>) -> ForwardBlock<F> {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { forward_avx512(head, rows) };
    }
    forward_body(head, rows)
}

/// The backward's contributions of the keys `keys` of one head.
pub(super) fn backward<F: AttnFloat>(
    head: &Head<'_, F>,
    grads: &HeadGrads<'_, F>,
    keys: Range<usize>,
) -> BackwardRange<F> {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { backward_avx512(head, grads, keys) };
    }
    backward_body(head, grads, keys)
}
