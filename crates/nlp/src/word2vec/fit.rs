//! One prediction's output-side update, the loop both hierarchical softmax (one target per
//! inner node of the word's Huffman path) and negative sampling (the word and its noise words)
//! spend their time in: per target row `o` with label `l`, score `f = x · o`, step
//! `g = (l − σ(f))·α`, then `e += g·o` and `o += g·x`.
//!
//! On AVX-512 the input `x` and the accumulated gradient `e` stay in registers for the whole
//! target list (a 100-float vector is seven registers), so each target costs one read and one
//! write of its row instead of the three reads and two writes of separate `dot` and `axpy`
//! calls.

use super::kernels::{MAX_EXP, SigmoidTable, axpy, dot};
use super::rows::OutputRows;

/// What a score at or beyond ±[`MAX_EXP`] does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Saturation {
    /// The target is skipped (the C tool's hierarchical softmax).
    Skip,
    /// The sigmoid is taken as exactly 0 or 1 (its negative sampling).
    Clamp,
}

/// The step `g` for a target with `label` and score `f`, or `None` for a skipped one.
#[inline(always)]
fn step(f: f32, label: f32, saturation: Saturation, alpha: f32, sigmoid: &SigmoidTable) -> Option<f32> {
    let sigma = if f > -MAX_EXP && f < MAX_EXP {
        sigmoid.get(f)
    } else if saturation == Saturation::Skip {
        return None;
    } else if f >= MAX_EXP {
        1.0
    } else {
        0.0
    };
    Some((label - sigma) * alpha)
}

/// One prediction's targets: output rows and the label each should score.
#[derive(Clone, Copy)]
pub(crate) struct Targets<'a> {
    pub output: OutputRows<'a>,
    pub rows: &'a [u32],
    pub labels: &'a [f32],
    pub saturation: Saturation,
}

/// Fits `input` to every target (see the module documentation), adding the input's gradient
/// step into `error`.
#[inline(always)]
pub(crate) fn fit(input: &[f32], targets: Targets<'_>, alpha: f32, sigmoid: &SigmoidTable, error: &mut [f32]) {
    let dim = input.len();
    assert!(error.len() == dim && targets.output.cols() == dim, "rows of {dim} floats");
    #[cfg(target_arch = "x86_64")]
    if (1..=16 * MAX_VECTORS).contains(&dim) && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present, `OutputRows::row` checks each target row's index, and
        // every row, `input` and `error` hold `dim` floats (asserted above).
        unsafe {
            match dim.div_ceil(16) {
                1 => fit_avx512::<1>(input, targets, alpha, sigmoid, error),
                2 => fit_avx512::<2>(input, targets, alpha, sigmoid, error),
                3 => fit_avx512::<3>(input, targets, alpha, sigmoid, error),
                4 => fit_avx512::<4>(input, targets, alpha, sigmoid, error),
                5 => fit_avx512::<5>(input, targets, alpha, sigmoid, error),
                6 => fit_avx512::<6>(input, targets, alpha, sigmoid, error),
                7 => fit_avx512::<7>(input, targets, alpha, sigmoid, error),
                _ => fit_avx512::<8>(input, targets, alpha, sigmoid, error),
            }
        }
        return;
    }
    for (&row, &label) in targets.rows.iter().zip(targets.labels) {
        let output = targets.output.row(row as usize);
        if let Some(g) = step(dot(input, output), label, targets.saturation, alpha, sigmoid) {
            axpy(g, output, error);
            axpy(g, input, output);
        }
    }
}

/// Vectors up to this many registers (128 floats) are kept in registers.
#[cfg(target_arch = "x86_64")]
const MAX_VECTORS: usize = 8;

/// [`fit`] with `x` and `e` held as `V` AVX-512 registers each; the last is masked to the
/// vector's length.
///
/// # Safety
/// AVX-512F must be present, and `input`, `error` and the rows `16·(V − 1) < len ≤ 16·V`
/// floats long.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fit_avx512<const V: usize>(
    input: &[f32],
    targets: Targets<'_>,
    alpha: f32,
    sigmoid: &SigmoidTable,
    error: &mut [f32],
) {
    use std::arch::x86_64::{
        __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_reduce_add_ps,
        _mm512_set1_ps, _mm512_setzero_ps,
    };
    let tail = input.len() - 16 * (V - 1);
    let masks: [u16; V] = std::array::from_fn(|v| if v + 1 < V { u16::MAX } else { ((1u32 << tail) - 1) as u16 });
    let (mut x, mut e) = ([_mm512_setzero_ps(); V], [_mm512_setzero_ps(); V]);
    for v in 0..V {
        // SAFETY (whole function): each access covers lanes below the length only (the masks).
        unsafe {
            x[v] = _mm512_maskz_loadu_ps(masks[v], input.as_ptr().add(16 * v));
            e[v] = _mm512_maskz_loadu_ps(masks[v], error.as_ptr().add(16 * v));
        }
    }
    for (&row, &label) in targets.rows.iter().zip(targets.labels) {
        let out = targets.output.row(row as usize).as_mut_ptr();
        let mut o = [_mm512_setzero_ps(); V];
        let (mut even, mut odd) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for v in 0..V {
            o[v] = unsafe { _mm512_maskz_loadu_ps(masks[v], out.add(16 * v)) };
            if v % 2 == 0 {
                even = _mm512_fmadd_ps(x[v], o[v], even);
            } else {
                odd = _mm512_fmadd_ps(x[v], o[v], odd);
            }
        }
        let f = _mm512_reduce_add_ps(_mm512_add_ps(even, odd));
        let Some(g) = step(f, label, targets.saturation, alpha, sigmoid) else { continue };
        let g: __m512 = _mm512_set1_ps(g);
        for v in 0..V {
            e[v] = _mm512_fmadd_ps(g, o[v], e[v]);
            unsafe { _mm512_mask_storeu_ps(out.add(16 * v), masks[v], _mm512_fmadd_ps(g, x[v], o[v])) };
        }
    }
    for v in 0..V {
        unsafe { _mm512_mask_storeu_ps(error.as_mut_ptr().add(16 * v), masks[v], e[v]) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::word2vec::rows::HogwildRows;

    /// The update written out with plain loops in f64.
    fn reference(input: &[f32], rows: &mut [Vec<f32>], labels: &[f32], saturation: Saturation) -> Vec<f64> {
        let sigmoid = SigmoidTable::new();
        let mut error = vec![0.5f64; input.len()];
        for (row, &label) in rows.iter_mut().zip(labels) {
            let f: f64 = row.iter().zip(input).map(|(o, x)| *o as f64 * *x as f64).sum();
            let Some(g) = step(f as f32, label, saturation, 0.1, &sigmoid) else { continue };
            for ((o, x), e) in row.iter_mut().zip(input).zip(&mut error) {
                *e += g as f64 * *o as f64;
                *o += g * x;
            }
        }
        error
    }

    #[test]
    fn matches_plain_loops_at_every_length_and_saturation() {
        for dim in [1, 7, 16, 17, 100, 128, 129, 300] {
            for saturation in [Saturation::Skip, Saturation::Clamp] {
                let input: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin() * 0.8).collect();
                // Row 2 scores far beyond MAX_EXP: skipped or clamped.
                let mut rows: Vec<Vec<f32>> = (0..4)
                    .map(|r| {
                        (0..dim).map(|i| if r == 2 { input[i] * 60.0 } else { ((r * dim + i) as f32).cos() }).collect()
                    })
                    .collect();
                let labels = [1.0, 0.0, 0.0, 1.0];
                let mut flat: Vec<f32> = rows.concat();
                let output = HogwildRows::new(&mut flat, dim);
                let picks = [3u32, 0, 2, 1];
                let mut error = vec![0.5f32; dim];
                let targets =
                    Targets { output: OutputRows::new(&output, None), rows: &picks, labels: &labels, saturation };
                fit(&input, targets, 0.1, &SigmoidTable::new(), &mut error);
                let mut ordered: Vec<Vec<f32>> = picks.iter().map(|&r| rows[r as usize].clone()).collect();
                let want = reference(&input, &mut ordered, &labels, saturation);
                for (got, want) in error.iter().zip(&want) {
                    assert!((*got as f64 - want).abs() < 1e-4, "dim {dim}: error {got} vs {want}");
                }
                for (&r, want) in picks.iter().zip(&ordered) {
                    rows[r as usize] = flat[r as usize * dim..][..dim].to_vec();
                    for (got, want) in rows[r as usize].iter().zip(want) {
                        assert!((got - want).abs() < 1e-4, "dim {dim}: row {r}: {got} vs {want}");
                    }
                }
            }
        }
    }
}
