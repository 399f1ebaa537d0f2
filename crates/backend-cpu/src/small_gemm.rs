//! A packing-free f32 GEMM for products whose right operand has contiguous rows and whose
//! left operand is small: `C[m, n] (+)= A[m, k] · B[k, n]`, on AVX-512.
//!
//! General GEMM libraries copy ("pack") both operands into panels before multiplying. That
//! pays off when each packed element is reused many times, but in a convolution's per-sample
//! products (32 filters x 144 taps x 1024 positions) every `B` element is used only `m` times,
//! and packing costs about as much as the arithmetic. Here a register block of 8 x 32 outputs
//! (16 AVX-512 accumulators) reads each row of `B` straight from memory as two vectors and
//! broadcasts `A`'s scalars, so nothing is copied.
//!
//! Rows of either operand may sit at arbitrary offsets ([`Rows::At`]): a stride-1
//! convolution reads its "im2col" rows straight out of the padded image that way, without
//! building the columns. Ragged right edges use masked loads and stores. [`available`] says
//! whether the CPU can run the kernel; callers fall back to the `gemm` crate otherwise.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m512, __mmask16, _MM_HINT_T0, _mm_prefetch, _mm512_add_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
};

/// Output rows per register block.
const ROWS: usize = 8;
/// Output columns per register block (two AVX-512 vectors).
const COLS: usize = 32;
/// How many rows of `B`'s panel ahead of the current one are prefetched.
const PREFETCH_ROWS: usize = 8;

/// Row offsets for [`Rows::At`], with their maximum found once (the bounds check of every
/// product reads it instead of scanning the table).
#[derive(Clone, Debug, Default)]
pub(crate) struct RowTable {
    starts: Vec<usize>,
    last: usize,
}

impl RowTable {
    /// The table of `starts`.
    pub(crate) fn new(starts: Vec<usize>) -> Self {
        RowTable { last: starts.iter().copied().max().unwrap_or(0), starts }
    }
}

/// Where the rows of an operand start in its slice.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rows<'a> {
    /// Row `i` starts at `i * stride`.
    Strided(usize),
    /// Row `i` starts at the table's entry `i`.
    At(&'a RowTable),
}

impl Rows<'_> {
    /// Where row `i` starts.
    #[inline(always)]
    fn start(self, i: usize) -> usize {
        match self {
            Rows::Strided(stride) => i * stride,
            Rows::At(table) => table.starts[i],
        }
    }

    /// A bound on the starts of the first `count` rows (`count` > 0); panics if a table is
    /// shorter than `count`.
    fn last_start(self, count: usize) -> usize {
        match self {
            Rows::Strided(stride) => (count - 1) * stride,
            Rows::At(table) => {
                assert!(table.starts.len() >= count, "a row table of {} for {count} rows", table.starts.len());
                table.last
            }
        }
    }
}

/// A read-only view of `A`: element `(i, p)` is `data[rows.start(i) + p * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct Lhs<'a> {
    pub data: &'a [f32],
    pub rows: Rows<'a>,
    pub col_stride: usize,
}

/// `B` with contiguous rows: element `(p, j)` is `data[rows.start(p) + j]`.
#[derive(Clone, Copy)]
pub(crate) struct Rhs<'a> {
    pub data: &'a [f32],
    pub rows: Rows<'a>,
}

impl<'a> Lhs<'a> {
    /// A row-major or transposed strided view: element `(i, p)` at `i * row_stride + p * col_stride`.
    pub(crate) fn strided(data: &'a [f32], row_stride: usize, col_stride: usize) -> Self {
        Lhs { data, rows: Rows::Strided(row_stride), col_stride }
    }
}

impl<'a> Rhs<'a> {
    /// Rows `row_stride` apart.
    pub(crate) fn strided(data: &'a [f32], row_stride: usize) -> Self {
        Rhs { data, rows: Rows::Strided(row_stride) }
    }
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
    assert!(a.data.len() > a.rows.last_start(m) + (k - 1) * a.col_stride, "A is too short for {m}x{k}");
    assert!(b.data.len() >= b.rows.last_start(k) + n, "B is too short for {k}x{n}");
    assert!(available(), "the packing-free kernel needs AVX-512F");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: AVX-512F is present (asserted), and the assertions above keep every element the
    // blocks address inside `a`, `b` and `c`.
    unsafe {
        match b.rows {
            Rows::Strided(stride) => gemm_avx512([m, n, k], a, b.data, Stride(stride), c, ldc, accumulate),
            Rows::At(table) => gemm_avx512([m, n, k], a, b.data, Table(table.starts.as_ptr()), c, ldc, accumulate),
        }
    }
}

/// Where row `p` of `B` starts, resolved at compile time per kind so the inner loop has no
/// branch.
trait RowStart: Copy {
    /// Whether the block prefetches rows ahead: worth it for rows pages apart, wasted issue
    /// slots for a table's rows, which sit close together in a small padded image.
    const PREFETCH: bool;

    /// Offset of row `p`.
    ///
    /// # Safety
    /// `p` must be a row of the operand (a table is read unchecked).
    unsafe fn at(self, p: usize) -> usize;
}

/// Rows a fixed stride apart.
#[derive(Clone, Copy)]
struct Stride(usize);

/// Rows at the offsets of a table.
#[derive(Clone, Copy)]
struct Table(*const usize);

impl RowStart for Stride {
    const PREFETCH: bool = true;
    #[inline(always)]
    unsafe fn at(self, p: usize) -> usize {
        p * self.0
    }
}

impl RowStart for Table {
    const PREFETCH: bool = false;
    #[inline(always)]
    unsafe fn at(self, p: usize) -> usize {
        // SAFETY: the caller passes a row of the table.
        unsafe { *self.0.add(p) }
    }
}

/// Walks `C` in 8 x 32 blocks; ragged right edges are masked, ragged bottom edges go through
/// shorter blocks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gemm_avx512<B: RowStart>(
    [m, n, k]: [usize; 3],
    a: Lhs<'_>,
    b: &[f32],
    b_rows: B,
    c: &mut [f32],
    ldc: usize,
    accumulate: bool,
) {
    let mut j0 = 0;
    while j0 < n {
        let width = COLS.min(n - j0);
        let mut i0 = 0;
        while i0 < m {
            // The tallest block that fits: fewer passes over B's panel for ragged row counts.
            let rows = [ROWS, 4, 2, 1].into_iter().find(|&r| i0 + r <= m).unwrap_or(1);
            let mut a_rows = [std::ptr::null::<f32>(); ROWS];
            for (r, row) in a_rows.iter_mut().enumerate().take(rows) {
                *row = a.data[a.rows.start(i0 + r)..].as_ptr();
            }
            let block_args = Block {
                a_rows,
                a_col_stride: a.col_stride,
                panel: b[j0..].as_ptr(),
                b_rows,
                k,
                c: c[i0 * ldc + j0..].as_mut_ptr(),
                ldc,
                width,
                accumulate,
            };
            // SAFETY: rows i0..i0+rows of A and C and columns j0..j0+width of B and C are in
            // bounds (checked by `gemm`).
            unsafe {
                match rows {
                    ROWS => block::<ROWS, B>(block_args),
                    4 => block::<4, B>(block_args),
                    2 => block::<2, B>(block_args),
                    _ => block::<1, B>(block_args),
                }
            }
            i0 += rows;
        }
        j0 += COLS;
    }
}

/// One register block's operands.
struct Block<B> {
    /// Where the block's rows of `A` start (the first `R` are used).
    a_rows: [*const f32; ROWS],
    a_col_stride: usize,
    /// `B` from the block's first column; row `p` starts at `b_rows.at(p)`.
    panel: *const f32,
    b_rows: B,
    k: usize,
    /// The block's top-left element of `C`, rows `ldc` apart.
    c: *mut f32,
    ldc: usize,
    /// Columns stored (at most [`COLS`]); the rest are masked off.
    width: usize,
    accumulate: bool,
}

/// Lane masks of the two vectors covering the first `width` columns.
#[inline(always)]
fn masks(width: usize) -> [u16; 2] {
    let lanes = |w: usize| if w >= 16 { u16::MAX } else { ((1u32 << w) - 1) as u16 };
    [lanes(width), lanes(width.saturating_sub(16))]
}

/// One `R x 32` block of `C`, of which the first `width` columns are loaded and stored.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn block<const R: usize, B: RowStart>(args: Block<B>) {
    let Block { a_rows, a_col_stride, panel, b_rows, k, c, ldc, width, accumulate } = args;
    let [lo, hi]: [__mmask16; 2] = masks(width);
    let mut acc: [[__m512; 2]; R] = [[_mm512_setzero_ps(); 2]; R];
    for p in 0..k {
        // SAFETY (whole block): the caller guarantees R rows of A, k rows of the panel and R
        // rows of `width` columns of C; masked-off lanes are never read or written.
        let row = unsafe { panel.add(b_rows.at(p)) };
        // Rows of a wide `B` sit pages apart, where the hardware prefetcher does not follow:
        // fetch a few rows ahead (a prefetch never faults, so past the end is harmless).
        if B::PREFETCH && p + PREFETCH_ROWS < k {
            let ahead = panel.wrapping_add(unsafe { b_rows.at(p + PREFETCH_ROWS) });
            _mm_prefetch::<_MM_HINT_T0>(ahead as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(16) as *const i8);
        }
        let (b0, b1) = unsafe { (_mm512_maskz_loadu_ps(lo, row), _mm512_maskz_loadu_ps(hi, row.wrapping_add(16))) };
        for (r, out) in acc.iter_mut().enumerate() {
            let scalar = _mm512_set1_ps(unsafe { *a_rows[r].add(p * a_col_stride) });
            out[0] = _mm512_fmadd_ps(scalar, b0, out[0]);
            out[1] = _mm512_fmadd_ps(scalar, b1, out[1]);
        }
    }
    for (r, out) in acc.iter().enumerate() {
        let dst = unsafe { c.add(r * ldc) };
        let dst_hi = dst.wrapping_add(16);
        unsafe {
            let (v0, v1) = if accumulate {
                (
                    _mm512_add_ps(out[0], _mm512_maskz_loadu_ps(lo, dst)),
                    _mm512_add_ps(out[1], _mm512_maskz_loadu_ps(hi, dst_hi)),
                )
            } else {
                (out[0], out[1])
            };
            _mm512_mask_storeu_ps(dst, lo, v0);
            _mm512_mask_storeu_ps(dst_hi, hi, v1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `A · B` in f64, both read through `at(i, p)` and `bt(p, j)`.
    fn reference(
        [m, n, k]: [usize; 3],
        at: impl Fn(usize, usize) -> f32,
        bt: impl Fn(usize, usize) -> f32,
    ) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| at(i, p) as f64 * bt(p, j) as f64).sum();
            }
        }
        c
    }

    /// Runs `gemm` accumulating onto ones and then overwriting, checking both against `want`.
    fn check(dims @ [m, n, k]: [usize; 3], lhs: Lhs<'_>, rhs: Rhs<'_>, want: &[f64], name: &str) {
        let mut c = vec![1.0f32; m * n];
        gemm(dims, lhs, rhs, &mut c, n, true);
        for (got, want) in c.iter().zip(want) {
            assert!((*got as f64 - (want + 1.0)).abs() < 1e-3, "{m}x{n}x{k} {name}: {got} vs {}", want + 1.0);
        }
        gemm(dims, lhs, rhs, &mut c, n, false);
        for (got, want) in c.iter().zip(want) {
            assert!((*got as f64 - want).abs() < 1e-3, "{m}x{n}x{k} {name}: {got} vs {want}");
        }
    }

    /// Whether this CPU runs the kernel. Where it has no AVX-512F the kernel must refuse before
    /// any AVX-512 instruction (its callers then take the gemm crate, which conformance checks
    /// on every CPU): that refusal is what a test checks there instead of the kernel's results.
    fn kernel_runs_here() -> bool {
        if available() {
            return true;
        }
        let refused = std::panic::catch_unwind(|| {
            let mut c = [0.0f32; 1];
            gemm([1, 1, 1], Lhs::strided(&[1.0], 1, 1), Rhs::strided(&[1.0], 1), &mut c, 1, false)
        });
        assert!(refused.is_err(), "the AVX-512 kernel ran on a CPU without AVX-512F");
        eprintln!("no AVX-512F: checked that the kernel refuses to run (callers use the gemm crate here)");
        false
    }

    #[test]
    fn matches_a_reference_on_ragged_and_strided_shapes() {
        if !kernel_runs_here() {
            return;
        }
        for (m, n, k) in [(1, 1, 1), (8, 32, 5), (9, 33, 17), (32, 1024, 144), (3, 70, 0), (20, 100, 7), (17, 5, 64)] {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0).collect();
            let ldb = n + 3;
            let b: Vec<f32> = (0..k * ldb).map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0).collect();
            // A read transposed: stored [k, m], element (i, p) at p * m + i.
            let at: Vec<f32> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
            let want = reference([m, n, k], |i, p| a[i * k + p], |p, j| b[p * ldb + j]);
            check([m, n, k], Lhs::strided(&a, k, 1), Rhs::strided(&b, ldb), &want, "row-major A");
            check([m, n, k], Lhs::strided(&at, 1, m), Rhs::strided(&b, ldb), &want, "transposed A");
        }
    }

    #[test]
    fn reads_rows_at_table_offsets() {
        if !kernel_runs_here() {
            return;
        }
        // Overlapping, out-of-order rows, as a convolution's taps read a padded image.
        let data: Vec<f32> = (0..400).map(|i| ((i * 3 % 17) as f32 - 8.0) / 8.0).collect();
        for (m, n, k) in [(9, 33, 11), (16, 7, 20), (3, 64, 2)] {
            let b_starts = RowTable::new((0..k).map(|p| (p * 37) % (400 - n)).collect());
            let a_starts = RowTable::new((0..m).map(|i| (i * 53) % (400 - k)).rev().collect());
            let want = reference([m, n, k], |i, p| data[a_starts.starts[i] + p], |p, j| data[b_starts.starts[p] + j]);
            let lhs = Lhs { data: &data, rows: Rows::At(&a_starts), col_stride: 1 };
            check([m, n, k], lhs, Rhs { data: &data, rows: Rows::At(&b_starts) }, &want, "tables");
        }
    }
}
