//! What the attention kernels need of a float: arithmetic, a vectorisable `exp`, and a
//! product of small row-major tiles.

use gemm::Parallelism;
use tensor_core::HostBuffer;

use crate::matmul::{GemmElement, Matrix, gemm_raw};
use crate::simd::FastExp;

/// Rows of queries per block.
pub(super) const QUERY_BLOCK: usize = 64;
/// Keys per tile.
pub(super) const KEY_TILE: usize = 64;

/// A float the attention kernels run in.
pub(super) trait AttnFloat: GemmElement + FastExp + std::ops::AddAssign + std::ops::MulAssign {
    /// The elements of a buffer of this type.
    fn slice(buffer: &HostBuffer) -> Option<&[Self]>;
    /// A buffer of these elements.
    fn buffer(values: Vec<Self>) -> HostBuffer;

    /// `C (+)= A · B` for `[m, n, k]` = `dims`: `A`'s element `(i, p)` at
    /// `a[i · a_rows + p · a_cols]`, `B`'s `(p, j)` at `b[p · ldb + j]`, `C`'s `(i, j)` at
    /// `c[i · ldc + j]`. Panics when a slice is too short for its dimensions.
    fn product(
        dims: [usize; 3],
        a: (&[Self], usize, usize),
        b: (&[Self], usize),
        c: (&mut [Self], usize),
        accumulate: bool,
    );
}

/// Checks that the tiles of [`AttnFloat::product`] hold their dimensions, and zeroes `C` for an
/// empty inner axis; `false` when there is nothing left to multiply.
fn checked<F: AttnFloat>(
    [m, n, k]: [usize; 3],
    (a, a_rows, a_cols): (&[F], usize, usize),
    (b, ldb): (&[F], usize),
    (c, ldc): (&mut [F], usize),
    accumulate: bool,
) -> bool {
    if m == 0 || n == 0 {
        return false;
    }
    assert!(c.len() >= (m - 1) * ldc + n, "C is {} long for {m}x{n} at stride {ldc}", c.len());
    if k == 0 {
        if !accumulate {
            c.chunks_mut(ldc.max(1)).take(m).for_each(|row| row[..n].fill(F::ZERO));
        }
        return false;
    }
    assert!(a.len() > (m - 1) * a_rows + (k - 1) * a_cols, "A is too short for {m}x{k}");
    assert!(b.len() >= (k - 1) * ldb + n, "B is too short for {k}x{n}");
    true
}

/// The `gemm` crate's product on one thread (every element type, every CPU).
fn gemm_crate<F: AttnFloat>(
    dims: [usize; 3],
    (a, a_rows, a_cols): (&[F], usize, usize),
    (b, ldb): (&[F], usize),
    (c, ldc): (&mut [F], usize),
    accumulate: bool,
) {
    let lhs = Matrix { ptr: a.as_ptr(), row_stride: a_rows as isize, col_stride: a_cols as isize };
    let rhs = Matrix { ptr: b.as_ptr(), row_stride: ldb as isize, col_stride: 1 };
    // SAFETY: `checked` asserted that every element these strides address for an [m, k] A, a
    // [k, n] B and an [m, n] C lies inside the slices; C is borrowed mutably, so it does not
    // overlap A or B.
    unsafe { gemm_raw(dims, c.as_mut_ptr(), ldc as isize, accumulate, lhs, rhs, Parallelism::None) };
}

impl AttnFloat for f32 {
    fn slice(buffer: &HostBuffer) -> Option<&[Self]> {
        if let HostBuffer::F32(values) = buffer { Some(values) } else { None }
    }
    fn buffer(values: Vec<Self>) -> HostBuffer {
        HostBuffer::F32(values)
    }
    fn product(
        dims: [usize; 3],
        a: (&[Self], usize, usize),
        b: (&[Self], usize),
        c: (&mut [Self], usize),
        accumulate: bool,
    ) {
        if !checked(dims, a, b, (&mut *c.0, c.1), accumulate) {
            return;
        }
        if crate::small_gemm::available() {
            let lhs = crate::small_gemm::Lhs::strided(a.0, a.1, a.2);
            crate::small_gemm::gemm(dims, lhs, crate::small_gemm::Rhs::strided(b.0, b.1), c.0, c.1, accumulate);
        } else {
            gemm_crate(dims, a, b, c, accumulate);
        }
    }
}

impl AttnFloat for f64 {
    fn slice(buffer: &HostBuffer) -> Option<&[Self]> {
        if let HostBuffer::F64(values) = buffer { Some(values) } else { None }
    }
    fn buffer(values: Vec<Self>) -> HostBuffer {
        HostBuffer::F64(values)
    }
    fn product(
        dims: [usize; 3],
        a: (&[Self], usize, usize),
        b: (&[Self], usize),
        c: (&mut [Self], usize),
        accumulate: bool,
    ) {
        if checked(dims, a, b, (&mut *c.0, c.1), accumulate) {
            gemm_crate(dims, a, b, c, accumulate);
        }
    }
}

/// Scales the first `valid` scores of a row and turns them into `e^(s - shift)`, zeroing the
/// rest of the row; returns their sum. `shift` is finite.
#[inline(always)]
pub(super) fn exp_row<F: AttnFloat>(row: &mut [F], valid: usize, scale: F, shift: F) -> F {
    const LANES: usize = 16;
    let (seen, unseen) = row.split_at_mut(valid);
    // Independent partial sums, so the loop vectorises.
    let mut partial = [F::ZERO; LANES];
    let mut chunks = seen.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (x, sum) in chunk.iter_mut().zip(&mut partial) {
            *x = (*x * scale - shift).fast_exp();
            *sum += *x;
        }
    }
    let mut sum = F::ZERO;
    for x in chunks.into_remainder() {
        *x = (*x * scale - shift).fast_exp();
        sum += *x;
    }
    for p in partial {
        sum += p;
    }
    unseen.fill(F::ZERO);
    sum
}

/// The largest of the first `valid` scores of a row, times `scale` (`scale > 0` or not).
#[inline(always)]
pub(super) fn row_max<F: AttnFloat>(row: &[F], scale: F) -> F {
    const LANES: usize = 16;
    // A maximum per lane, so the loop vectorises; then the lanes' maximum.
    let mut best = [F::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            let s = chunk[lane] * scale;
            best[lane] = if s > best[lane] { s } else { best[lane] };
        }
    }
    for (lane, &x) in tail.iter().enumerate() {
        let s = x * scale;
        best[lane] = if s > best[lane] { s } else { best[lane] };
    }
    best.into_iter().fold(F::NEG_INFINITY, |max, x| if x > max { x } else { max })
}
