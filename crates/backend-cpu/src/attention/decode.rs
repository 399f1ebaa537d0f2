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

use super::tile::{AttnFloat, exp_row, has_avx512, row_max};

/// The most query rows that take this path (decoding steps, a short prompt's tail).
pub(super) const DECODE_ROWS: usize = 8;
/// Vector lanes the loops keep independent (one AVX-512 register of f32).
const LANES: usize = 16;
/// Below this many multiply-adds a call runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 17;

/// A `[B, H, T, w]` view whose rows (the last axis) are contiguous, read where it lies.
pub(super) struct Rows<'a, F> {
    data: &'a [F],
    offset: isize,
    strides: [isize; 3],
    width: usize,
}

impl<'a, F> Rows<'a, F> {
    /// `None` unless the last axis has stride 1 (or length ≤ 1), so every row is a slice.
    pub(super) fn new(data: &'a [F], layout: &Layout) -> Option<Rows<'a, F>> {
        let (dims, strides) = (layout.dims(), layout.strides());
        if dims.len() != 4 || (dims[3] > 1 && strides[3] != 1) {
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

/// `Σ a_i b_i` with independent partial sums, so the loop vectorises.
#[inline(always)]
fn dot<F: AttnFloat>(a: &[F], b: &[F]) -> F {
    let mut partial = [F::ZERO; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] += x[lane] * y[lane];
        }
    }
    let mut sum = F::ZERO;
    for lane in 0..a_tail.len() {
        sum += a_tail[lane] * b_tail[lane];
    }
    for p in partial {
        sum += p;
    }
    sum
}

/// The output rows `[Tq, dv]` and log-sum-exps `[Tq]` of head `bh`.
#[inline(always)]
fn head_body<F: AttnFloat>(call: &Decode<'_, F>, bh: usize) -> (Vec<F>, Vec<F>) {
    let [_, heads, tq, _, _, dv] = call.sizes;
    let (b, h) = (bh / heads, bh % heads);
    let mut out = vec![F::ZERO; tq * dv];
    let mut lse = vec![F::NEG_INFINITY; tq];
    let mut scores = Vec::new();
    for i in 0..tq {
        let end = call.ends[b][i];
        if end == 0 {
            continue; // the row sees no key: zeros, as the tiled kernel gives
        }
        let query = call.q.row(b, h, i);
        // Plain loops, not iterator adapters: those are separate functions that would miss
        // the AVX-512 build this body is compiled into.
        scores.clear();
        for j in 0..end {
            scores.push(dot(query, call.k.row(b, h, j)));
        }
        let max = row_max(&scores, call.scale);
        let sum = exp_row(&mut scores, end, call.scale, max);
        // The weighted sum of value rows, 16 output columns at a time held in registers.
        let inverse = F::ONE / sum;
        let row = &mut out[i * dv..][..dv];
        let full = dv - dv % LANES;
        for c0 in (0..full).step_by(LANES) {
            let mut acc = [F::ZERO; LANES];
            for (j, &weight) in scores.iter().enumerate() {
                let values: &[F; LANES] = call.v.row(b, h, j)[c0..][..LANES].try_into().expect("LANES long");
                for lane in 0..LANES {
                    acc[lane] += weight * values[lane];
                }
            }
            for (o, a) in row[c0..][..LANES].iter_mut().zip(acc) {
                *o = a * inverse;
            }
        }
        for (j, &weight) in scores.iter().enumerate() {
            for (o, &x) in row[full..].iter_mut().zip(&call.v.row(b, h, j)[full..]) {
                *o += weight * x;
            }
        }
        for o in &mut row[full..] {
            *o *= inverse;
        }
        lse[i] = max + sum.ln();
    }
    (out, lse)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn head_avx512<F: AttnFloat>(call: &Decode<'_, F>, bh: usize) -> (Vec<F>, Vec<F>) {
    head_body(call, bh)
}

fn head<F: AttnFloat>(call: &Decode<'_, F>, bh: usize) -> (Vec<F>, Vec<F>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { head_avx512(call, bh) };
    }
    head_body(call, bh)
}

/// Every head's outputs `[B·H·Tq·dv]` and log-sum-exps `[B·H·Tq]`, heads in parallel when the
/// call is large enough to pay for it.
pub(super) fn forward<F: AttnFloat + Send + Sync>(call: &Decode<'_, F>) -> (Vec<F>, Vec<F>) {
    let [b, h, tq, tk, d, dv] = call.sizes;
    let parts: Vec<_> = if b * h * tq * tk * (d + dv) >= PARALLEL_WORK {
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
