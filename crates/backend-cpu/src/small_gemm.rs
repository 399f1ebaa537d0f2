//! A packing-free f32 GEMM for products whose right operand has contiguous rows and whose
//! left operand is small: `C[m, n] (+)= A[m, k] · B[k, n]`, on AVX-512.
//!
//! General GEMM libraries copy ("pack") both operands into panels before multiplying. That
//! pays off when each packed element is reused many times, but in a convolution's per-sample
//! products (32 filters x 144 taps x 1024 positions) every `B` element is used only `m` times,
//! and packing costs about as much as the arithmetic. Here a register block of 8 x 32 outputs
//! (16 AVX-512 accumulators) reads each row of `B` straight from memory as two vectors and
//! broadcasts `A`'s scalars, so nothing is copied. [`available`] says whether the CPU can run
//! it; callers fall back to the `gemm` crate otherwise.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m512, _MM_HINT_T0, _mm_prefetch, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps,
    _mm512_setzero_ps, _mm512_storeu_ps,
};

/// Output rows per register block.
const ROWS: usize = 8;
/// Output columns per register block (two AVX-512 vectors).
const COLS: usize = 32;
/// How many rows of `B`'s panel ahead of the current one are prefetched.
const PREFETCH_ROWS: usize = 8;

/// A strided read-only view of `A`: element `(i, p)` is `data[i * row_stride + p * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Lhs<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

/// `B` with contiguous rows: element `(p, j)` is `data[p * row_stride + j]`.
#[derive(Clone, Copy)]
pub(crate) struct Rhs<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
}

/// Whether this CPU runs the kernel (it needs AVX-512F).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `C[m, n] = A · B`, or `C += A · B` with `accumulate`; `C` is row-major at row stride
/// `ldc`. Panics if a view is too short for its dimensions or the CPU lacks AVX-512F.
pub(crate) fn gemm([m, n, k]: [usize; 3], a: Lhs<'_>, b: Rhs<'_>, c: &mut [f32], ldc: usize, accumulate: bool) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= (m - 1) * ldc + n, "C is {} long for {m}x{n} at stride {ldc}", c.len());
    if k == 0 {
        if !accumulate {
            c.chunks_mut(ldc.max(1)).take(m).for_each(|row| row[..n].fill(0.0));
        }
        return;
    }
    assert!(a.data.len() > (m - 1) * a.row_stride + (k - 1) * a.col_stride, "A is too short for {m}x{k}");
    assert!(b.data.len() >= (k - 1) * b.row_stride + n, "B is too short for {k}x{n}");
    assert!(available(), "the packing-free kernel needs AVX-512F");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F is present (asserted), and the assertions above keep every element the
    // blocks address inside `a`, `b` and `c`.
    unsafe {
        gemm_avx512([m, n, k], a, b, c, ldc, accumulate)
    }
}

/// Walks `C` in 8 x 32 blocks; ragged right edges go through a zero-padded copy of `B`'s last
/// columns, ragged bottom edges through one-row blocks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemm_avx512([m, n, k]: [usize; 3], a: Lhs<'_>, b: Rhs<'_>, c: &mut [f32], ldc: usize, accumulate: bool) {
    let full_cols = n / COLS * COLS;
    let tail = n - full_cols;
    let mut padded = Vec::new();
    if tail > 0 {
        padded = vec![0.0f32; k * COLS];
        for p in 0..k {
            padded[p * COLS..p * COLS + tail].copy_from_slice(&b.data[p * b.row_stride + full_cols..][..tail]);
        }
    }
    let mut j0 = 0;
    while j0 < n {
        let width = COLS.min(n - j0);
        let (panel, panel_stride) =
            if width == COLS { (b.data[j0..].as_ptr(), b.row_stride) } else { (padded.as_ptr(), COLS) };
        let mut i0 = 0;
        while i0 < m {
            // The tallest block that fits: fewer passes over B's panel for ragged row counts.
            let rows = [ROWS, 4, 2, 1].into_iter().find(|&r| i0 + r <= m).unwrap_or(1);
            let a_block = a.data[i0 * a.row_stride..].as_ptr();
            let c_block = c[i0 * ldc + j0..].as_mut_ptr();
            let args = (a_block, a.row_stride, a.col_stride, panel, panel_stride, k, c_block, ldc, width, accumulate);
            // SAFETY: rows i0..i0+rows of A and C and columns j0..j0+width of B and C are in
            // bounds (checked by `gemm`); the padded panel holds k full rows of COLS.
            unsafe {
                match rows {
                    ROWS => block::<ROWS>(args),
                    4 => block::<4>(args),
                    2 => block::<2>(args),
                    _ => block::<1>(args),
                }
            }
            i0 += rows;
        }
        j0 += COLS;
    }
}

/// A block's operands: `A` (pointer, row and column stride), `B`'s panel (pointer, row
/// stride), `k`, `C` (pointer, row stride), stored width, accumulate.
type BlockArgs = (*const f32, usize, usize, *const f32, usize, usize, *mut f32, usize, usize, bool);

/// One `R x 32` block of `C`, of which the first `width` columns are stored.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn block<const R: usize>((a, a_rs, a_cs, panel, panel_stride, k, c, ldc, width, accumulate): BlockArgs) {
    let mut acc: [[__m512; 2]; R] = [[_mm512_setzero_ps(); 2]; R];
    for p in 0..k {
        // SAFETY (whole block): the caller guarantees R rows of A, k rows of the panel and R
        // rows of `width` columns of C.
        let row = unsafe { panel.add(p * panel_stride) };
        // Rows of a wide `B` sit pages apart, where the hardware prefetcher does not follow:
        // fetch a few rows ahead (a prefetch never faults, so past the end is harmless).
        let ahead = panel.wrapping_add((p + PREFETCH_ROWS) * panel_stride);
        _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16) as *const i8);
        let (b0, b1) = unsafe { (_mm512_loadu_ps(row), _mm512_loadu_ps(row.add(16))) };
        for (r, out) in acc.iter_mut().enumerate() {
            let scalar = _mm512_set1_ps(unsafe { *a.add(r * a_rs + p * a_cs) });
            out[0] = _mm512_fmadd_ps(scalar, b0, out[0]);
            out[1] = _mm512_fmadd_ps(scalar, b1, out[1]);
        }
    }
    for (r, out) in acc.iter().enumerate() {
        let dst = unsafe { c.add(r * ldc) };
        if width == COLS {
            unsafe {
                let (lo, hi) = if accumulate {
                    (_mm512_add_ps(out[0], _mm512_loadu_ps(dst)), _mm512_add_ps(out[1], _mm512_loadu_ps(dst.add(16))))
                } else {
                    (out[0], out[1])
                };
                _mm512_storeu_ps(dst, lo);
                _mm512_storeu_ps(dst.add(16), hi);
            }
        } else {
            let mut values = [0.0f32; COLS];
            unsafe {
                _mm512_storeu_ps(values.as_mut_ptr(), out[0]);
                _mm512_storeu_ps(values.as_mut_ptr().add(16), out[1]);
            }
            for (j, v) in values[..width].iter().enumerate() {
                unsafe { *dst.add(j) = if accumulate { *dst.add(j) + v } else { *v } };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], ldb: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * a_rs + p * a_cs] as f64 * b[p * ldb + j] as f64).sum();
            }
        }
        c
    }

    #[test]
    fn matches_a_reference_on_ragged_and_strided_shapes() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX-512F (callers use the gemm crate here)");
            return;
        }
        for (m, n, k) in [(1, 1, 1), (8, 32, 5), (9, 33, 17), (32, 1024, 144), (3, 70, 0), (20, 100, 7), (17, 5, 64)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0).collect();
            let ldb = n + 3;
            let b: Vec<f32> = (0..k * ldb).map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0).collect();
            // A read transposed: stored [k, m], element (i, p) at p * m + i.
            let at: Vec<f32> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
            let want = reference(m, n, k, &a, k, 1, &b, ldb);
            for (lhs, name) in [
                (Lhs { data: &a, row_stride: k, col_stride: 1 }, "row-major A"),
                (Lhs { data: &at, row_stride: 1, col_stride: m }, "transposed A"),
            ] {
                let mut c = vec![1.0f32; m * n];
                gemm([m, n, k], lhs, Rhs { data: &b, row_stride: ldb }, &mut c, n, true);
                for (got, want) in c.iter().zip(&want) {
                    assert!((*got as f64 - (want + 1.0)).abs() < 1e-3, "{m}x{n}x{k} {name}: {got} vs {}", want + 1.0);
                }
                gemm([m, n, k], lhs, Rhs { data: &b, row_stride: ldb }, &mut c, n, false);
                for (got, want) in c.iter().zip(&want) {
                    assert!((*got as f64 - want).abs() < 1e-3, "{m}x{n}x{k} {name}: {got} vs {want}");
                }
            }
        }
    }
}
