//! The forward for a few query rows (incremental decoding: one new token against a cache of
//! keys and values), reading the keys and values in place through their views.
//!
//! The tiled kernel first copies the keys into a transposed `[d, Tk]` panel and gathers
//! non-contiguous values: for a single query row that copy costs as much as the attention
//! itself, and a KV cache hands over exactly such views (the filled part of a larger buffer).
//! Here each row's scores are dot products with the key rows where they lie, then one
//! vectorised exp, then a weighted sum of the value rows where they lie.

use rayon::prelude::*;
use tensor_core::Layout;

use super::tile::{AttnFloat, exp_row, row_max};
use crate::simd::has_avx512;

/// The most query rows that take this path (decoding steps, a short prompt's tail).
pub(super) const DECODE_ROWS: usize = 8;
/// Vector lanes the loops keep independent (one AVX-512 register of f32).
const LANES: usize = 16;
/// Below this many multiply-adds a call runs on the calling thread: handing heads to rayon's
/// workers costs a few microseconds, as much as a head of 1,024 keys takes here.
const PARALLEL_WORK: usize = 1 << 20;

/// A `[B, H, T, w]` view whose rows (the last axis) are contiguous, read where it lies.
pub(super) struct Rows<'a, F> {
    data: &'a [F],
    offset: isize,
    strides: [isize; 3],
    width: usize,
}

impl<'a, F> Rows<'a, F> {
    /// `None` unless the last axis has stride 1 (or length ≤ 1), so every row is a slice, and no
    /// stride is negative.
    pub(super) fn new(data: &'a [F], layout: &Layout) -> Option<Rows<'a, F>> {
        let (dims, strides) = (layout.dims(), layout.strides());
        if dims.len() != 4 || (dims[3] > 1 && strides[3] != 1) || strides[..3].iter().any(|&s| s < 0) {
            return None;
        }
        Some(Rows {
            data,
            offset: layout.offset() as isize,
            strides: [strides[0], strides[1], strides[2]],
            width: dims[3],
        })
    }

    /// Row `t` of batch entry `b`, head `h`.
    #[inline(always)]
    fn row(&self, b: usize, h: usize, t: usize) -> &'a [F] {
        let start =
            self.offset + b as isize * self.strides[0] + h as isize * self.strides[1] + t as isize * self.strides[2];
        // A layout's every element lies inside its storage (checked when the tensor was made).
        &self.data[start as usize..][..self.width]
    }

    /// Rows `0..count` (`count ≥ 1`) of batch entry `b`, head `h`.
    #[inline(always)]
    fn head(&self, b: usize, h: usize, count: usize) -> HeadRows<'a, F> {
        let start = self.offset + b as isize * self.strides[0] + h as isize * self.strides[1];
        let stride = self.strides[2] as usize; // non-negative: checked in `new`
        HeadRows { data: &self.data[start as usize..][..(count - 1) * stride + self.width], stride, width: self.width }
    }
}

/// The operands of one call.
pub(super) struct Decode<'a, F> {
    /// `[B, H, Tq, Tk, d, dv]`.
    pub sizes: [usize; 6],
    pub q: Rows<'a, F>,
    pub k: Rows<'a, F>,
    pub v: Rows<'a, F>,
    /// `ends[b][i]`: how many leading keys query row `i` of batch entry `b` sees.
    pub ends: &'a [Vec<usize>],
    pub scale: F,
}

/// The rows `0..count` of one head of a [`Rows`] view: row `j` starts at `j · stride`.
pub(super) struct HeadRows<'a, F> {
    data: &'a [F],
    stride: usize,
    width: usize,
}

impl<'a, F> HeadRows<'a, F> {
    /// Row `j`.
    #[inline(always)]
    pub(super) fn row(&self, j: usize) -> &'a [F] {
        &self.data[j * self.stride..][..self.width]
    }

    /// The row width.
    pub(super) fn width(&self) -> usize {
        self.width
    }
}

/// A float the decoding kernel runs in: how it scores a query against a head's keys.
pub(super) trait DecodeFloat: AttnFloat + Send + Sync {
    /// `scores[j] = query · keys.row(j)` for every `j < scores.len()`.
    fn scores(query: &[Self], keys: &HeadRows<'_, Self>, scores: &mut [Self]) {
        for (j, score) in scores.iter_mut().enumerate() {
            *score = dot(query, keys.row(j));
        }
    }
}

impl DecodeFloat for f64 {}

impl DecodeFloat for f32 {
    /// Eight keys at a time on AVX2 ([`super::decode_x86`]), else one at a time.
    fn scores(query: &[f32], keys: &HeadRows<'_, f32>, scores: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if super::decode_x86::scores(query, keys, scores) {
            return;
        }
        for (j, score) in scores.iter_mut().enumerate() {
            *score = dot(query, keys.row(j));
        }
    }
}

/// `Σ a_i b_i` with independent partial sums, so the loop vectorises, added up as a tree (a
/// few vector adds, where a running sum would be `LANES` dependent scalar adds per key).
#[inline(always)]
pub(super) fn dot<F: AttnFloat>(a: &[F], b: &[F]) -> F {
    let mut partial = [F::ZERO; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] += x[lane] * y[lane];
        }
    }
    for lane in 0..a_tail.len() {
        partial[lane] += a_tail[lane] * b_tail[lane];
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for lane in 0..width {
            let upper = partial[lane + width];
            partial[lane] += upper;
        }
    }
    partial[0]
}

/// `out[c] += Σ_j weights[j] · values.row(j)[c]` for the `BLOCKS · LANES` columns from `first`,
/// with two chains of keys (even and odd) so consecutive adds do not wait on each other.
/// Fixed-size arrays throughout, so the loops compile to vector registers without bounds checks.
#[inline(always)]
fn weighted_columns<F: AttnFloat, const BLOCKS: usize>(
    weights: &[F],
    values: &HeadRows<'_, F>,
    first: usize,
    out: &mut [F],
) {
    #[inline(always)]
    fn add_row<F: AttnFloat, const BLOCKS: usize>(sums: &mut [[F; LANES]; BLOCKS], weight: F, row: &[F]) {
        for (block, sum) in sums.iter_mut().enumerate() {
            let x: &[F; LANES] = row[block * LANES..][..LANES].try_into().expect("LANES long");
            for lane in 0..LANES {
                sum[lane] += weight * x[lane];
            }
        }
    }
    let mut even = [[F::ZERO; LANES]; BLOCKS];
    let mut odd = [[F::ZERO; LANES]; BLOCKS];
    let pairs = weights.len() / 2;
    for pair in 0..pairs {
        let j = 2 * pair;
        add_row(&mut even, weights[j], &values.row(j)[first..]);
        add_row(&mut odd, weights[j + 1], &values.row(j + 1)[first..]);
    }
    if weights.len() % 2 == 1 {
        let j = weights.len() - 1;
        add_row(&mut even, weights[j], &values.row(j)[first..]);
    }
    for block in 0..BLOCKS {
        let o: &mut [F; LANES] = (&mut out[first + block * LANES..][..LANES]).try_into().expect("LANES long");
        for lane in 0..LANES {
            o[lane] += even[block][lane] + odd[block][lane];
        }
    }
}

/// `out = Σ_j weights[j] · values.row(j)`: column blocks of `2 · LANES`, then one of `LANES`,
/// then the last columns one at a time.
#[inline(always)]
fn weighted_sum<F: AttnFloat>(weights: &[F], values: &HeadRows<'_, F>, out: &mut [F]) {
    let width = values.width();
    let pairs = width / (2 * LANES);
    for block in 0..pairs {
        weighted_columns::<F, 2>(weights, values, block * 2 * LANES, out);
    }
    let mut done = pairs * 2 * LANES;
    if width - done >= LANES {
        weighted_columns::<F, 1>(weights, values, done, out);
        done += LANES;
    }
    for (j, &weight) in weights.iter().enumerate() {
        for (o, &x) in out[done..].iter_mut().zip(&values.row(j)[done..]) {
            *o += weight * x;
        }
    }
}

/// The output rows `[Tq, dv]` and log-sum-exps `[Tq]` of head `bh`.
#[inline(always)]
fn head_body<F: DecodeFloat>(call: &Decode<'_, F>, bh: usize) -> (Vec<F>, Vec<F>) {
    let [_, heads, tq, tk, _, dv] = call.sizes;
    let (b, h) = (bh / heads, bh % heads);
    let mut out = vec![F::ZERO; tq * dv];
    let mut lse = vec![F::NEG_INFINITY; tq];
    let mut scores = vec![F::ZERO; tk];
    for i in 0..tq {
        let end = call.ends[b][i];
        if end == 0 {
            continue; // the row sees no key: zeros, as the tiled kernel gives
        }
        let row_scores = &mut scores[..end];
        F::scores(call.q.row(b, h, i), &call.k.head(b, h, end), row_scores);
        let max = row_max(row_scores, call.scale);
        let sum = exp_row(row_scores, end, call.scale, max);
        let row = &mut out[i * dv..][..dv];
        weighted_sum(row_scores, &call.v.head(b, h, end), row);
        let inverse = F::ONE / sum;
        for o in row.iter_mut() {
            *o *= inverse;
        }
        lse[i] = max + sum.ln();
    }
    (out, lse)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn head_avx512<F: DecodeFloat>(call: &Decode<'_, F>, bh: usize) -> (Vec<F>, Vec<F>) {
    head_body(call, bh)
}

fn head<F: DecodeFloat>(call: &Decode<'_, F>, bh: usize) -> (Vec<F>, Vec<F>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { head_avx512(call, bh) };
    }
    head_body(call, bh)
}

/// Every head's outputs `[B·H·Tq·dv]` and log-sum-exps `[B·H·Tq]`, heads in parallel when the
/// call is large enough to pay for it.
pub(super) fn forward<F: DecodeFloat>(call: &Decode<'_, F>) -> (Vec<F>, Vec<F>) {
    let [b, h, tq, tk, d, dv] = call.sizes;
    let work = b * h * tq * tk * (d + dv);
    // On one thread rayon would only hand the call to its worker and wait: a thread switch
    // per layer, which cost more than the attention itself.
    let parts: Vec<_> = if rayon::current_num_threads() > 1 && work >= PARALLEL_WORK {
        (0..b * h).into_par_iter().map(|bh| head(call, bh)).collect()
    } else {
        (0..b * h).map(|bh| head(call, bh)).collect()
    };
    let (mut out, mut lse) = (Vec::with_capacity(b * h * tq * dv), Vec::with_capacity(b * h * tq));
    for (rows, row_lse) in parts {
        out.extend_from_slice(&rows);
        lse.extend_from_slice(&row_lse);
    }
    (out, lse)
}
