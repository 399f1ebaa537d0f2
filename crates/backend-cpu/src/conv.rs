//! Convolution one sample at a time. Stride-1 f32 convolutions wide enough to fill the
//! kernel's register blocks read the padded image directly ([`crate::direct_conv`]); the rest
//! build each sample's im2col block (C·kh·kw x OH·OW) in a per-thread buffer that stays in
//! cache and multiply it right away, instead of materialising the whole batch's columns (the
//! default body's memory traffic dominated its run time). Samples run in parallel; the weight
//! gradient sums per-thread partial products.

use rayon::prelude::*;
use tensor_core::{ConvPlan, ConvSpec, Float, HostBuffer, Layout, Result, Storage, TensorError, View};

use crate::direct_conv::Direct;
use crate::matmul::{GemmElement, Matrix, gemm_raw};
use crate::small_gemm;
use crate::storage::{contiguous, cpu, floats_only, wrap};
use crate::window::{Plan, fold_plane, unfold_plane};

/// Shapes of one convolution, per sample.
struct Sizes {
    plan: ConvPlan,
    /// Elements of one input sample, C·H·W.
    sample_in: usize,
    /// Elements of one output sample, O·L.
    sample_out: usize,
    /// Elements of one sample's columns, C·taps rows of [`Sizes::row_stride`].
    sample_cols: usize,
    /// Distance between rows of a sample's columns: the positions, padded when a row would
    /// be a multiple of 1 KiB (rows a power of two apart share L1 sets and evict each other
    /// while a product walks down a column panel).
    row_stride: usize,
}

impl Sizes {
    fn new(plan: ConvPlan) -> Self {
        let positions = plan.positions();
        let row_stride = if positions >= 256 && positions.is_multiple_of(256) { positions + 16 } else { positions };
        Sizes {
            plan,
            sample_in: plan.in_channels() * plan.input[0] * plan.input[1],
            sample_out: plan.out_channels() * positions,
            sample_cols: plan.in_channels() * plan.taps * row_stride,
            row_stride,
        }
    }

    /// Rows of one group's columns, its output rows, and the output positions.
    fn group_dims(&self) -> (usize, usize, usize) {
        (self.plan.group_rows(), self.plan.out_per_group, self.plan.positions())
    }
}

/// im2col of one sample into `cols`. Entries that read padding are never written: they sit at
/// the same places for every sample, so a buffer zeroed once serves a whole batch.
fn unfold_sample<F: Float>(x: &[F], cols: &mut [F], sizes: &Sizes, spec: &ConvSpec) {
    let planes = Plan::for_conv(&sizes.plan);
    let block = sizes.plan.taps * sizes.row_stride;
    let plane = sizes.plan.input[0] * sizes.plan.input[1];
    for (c, dst) in cols.chunks_mut(block).enumerate() {
        unfold_plane(&x[c * plane..][..plane], dst, sizes.row_stride, &planes, &spec.window);
    }
}

/// Element types the per-sample products run on: f32 through the packing-free kernel of
/// [`crate::small_gemm`], f64 through the `gemm` crate.
pub(crate) trait ConvElement: Float + GemmElement {
    /// `C[m, n] (+)= A[m, k] · B[k, n]` with `A` strided (`a_strides` = row, column), `B`
    /// row-major at row stride `ldb` and `C` the destination.
    fn product(dims: [usize; 3], a: &[Self], a_strides: [usize; 2], b: &[Self], ldb: usize, c: Dst<'_, Self>);
}

/// The destination of a per-sample product: row-major at row stride `ld`, overwritten or
/// accumulated into.
pub(crate) struct Dst<'a, F> {
    pub data: &'a mut [F],
    pub ld: usize,
    pub accumulate: bool,
}

impl ConvElement for f32 {
    fn product(dims: [usize; 3], a: &[f32], [rs, cs]: [usize; 2], b: &[f32], ldb: usize, dst: Dst<'_, f32>) {
        let Dst { data: c, ld: ldc, accumulate } = dst;
        small_gemm::gemm(
            dims,
            small_gemm::Lhs::strided(a, rs, cs),
            small_gemm::Rhs::strided(b, ldb),
            c,
            ldc,
            accumulate,
        );
    }
}

impl ConvElement for f64 {
    fn product(dims: [usize; 3], a: &[f64], [rs, cs]: [usize; 2], b: &[f64], ldb: usize, dst: Dst<'_, f64>) {
        let Dst { data: c, ld: ldc, accumulate } = dst;
        let [m, n, k] = dims;
        if m == 0 || n == 0 {
            return;
        }
        assert!(
            c.len() >= (m - 1) * ldc + n
                && (k == 0 || (a.len() > (m - 1) * rs + (k - 1) * cs && b.len() >= (k - 1) * ldb + n))
        );
        let lhs = Matrix { ptr: a.as_ptr(), row_stride: rs as isize, col_stride: cs as isize };
        let rhs = Matrix { ptr: b.as_ptr(), row_stride: ldb as isize, col_stride: 1 };
        // SAFETY: the assertion above keeps every addressed element inside `a`, `b` and `c`.
        unsafe { gemm_raw(dims, c.as_mut_ptr(), ldc as isize, accumulate, lhs, rhs, gemm::Parallelism::None) };
    }
}

/// The output, each channel's plane starting at its bias (the products then accumulate).
fn forward<F: ConvElement>(x: &[F], w: &[F], bias: Option<&[F]>, sizes: &Sizes, spec: &ConvSpec) -> Vec<F> {
    let (rows, out_rows, positions) = sizes.group_dims();
    let mut out = biased_output(&sizes.plan, bias);
    out.par_chunks_mut(sizes.sample_out.max(1)).zip(x.par_chunks(sizes.sample_in.max(1))).for_each_init(
        || vec![F::ZERO; sizes.sample_cols],
        |cols, (y, x)| {
            unfold_sample(x, cols, sizes, spec);
            for g in 0..sizes.plan.groups {
                // y[g] (out_rows x positions) (+)= W[g] (out_rows x rows) · cols[g] (rows x positions).
                F::product(
                    [out_rows, positions, rows],
                    &w[g * out_rows * rows..],
                    [rows, 1],
                    &cols[g * rows * sizes.row_stride..],
                    sizes.row_stride,
                    Dst { data: &mut y[g * out_rows * positions..], ld: positions, accumulate: bias.is_some() },
                );
            }
        },
    );
    out
}

/// The f32 forward: direct where [`Direct`] applies, im2col otherwise.
fn forward_f32(x: &[f32], w: &[f32], bias: Option<&[f32]>, sizes: &Sizes, spec: &ConvSpec) -> Vec<f32> {
    match Direct::new(&sizes.plan, spec) {
        Some(direct) => direct.forward(x, w, bias),
        None => forward(x, w, bias, sizes, spec),
    }
}

fn input_grad<F: ConvElement>(grad: &[F], w: &[F], sizes: &Sizes, spec: &ConvSpec) -> Vec<F> {
    let (rows, out_rows, positions) = sizes.group_dims();
    let planes = Plan::for_conv(&sizes.plan);
    let plane = sizes.plan.input[0] * sizes.plan.input[1];
    let (ld, block) = (sizes.row_stride, sizes.plan.taps * sizes.row_stride);
    let mut dx = vec![F::ZERO; sizes.plan.batch * sizes.sample_in];
    let out_channels = sizes.plan.out_channels();
    dx.par_chunks_mut(sizes.sample_in.max(1)).zip(grad.par_chunks(sizes.sample_out.max(1))).for_each_init(
        || {
            let padded_len = if ld == positions { 0 } else { out_channels * ld };
            (vec![F::ZERO; sizes.sample_cols], vec![F::ZERO; padded_len])
        },
        |(dcols, padded), (dx, g)| {
            // The output gradient's rows, copied `ld` apart like the columns' (see `row_stride`).
            let g = if ld == positions {
                g
            } else {
                for (dst, src) in padded.chunks_mut(ld).zip(g.chunks(positions)) {
                    dst[..positions].copy_from_slice(src);
                }
                &padded[..]
            };
            for grp in 0..sizes.plan.groups {
                // dcols[g] (rows x positions) = W[g]ᵀ (rows x out_rows) · grad[g] (out_rows x positions).
                F::product(
                    [rows, positions, out_rows],
                    &w[grp * out_rows * rows..],
                    [1, rows],
                    &g[grp * out_rows * ld..],
                    ld,
                    Dst { data: &mut dcols[grp * rows * ld..], ld, accumulate: false },
                );
            }
            for (c, image) in dx.chunks_mut(plane).enumerate() {
                fold_plane(&dcols[c * block..][..block], image, ld, &planes, &spec.window);
            }
        },
    );
    dx
}

/// Per-thread state of the weight gradient: dWᵀ per group (`rows x out_rows`), the sample's
/// columns, and its output gradient transposed (`positions x out_rows`).
struct WeightGradScratch<F> {
    dw_t: Vec<F>,
    cols: Vec<F>,
    grad_t: Vec<F>,
}

fn weight_grad<F: ConvElement>(x: &[F], grad: &[F], sizes: &Sizes, spec: &ConvSpec) -> Vec<F> {
    let (rows, out_rows, positions) = sizes.group_dims();
    let groups = sizes.plan.groups;
    let scratch = || WeightGradScratch {
        dw_t: vec![F::ZERO; groups * rows * out_rows],
        cols: vec![F::ZERO; sizes.sample_cols],
        grad_t: vec![F::ZERO; positions * out_rows],
    };
    let summed = x
        .par_chunks(sizes.sample_in.max(1))
        .zip(grad.par_chunks(sizes.sample_out.max(1)))
        .take(sizes.plan.batch)
        .fold(scratch, |mut s, (x, g)| {
            unfold_sample(x, &mut s.cols, sizes, spec);
            for grp in 0..groups {
                transpose_into(&g[grp * out_rows * positions..][..out_rows * positions], positions, &mut s.grad_t);
                // dWᵀ[g] (rows x out_rows) += cols[g] (rows x positions) · gradᵀ (positions x out_rows).
                F::product(
                    [rows, out_rows, positions],
                    &s.cols[grp * rows * sizes.row_stride..],
                    [sizes.row_stride, 1],
                    &s.grad_t,
                    out_rows,
                    Dst { data: &mut s.dw_t[grp * rows * out_rows..], ld: out_rows, accumulate: true },
                );
            }
            s
        })
        .reduce(scratch, |mut a, b| {
            a.dw_t.iter_mut().zip(&b.dw_t).for_each(|(a, &b)| *a = *a + b);
            a
        });
    untranspose_weight_grad(&summed.dw_t, &sizes.plan)
}

/// A zero output of `plan`, each channel's plane filled with its bias if there is one (the
/// products then accumulate onto it).
pub(crate) fn biased_output<F: Float>(plan: &ConvPlan, bias: Option<&[F]>) -> Vec<F> {
    let (positions, planes) = (plan.positions(), plan.batch * plan.out_channels());
    match bias {
        // Written once, not zeroed and then filled.
        Some(bias) if !bias.is_empty() => {
            let mut out = Vec::with_capacity(planes * positions);
            for &b in bias.iter().cycle().take(planes) {
                out.resize(out.len() + positions, b);
            }
            out
        }
        _ => vec![F::ZERO; planes * positions],
    }
}

/// `dst[l * rows + r] = src[r * cols + l]`: a row-major `rows x cols` matrix (rows = `src.len() /
/// cols`) transposed into `dst`, eight source rows at a time so each write is a short run.
pub(crate) fn transpose_into<F: Float>(src: &[F], cols: usize, dst: &mut [F]) {
    const BAND: usize = 8;
    if cols == 0 {
        return;
    }
    let rows = src.len() / cols;
    for (r0, band) in (0..rows).step_by(BAND).zip(src.chunks(BAND * cols)) {
        let height = band.len() / cols;
        for (l, out) in dst.chunks_mut(rows).take(cols).enumerate() {
            for (r, o) in out[r0..r0 + height].iter_mut().enumerate() {
                *o = band[r * cols + l];
            }
        }
    }
}

/// The weight gradient `[O, C/groups·taps]` from its per-group transposes `[rows, out_rows]`.
pub(crate) fn untranspose_weight_grad<F: Float>(dw_t: &[F], plan: &ConvPlan) -> Vec<F> {
    let (rows, out_rows) = (plan.group_rows(), plan.out_per_group);
    let mut dw = vec![F::ZERO; plan.groups * out_rows * rows];
    for grp in 0..plan.groups {
        for r in 0..rows {
            for o in 0..out_rows {
                dw[(grp * out_rows + o) * rows + r] = dw_t[(grp * rows + r) * out_rows + o];
            }
        }
    }
    dw
}

/// Runs `f` on two operands read as contiguous slices of one float type.
fn with_pair(
    op: &'static str,
    (a, la): (&Storage, &Layout),
    (b, lb): (&Storage, &Layout),
    f32_op: impl FnOnce(&[f32], &[f32]) -> Vec<f32>,
    f64_op: impl FnOnce(&[f64], &[f64]) -> Vec<f64>,
) -> Result<Storage> {
    let (ba, bb) = (cpu(a).read(), cpu(b).read());
    Ok(wrap(match (&*ba, &*bb) {
        (HostBuffer::F32(a), HostBuffer::F32(b)) => HostBuffer::F32(f32_op(&contiguous(a, la), &contiguous(b, lb))),
        (HostBuffer::F64(a), HostBuffer::F64(b)) => HostBuffer::F64(f64_op(&contiguous(a, la), &contiguous(b, lb))),
        (a, b) if a.dtype() != b.dtype() => {
            return Err(TensorError::DTypeMismatch { op, lhs: a.dtype(), rhs: b.dtype() });
        }
        (a, _) => return Err(floats_only(op, a)),
    }))
}

pub(crate) fn conv2d(x: View<'_>, w: View<'_>, bias: Option<View<'_>>, spec: &ConvSpec) -> Result<Storage> {
    let (x, lx, w, lw) = (x.storage(), x.layout(), w.storage(), w.layout());
    let bias = bias.map(|b| (b.storage(), b.layout()));
    let sizes = Sizes::new(spec.plan("conv2d", lx.shape(), lw.shape())?);
    if let Some((b, _)) = bias
        && b.dtype() != x.dtype()
    {
        return Err(TensorError::DTypeMismatch { op: "conv2d", lhs: x.dtype(), rhs: b.dtype() });
    }
    // Each arm below runs only the closure of the bias's dtype, which the check above made x's.
    let bias = bias.map(|(b, lb)| (cpu(b).read(), lb));
    match bias.as_ref().map(|(buffer, lb)| (&**buffer, *lb)) {
        None => with_pair(
            "conv2d",
            (x, lx),
            (w, lw),
            |x, w| forward_f32(x, w, None, &sizes, spec),
            |x, w| forward(x, w, None, &sizes, spec),
        ),
        Some((HostBuffer::F32(b), lb)) => {
            let b = contiguous(b, lb);
            with_pair("conv2d", (x, lx), (w, lw), |x, w| forward_f32(x, w, Some(&b), &sizes, spec), |_, _| Vec::new())
        }
        Some((HostBuffer::F64(b), lb)) => {
            let b = contiguous(b, lb);
            with_pair("conv2d", (x, lx), (w, lw), |_, _| Vec::new(), |x, w| forward(x, w, Some(&b), &sizes, spec))
        }
        Some((other, _)) => Err(floats_only("conv2d", other)),
    }
}

pub(crate) fn conv2d_input_grad(grad: View<'_>, w: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
    let (grad, lg, w, lw) = (grad.storage(), grad.layout(), w.storage(), w.layout());
    let sizes = Sizes::new(*plan);
    with_pair(
        "conv2d_input_grad",
        (grad, lg),
        (w, lw),
        |g, w| match Direct::new(plan, spec) {
            Some(direct) => direct.input_grad(g, w),
            None => input_grad(g, w, &sizes, spec),
        },
        |g, w| input_grad(g, w, &sizes, spec),
    )
}

pub(crate) fn conv2d_weight_grad(x: View<'_>, grad: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
    let (x, lx, grad, lg) = (x.storage(), x.layout(), grad.storage(), grad.layout());
    let sizes = Sizes::new(*plan);
    with_pair(
        "conv2d_weight_grad",
        (x, lx),
        (grad, lg),
        |x, g| match Direct::new(plan, spec) {
            Some(direct) => direct.weight_grad(x, g),
            None => weight_grad(x, g, &sizes, spec),
        },
        |x, g| weight_grad(x, g, &sizes, spec),
    )
}
