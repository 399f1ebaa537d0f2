//! One prediction's output-side update, the loop both hierarchical softmax (one target per
//! inner node of the word's Huffman path) and negative sampling (the word and its noise words)
//! spend their time in: per target row `o` with label `l`, score `f = x · o`, step
//! `g = (l − σ(f))·α`, then `e += g·o` and `o += g·x`.
//!
//! On AVX-512 the input `x` and the accumulated gradient `e` stay in registers for the whole
//! target list (a 100-float vector is seven registers), so each target costs one read and one
//! write of its row instead of the three reads and two writes of separate `dot` and `axpy`
//! calls.

use std::ops::Range;
use std::sync::atomic::AtomicU32;

use super::atomic_f32::{load, store};
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

/// A prediction's input vector: the caller's own floats (CBOW's mean of the window) or a
/// shared row (skip-gram's context word, read in place: a copy would be read back while its
/// last, masked store still sat in the store buffer, which costs skip-gram with hierarchical
/// softmax a few percent).
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    /// Floats the caller owns.
    Own(&'a [f32]),
    /// A row of a shared matrix.
    Shared(&'a [AtomicU32]),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Own(x) => x.len(),
            Input::Shared(row) => row.len(),
        }
    }
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
pub(crate) fn fit(input: Input<'_>, targets: Targets<'_>, alpha: f32, sigmoid: &SigmoidTable, error: &mut [f32]) {
    let dim = input.len();
    assert!(error.len() == dim && targets.output.cols() == dim, "rows of {dim} floats");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: AVX-512F is present, `OutputRows::row_start` checks each target row's index, and
        // every row, `input` and `error` hold `dim` floats (asserted above).
        unsafe {
            match dim.div_ceil(16) {
                0 => {}
                1 => fit_avx512::<1>(input, targets, alpha, sigmoid, error),
                2 => fit_avx512::<2>(input, targets, alpha, sigmoid, error),
                3 => fit_avx512::<3>(input, targets, alpha, sigmoid, error),
                4 => fit_avx512::<4>(input, targets, alpha, sigmoid, error),
                5 => fit_avx512::<5>(input, targets, alpha, sigmoid, error),
                6 => fit_avx512::<6>(input, targets, alpha, sigmoid, error),
                7 => fit_avx512::<7>(input, targets, alpha, sigmoid, error),
                MAX_VECTORS => fit_avx512::<MAX_VECTORS>(input, targets, alpha, sigmoid, error),
                _ => fit_in_chunks_avx512(input, targets, alpha, sigmoid, error),
            }
        }
        return;
    }
    fit_in_chunks(input, targets, alpha, sigmoid, error);
}

/// [`fit_in_chunks`] compiled for AVX-512 and kept out of line: the job loop inlines [`fit`],
/// and a second inlined copy of the chunked loop, which vectors of this length never take,
/// made it larger and slower.
///
/// # Safety
/// AVX-512F must be present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline(never)]
unsafe fn fit_in_chunks_avx512(
    input: Input<'_>,
    targets: Targets<'_>,
    alpha: f32,
    sigmoid: &SigmoidTable,
    error: &mut [f32],
) {
    fit_in_chunks(input, targets, alpha, sigmoid, error)
}

/// Floats of a target row that [`fit_in_chunks`] holds at a time.
const CHUNK: usize = 128;

/// [`fit`] with portable vectors: each target row is loaded [`CHUNK`] floats at a time into a
/// buffer, scored, updated there and stored back. A row longer than a chunk is loaded twice,
/// once to score and once to update, as the C tool reads it; so is a shared input that long,
/// which a shorter one is loaded once.
#[inline(always)]
fn fit_in_chunks(input: Input<'_>, targets: Targets<'_>, alpha: f32, sigmoid: &SigmoidTable, error: &mut [f32]) {
    let dim = error.len();
    let (mut held_row, mut held_input, mut whole_input) = ([0f32; CHUNK], [0f32; CHUNK], [0f32; CHUNK]);
    let whole = match input {
        Input::Own(x) => Some(x),
        Input::Shared(row) if dim <= CHUNK => {
            load(row, &mut whole_input[..dim]);
            Some(&whole_input[..dim])
        }
        Input::Shared(_) => None,
    };
    // The input's floats `chunk`: from `whole` when there is one, else loaded into `held`.
    fn input_chunk<'b>(
        whole: Option<&'b [f32]>,
        input: Input<'b>,
        chunk: Range<usize>,
        held: &'b mut [f32],
    ) -> &'b [f32] {
        match (whole, input) {
            (Some(x), _) | (None, Input::Own(x)) => &x[chunk],
            (None, Input::Shared(row)) => {
                let held = &mut held[..chunk.len()];
                load(&row[chunk], held);
                held
            }
        }
    }
    let chunks = || (0..dim).step_by(CHUNK).map(move |start| start..(start + CHUNK).min(dim));
    for (&row, &label) in targets.rows.iter().zip(targets.labels) {
        let output = targets.output.row(row as usize);
        let mut f = 0.0;
        for chunk in chunks() {
            let held = &mut held_row[..chunk.len()];
            load(&output[chunk.clone()], held);
            f += dot(input_chunk(whole, input, chunk, &mut held_input), held);
        }
        let Some(g) = step(f, label, targets.saturation, alpha, sigmoid) else { continue };
        for chunk in chunks() {
            let held = &mut held_row[..chunk.len()];
            if dim > CHUNK {
                load(&output[chunk.clone()], held);
            }
            axpy(g, held, &mut error[chunk.clone()]);
            axpy(g, input_chunk(whole, input, chunk.clone(), &mut held_input), held);
            store(&output[chunk], held);
        }
    }
}

/// Runs `$body` for each vector index below `$count` (at most [`MAX_VECTORS`]) with `$name` bound
/// to it as a constant, so that the kernel addresses a row's vectors by immediate offsets.
#[cfg(target_arch = "x86_64")]
macro_rules! for_each_vector {
    ($count:expr, $name:ident => $body:block) => {
        for_each_vector!(@ $count, $name, $body, 0 1 2 3 4 5 6 7)
    };
    (@ $count:expr, $name:ident, $body:block, $($index:literal)*) => {
        $(
            if $index < $count {
                const $name: usize = $index;
                $body
            }
        )*
    };
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
    input: Input<'_>,
    targets: Targets<'_>,
    alpha: f32,
    sigmoid: &SigmoidTable,
    error: &mut [f32],
) {
    use super::atomic_f32::{load16, store16};
    use std::arch::x86_64::{
        __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_reduce_add_ps,
        _mm512_set1_ps, _mm512_setzero_ps,
    };
    let tail = error.len() - 16 * (V - 1);
    let masks: [u16; V] = std::array::from_fn(|v| if v + 1 < V { u16::MAX } else { ((1u32 << tail) - 1) as u16 });
    // A row's last vector is masked to its length, the others are whole.
    let row_mask = |vector: usize| (vector + 1 == V).then_some(masks[V - 1]);
    let (mut x, mut e) = ([_mm512_setzero_ps(); V], [_mm512_setzero_ps(); V]);
    for_each_vector!(V, VECTOR => {
        // SAFETY (whole function): each access covers lanes below the length only (the masks),
        // of `input`, `error` or a target row whose index `row_start` checked; all hold `dim`
        // floats, and the shared ones are moved by `load16` and `store16` only.
        unsafe {
            x[VECTOR] = match input {
                Input::Own(x) => _mm512_maskz_loadu_ps(masks[VECTOR], x.as_ptr().add(16 * VECTOR)),
                Input::Shared(row) => load16::<VECTOR>(row.as_ptr(), row_mask(VECTOR)),
            };
            e[VECTOR] = _mm512_maskz_loadu_ps(masks[VECTOR], error.as_ptr().add(16 * VECTOR));
        }
    });
    for (&row, &label) in targets.rows.iter().zip(targets.labels) {
        // Shared rows are moved with `load16` and `store16`: atomic per float, see `atomic_f32`.
        let out = targets.output.row_start(row as usize);
        let mut o = [_mm512_setzero_ps(); V];
        let (mut even, mut odd) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        for_each_vector!(V, VECTOR => {
            o[VECTOR] = unsafe { load16::<VECTOR>(out, row_mask(VECTOR)) };
            if VECTOR.is_multiple_of(2) {
                even = _mm512_fmadd_ps(x[VECTOR], o[VECTOR], even);
            } else {
                odd = _mm512_fmadd_ps(x[VECTOR], o[VECTOR], odd);
            }
        });
        let f = _mm512_reduce_add_ps(_mm512_add_ps(even, odd));
        let Some(g) = step(f, label, targets.saturation, alpha, sigmoid) else { continue };
        let g: __m512 = _mm512_set1_ps(g);
        for_each_vector!(V, VECTOR => {
            e[VECTOR] = _mm512_fmadd_ps(g, o[VECTOR], e[VECTOR]);
            unsafe { store16::<VECTOR>(out, row_mask(VECTOR), _mm512_fmadd_ps(g, x[VECTOR], o[VECTOR])) };
        });
    }
    for v in 0..V {
        unsafe { _mm512_mask_storeu_ps(error.as_mut_ptr().add(16 * v), masks[v], e[v]) };
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

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

    type Fit = fn(Input<'_>, Targets<'_>, f32, &SigmoidTable, &mut [f32]);

    /// Both implementations, with the input owned or shared, at lengths around each vector
    /// width and across chunks.
    #[test]
    fn matches_plain_loops_at_every_length_and_saturation() {
        for (name, implementation) in [("fit", fit as Fit), ("fit_in_chunks", fit_in_chunks as Fit)] {
            for dim in [1, 7, 16, 17, 100, 128, 129, 300, 2 * CHUNK + 3] {
                for saturation in [Saturation::Skip, Saturation::Clamp] {
                    for shared_input in [false, true] {
                        check(implementation, dim, saturation, shared_input, name);
                    }
                }
            }
        }
    }

    fn check(implementation: Fit, dim: usize, saturation: Saturation, shared_input: bool, name: &str) {
        let name = format!("{name}, {} input", if shared_input { "shared" } else { "own" });
        let input: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin() * 0.8).collect();
        // Row 2 scores far beyond MAX_EXP: skipped or clamped.
        let mut rows: Vec<Vec<f32>> = (0..4)
            .map(|r| (0..dim).map(|i| if r == 2 { input[i] * 60.0 } else { ((r * dim + i) as f32).cos() }).collect())
            .collect();
        let labels = [1.0, 0.0, 0.0, 1.0];
        let mut flat: Vec<f32> = rows.concat();
        let output = HogwildRows::new(&mut flat, dim);
        let picks = [3u32, 0, 2, 1];
        let mut error = vec![0.5f32; dim];
        let targets = Targets { output: OutputRows::new(output, None), rows: &picks, labels: &labels, saturation };
        let mut input_row = input.clone();
        let input_row = crate::word2vec::atomic_f32::as_shared(&mut input_row);
        let given = if shared_input { Input::Shared(input_row) } else { Input::Own(&input) };
        implementation(given, targets, 0.1, &SigmoidTable::new(), &mut error);
        let unchanged =
            input_row.iter().zip(&input).all(|(x, &want)| f32::from_bits(x.load(Ordering::Relaxed)) == want);
        assert!(unchanged, "{name}, dim {dim}: the input is read, never written");
        let mut ordered: Vec<Vec<f32>> = picks.iter().map(|&r| rows[r as usize].clone()).collect();
        let want = reference(&input, &mut ordered, &labels, saturation);
        for (got, want) in error.iter().zip(&want) {
            assert!((*got as f64 - want).abs() < 1e-4, "{name}, dim {dim}: error {got} vs {want}");
        }
        for (&r, want) in picks.iter().zip(&ordered) {
            rows[r as usize] = flat[r as usize * dim..][..dim].to_vec();
            for (got, want) in rows[r as usize].iter().zip(want) {
                assert!((got - want).abs() < 1e-4, "{name}, dim {dim}: row {r}: {got} vs {want}");
            }
        }
    }
}
