//! Batched matrix multiplication on the `gemm` crate's kernels.
//!
//! `gemm` picks its micro-kernel at run time from the CPU's features (AVX-512 when the
//! `x86-v4` feature is compiled in and the CPU has it, AVX2/FMA otherwise), and takes signed
//! row and column strides, so transposed and flipped views multiply without a copy.

use std::mem::MaybeUninit;

use gemm::Parallelism;
use rayon::prelude::*;
use tensor_core::{HostBuffer, Layout, Result, Storage, TensorError, View};

use crate::storage::{assert_fits, cpu, floats_only, wrap};

/// Below this many multiply-adds a product runs on one thread: handing smaller ones to the pool
/// cost more than it saved in the MLP training step (64x784x256 ran 2.3 ms on 2 threads vs
/// 1.6 ms with this threshold). From it on, `gemm` splits the product across the pool and its
/// threads share one packed copy of an operand. (Splitting large products into bands of rows
/// that each thread multiplied alone was a few percent faster at 2048³ while the operands lay
/// on 4 KiB pages; with them on 2 MiB pages ([`crate::HugePageAllocator`]) it ran, in
/// GFLOP/s over three alternating two-thread runs, bands / shared: 1024³ 207 / 209, 2048³
/// 203 / 213, 4096x1024x256 213 / 213.)
const PARALLEL_MIN_FLOPS: usize = 256 * 256 * 256;

/// Columns per panel of a right-hand matrix that many thin products reuse (the packing-free
/// kernel's register-block width; see [`tensor_core::Device::thin_product_panel_width`]).
pub(crate) const PANEL_WIDTH: usize = 32;

/// One matrix operand: its element offsets per batch entry and its row/column strides.
struct Operand {
    batch_offsets: Vec<usize>,
    row_stride: isize,
    col_stride: isize,
}

impl Operand {
    fn new(layout: &Layout) -> Self {
        let rank = layout.rank();
        let batch = Layout::from_parts(
            layout.dims()[..rank - 2].to_vec(),
            layout.strides()[..rank - 2].to_vec(),
            layout.offset(),
        )
        .expect("a prefix of a valid layout is valid");
        Operand {
            batch_offsets: batch.offsets().collect(),
            row_stride: layout.strides()[rank - 2],
            col_stride: layout.strides()[rank - 1],
        }
    }
}

/// A strided matrix operand: a pointer to its element (0, 0) and its strides in elements.
#[derive(Clone, Copy)]
pub(crate) struct Matrix<T> {
    pub ptr: *const T,
    pub row_stride: isize,
    pub col_stride: isize,
}

/// `dst = lhs · rhs` (or `dst += lhs · rhs` with `accumulate`) for `[m, n, k]` = `dims`, with
/// `dst` row-major at row stride `dst_row_stride`.
///
/// # Safety
/// Every element the strides address for an `[m, k]` lhs, a `[k, n]` rhs and an `[m, n]` dst
/// must lie inside live allocations, and `dst` must not overlap the operands.
pub(crate) unsafe fn gemm_raw<T: GemmElement>(
    [m, n, k]: [usize; 3],
    dst: *mut T,
    dst_row_stride: isize,
    accumulate: bool,
    lhs: Matrix<T>,
    rhs: Matrix<T>,
    parallelism: Parallelism,
) {
    // SAFETY: forwarded from the caller. `gemm` takes column strides before row strides.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_row_stride,
            accumulate,
            lhs.ptr,
            lhs.col_stride,
            lhs.row_stride,
            rhs.ptr,
            rhs.col_stride,
            rhs.row_stride,
            if accumulate { T::ONE } else { T::ZERO },
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Element types the `gemm` kernels multiply.
pub(crate) trait GemmElement: tensor_core::Float + Default {}

impl GemmElement for f32 {}

impl GemmElement for f64 {}

/// Products with a thin side (`m` or `k` at most this) and a row-contiguous right operand run
/// on the packing-free kernel: an LSTM step (batch 20 x hidden 256 x 4·256) packs more than it
/// multiplies in a general GEMM.
const THIN: usize = 32;

/// `out[b] = a[b] · b[b]` on [`crate::small_gemm`] when the shapes suit it (see [`THIN`]) and
/// the CPU has it; `None` otherwise.
fn thin_batched(a: &[f32], la: &Layout, b: &[f32], lb: &Layout) -> Option<Vec<f32>> {
    assert_fits(la, a.len());
    assert_fits(lb, b.len());
    let rank = la.rank();
    let (m, k, n) = (la.dims()[rank - 2], la.dims()[rank - 1], lb.dims()[rank - 1]);
    let (lhs, rhs) = (Operand::new(la), Operand::new(lb));
    let non_negative = lhs.row_stride >= 0 && lhs.col_stride >= 0 && rhs.row_stride >= 0;
    if !(m <= THIN || k <= THIN) || rhs.col_stride != 1 || !non_negative || !crate::small_gemm::available() {
        return None;
    }
    let mut out = vec![0.0f32; lhs.batch_offsets.len() * m * n];
    // With k = 0 the product is the zeros above, and an operand may be an empty view whose
    // offset lies past its (empty) buffer, which must not be sliced.
    if m == 0 || n == 0 || k == 0 {
        return Some(out);
    }
    let product = |(dst, (&ao, &bo)): (&mut [f32], (&usize, &usize))| {
        let lhs_view = crate::small_gemm::Lhs::strided(&a[ao..], lhs.row_stride as usize, lhs.col_stride as usize);
        let rhs_view = crate::small_gemm::Rhs::strided(&b[bo..], rhs.row_stride as usize);
        crate::small_gemm::gemm([m, n, k], lhs_view, rhs_view, dst, n, false);
    };
    let pairs: Vec<(&usize, &usize)> = lhs.batch_offsets.iter().zip(&rhs.batch_offsets).collect();
    if rayon::current_num_threads() > 1 && pairs.len() > 1 {
        out.par_chunks_mut(m * n).zip(pairs).for_each(product);
    } else {
        out.chunks_mut(m * n).zip(pairs).for_each(product);
    }
    Some(out)
}

/// `out[b] = a[b] · b[b]` for every batch entry `b`.
fn batched<T: GemmElement>(a: &[T], la: &Layout, b: &[T], lb: &Layout) -> Vec<T> {
    assert_fits(la, a.len());
    assert_fits(lb, b.len());
    let rank = la.rank();
    let (m, k, n) = (la.dims()[rank - 2], la.dims()[rank - 1], lb.dims()[rank - 1]);
    let (lhs, rhs) = (Operand::new(la), Operand::new(lb));
    let batches = lhs.batch_offsets.len();
    let len = batches * m * n;
    if m == 0 || n == 0 || k == 0 {
        return vec![T::ZERO; len];
    }
    // `gemm` writes every element of a product it does not accumulate into (its every path
    // stores before it reads), so the result starts uninitialised rather than zeroed by a pass
    // of its own (a memset that took 0.7 % of a 1024³ product's time).
    let mut out: Vec<T> = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    let flops = m * n * k;
    let threads = rayon::current_num_threads();
    // Multiplies one batch entry into `dst`.
    let one = |dst: &mut [MaybeUninit<T>], (&ao, &bo): (&usize, &usize), parallelism: Parallelism| {
        // SAFETY: `dst` holds m·n elements, all written before any is read, with row stride n;
        // the operand pointers and strides come from layouts asserted above to fit `a` and `b`,
        // so every (row, col) they address lies inside them.
        unsafe {
            let lhs_view = Matrix { ptr: a.as_ptr().add(ao), row_stride: lhs.row_stride, col_stride: lhs.col_stride };
            let rhs_view = Matrix { ptr: b.as_ptr().add(bo), row_stride: rhs.row_stride, col_stride: rhs.col_stride };
            gemm_raw([m, n, k], dst.as_mut_ptr().cast(), n as isize, false, lhs_view, rhs_view, parallelism);
        }
    };
    let pairs: Vec<(&usize, &usize)> = lhs.batch_offsets.iter().zip(&rhs.batch_offsets).collect();
    if threads > 1 && batches >= threads && flops < PARALLEL_MIN_FLOPS * 8 {
        // Many small products: one per thread at a time.
        spare.par_chunks_mut(m * n).zip(pairs).for_each(|(dst, pair)| one(dst, pair, Parallelism::None));
    } else {
        let parallelism =
            if threads > 1 && flops >= PARALLEL_MIN_FLOPS { Parallelism::Rayon(threads) } else { Parallelism::None };
        for (dst, pair) in spare.chunks_mut(m * n).zip(pairs) {
            one(dst, pair, parallelism);
        }
    }
    // SAFETY: the products above wrote all `len` elements.
    unsafe { out.set_len(len) };
    out
}

pub(crate) fn matmul(lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
    let (ll, rl) = (lhs.layout(), rhs.layout());
    let (a, b) = (cpu(lhs.storage()).read(), cpu(rhs.storage()).read());
    Ok(wrap(match (&*a, &*b) {
        (HostBuffer::F32(a), HostBuffer::F32(b)) => {
            HostBuffer::F32(thin_batched(a, ll, b, rl).unwrap_or_else(|| batched(a, ll, b, rl)))
        }
        (HostBuffer::F64(a), HostBuffer::F64(b)) => HostBuffer::F64(batched(a, ll, b, rl)),
        (a, b) if a.dtype() != b.dtype() => {
            return Err(TensorError::DTypeMismatch { op: "matmul", lhs: a.dtype(), rhs: b.dtype() });
        }
        (a, _) => {
            return Err(floats_only("matmul", a));
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The result starts uninitialised, so a product must write every element before reading
    /// any: each path (per-entry threads, `gemm`'s own threads, one thread) runs
    /// right after a result-sized block of NaNs is freed, which the allocator likely hands back.
    #[test]
    fn every_path_writes_its_whole_result() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            for [batches, m, k, n] in [[1, 64, 48, 40], [4, 80, 70, 90], [1, 300, 200, 300], [1, 1100, 1000, 1000]] {
                // Small integers: every sum is exact in f64, so the check can be exact too.
                let a: Vec<f64> = (0..batches * m * k).map(|i| ((i * 37) % 11) as f64 - 5.0).collect();
                let b: Vec<f64> = (0..batches * k * n).map(|i| ((i * 53) % 7) as f64 - 3.0).collect();
                let (la, lb) = (Layout::contiguous([batches, m, k]), Layout::contiguous([batches, k, n]));
                drop(vec![f64::NAN; batches * m * n]);
                let out = pool.install(|| batched(&a, &la, &b, &lb));
                for (e, entry) in out.chunks(m * n).enumerate() {
                    for (i, row) in entry.chunks(n).enumerate().step_by(7) {
                        for (j, &got) in row.iter().enumerate() {
                            let want: f64 = (0..k).map(|p| a[(e * m + i) * k + p] * b[(e * k + p) * n + j]).sum();
                            assert_eq!(
                                got, want,
                                "[{batches}, {m}, {k}] x [{k}, {n}] on {threads} threads at ({e}, {i}, {j})"
                            );
                        }
                    }
                }
            }
        }
    }

    /// An empty operand may be a view whose offset lies past its empty buffer (a flipped
    /// `[.., 0, n]`); with k = 0 the product is zeros, read from neither operand.
    #[test]
    fn empty_inner_axis_with_an_offset_gives_zeros() {
        let (a, b) = (Vec::<f32>::new(), Vec::<f32>::new());
        let la = Layout::from_parts([2, 3, 0], vec![0, 0, 1], 3).unwrap();
        let lb = Layout::contiguous([2, 0, 4]);
        // The packing-free path runs where the CPU has AVX-512 (None elsewhere).
        if let Some(out) = thin_batched(&a, &la, &b, &lb) {
            assert_eq!(out, vec![0.0; 24]);
        }
        assert_eq!(batched(&a, &la, &b, &lb), vec![0.0; 24]);
    }
}
