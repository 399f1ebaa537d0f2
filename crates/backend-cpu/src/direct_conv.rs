//! Stride-1 convolution in f32 without im2col ("implicit GEMM").
//!
//! With stride 1, row `(c, i, j)` of a sample's im2col matrix restricted to output row `h` is
//! a contiguous run of the zero-padded input: `xpad[c][h + i·dh][j·dw ..][.. OW]`. So the
//! products read their right operand straight out of one padded copy of the sample, each tap
//! at its own offset ([`Rows::At`]), instead of from columns built (and, for the input
//! gradient, folded back) per sample. The input gradient is the same kind of product over
//! the zero-padded output gradient: `dx[c, y, x] = Σ W[o, c, i, j] · dy[o, y + ph − i·dh,
//! x + pw − j·dw]`.
//!
//! It runs one output row per product, so narrow outputs would waste most of each 32-wide
//! register block; [`Direct::new`] turns those (and strided convolutions) down.

use rayon::prelude::*;
use tensor_core::{ConvPlan, ConvSpec};

use crate::conv::{biased_output, transpose_into, untranspose_weight_grad};
use crate::small_gemm::{self, Lhs, Rhs, RowTable, Rows};

/// Columns of the kernel's register block.
const BLOCK_COLS: usize = 32;
/// The least share of each register block's lanes an output row must fill for the direct path
/// to pay off against im2col.
const MIN_LANE_USE: f64 = 0.75;

/// A zero-padded copy of one sample's planes: `planes` planes of `rows x cols`, the data at
/// `offset` rows and columns in.
#[derive(Clone, Copy)]
struct Padded {
    rows: usize,
    cols: usize,
    offset: [usize; 2],
}

impl Padded {
    fn plane(&self) -> usize {
        self.rows * self.cols
    }

    /// Copies `planes` planes of `[height, width]` from `src` into `dst` (whose borders stay
    /// as they are: zero from its allocation).
    fn fill(&self, src: &[f32], [height, width]: [usize; 2], dst: &mut [f32]) {
        if height * width == 0 {
            return;
        }
        for (plane, dst) in src.chunks(height * width).zip(dst.chunks_mut(self.plane())) {
            for (y, row) in plane.chunks(width).enumerate() {
                dst[(self.offset[0] + y) * self.cols + self.offset[1]..][..width].copy_from_slice(row);
            }
        }
    }
}

/// A stride-1 f32 convolution's direct plan.
pub(crate) struct Direct {
    plan: ConvPlan,
    /// The input padded by the convolution's padding.
    input: Padded,
    /// Offset in [`Direct::input`] of each row `(c, i, j)` of one group's columns.
    input_taps: RowTable,
    /// The output gradient padded so that every tap of the input gradient reads inside it.
    grad: Padded,
    /// Offset in [`Direct::grad`] of each `(o, i, j)` the input gradient sums over.
    grad_taps: RowTable,
}

impl Direct {
    /// The direct plan, or `None` where im2col serves better or the kernel cannot run: strides
    /// above 1, outputs too narrow to fill the register blocks, empty shapes, no AVX-512F.
    pub(crate) fn new(plan: &ConvPlan, spec: &ConvSpec) -> Option<Self> {
        let window = &spec.window;
        let ([h, w], [oh, ow]) = (plan.input, plan.output);
        let lane_use = ow as f64 / (ow.div_ceil(BLOCK_COLS) * BLOCK_COLS) as f64;
        if window.stride != [1, 1] || lane_use < MIN_LANE_USE || h * w * oh * ow * plan.batch == 0 {
            return None;
        }
        if plan.in_per_group * plan.out_per_group == 0 || !small_gemm::available() {
            return None;
        }
        let ([kh, kw], [dh, dw], [ph, pw]) = (window.kernel, window.dilation, window.padding);
        let input = Padded { rows: h + 2 * ph, cols: w + 2 * pw, offset: [ph, pw] };
        // Taps reach up to (k − 1)·d − p before the output gradient's first row and column.
        let lead = [(dh * (kh - 1)).saturating_sub(ph), (dw * (kw - 1)).saturating_sub(pw)];
        let grad = Padded { rows: (h + ph).max(oh) + lead[0], cols: (w + pw).max(ow) + lead[1], offset: lead };
        let taps = |c: usize, plane: usize, at: &dyn Fn(usize, usize) -> usize| -> RowTable {
            let mut out = Vec::with_capacity(c * kh * kw);
            for c in 0..c {
                for i in 0..kh {
                    for j in 0..kw {
                        out.push(c * plane + at(i, j));
                    }
                }
            }
            RowTable::new(out)
        };
        let input_taps = taps(plan.in_per_group, input.plane(), &|i, j| i * dh * input.cols + j * dw);
        let grad_taps = taps(plan.out_per_group, grad.plane(), &|i, j| {
            (ph + lead[0] - i * dh) * grad.cols + (pw + lead[1] - j * dw)
        });
        Some(Direct { plan: *plan, input, input_taps, grad, grad_taps })
    }

    fn sample_in(&self) -> usize {
        self.plan.in_channels() * self.plan.input[0] * self.plan.input[1]
    }

    fn sample_out(&self) -> usize {
        self.plan.out_channels() * self.plan.positions()
    }

    /// The convolution of `x` with `w`, plus `bias` per output channel.
    pub(crate) fn forward(&self, x: &[f32], w: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let plan = &self.plan;
        let (rows, out_rows, positions) = (plan.group_rows(), plan.out_per_group, plan.positions());
        let [oh, ow] = plan.output;
        let group_in = plan.in_per_group * self.input.plane();
        let mut out = biased_output(plan, bias);
        out.par_chunks_mut(self.sample_out()).zip(x.par_chunks(self.sample_in())).for_each_init(
            || vec![0.0f32; plan.in_channels() * self.input.plane()],
            |padded, (y, x)| {
                self.input.fill(x, plan.input, padded);
                for g in 0..plan.groups {
                    let weight = Lhs::strided(&w[g * out_rows * rows..], rows, 1);
                    for row in 0..oh {
                        // y[g][:, row] (+)= W[g] (out_rows x rows) · taps of padded row `row`.
                        let taps = Rhs {
                            data: &padded[g * group_in + row * self.input.cols..],
                            rows: Rows::At(&self.input_taps),
                        };
                        let dst = &mut y[g * out_rows * positions + row * ow..];
                        small_gemm::gemm([out_rows, ow, rows], weight, taps, dst, positions, bias.is_some());
                    }
                }
            },
        );
        out
    }

    /// The gradient of the input from the output's, `grad`.
    pub(crate) fn input_grad(&self, grad: &[f32], w: &[f32]) -> Vec<f32> {
        let plan = &self.plan;
        let (taps, in_rows, out_rows) = (plan.taps, plan.in_per_group, plan.out_per_group);
        let [h, width] = plan.input;
        let group_grad = out_rows * self.grad.plane();
        // Per group, Wᵀ as [in_rows, out_rows·taps]: row c holds W[o, c, tap] for every (o, tap).
        let mut w_t = vec![0.0f32; w.len()];
        for g in 0..plan.groups {
            let (src, dst) = (&w[g * out_rows * in_rows * taps..], &mut w_t[g * in_rows * out_rows * taps..]);
            for o in 0..out_rows {
                for c in 0..in_rows {
                    dst[(c * out_rows + o) * taps..][..taps].copy_from_slice(&src[(o * in_rows + c) * taps..][..taps]);
                }
            }
        }
        let mut dx = vec![0.0f32; plan.batch * self.sample_in()];
        dx.par_chunks_mut(self.sample_in()).zip(grad.par_chunks(self.sample_out())).for_each_init(
            || vec![0.0f32; plan.out_channels() * self.grad.plane()],
            |padded, (dx, g)| {
                self.grad.fill(g, plan.output, padded);
                for grp in 0..plan.groups {
                    let weight = Lhs::strided(&w_t[grp * in_rows * out_rows * taps..], out_rows * taps, 1);
                    for y in 0..h {
                        let at = grp * group_grad + y * self.grad.cols;
                        let tap_rows = Rhs { data: &padded[at..], rows: Rows::At(&self.grad_taps) };
                        let dst = &mut dx[grp * in_rows * h * width + y * width..];
                        small_gemm::gemm([in_rows, width, out_rows * taps], weight, tap_rows, dst, h * width, false);
                    }
                }
            },
        );
        dx
    }

    /// The gradient of the weight from the input `x` and the output's gradient `grad`.
    pub(crate) fn weight_grad(&self, x: &[f32], grad: &[f32]) -> Vec<f32> {
        let plan = &self.plan;
        let (rows, out_rows, positions) = (plan.group_rows(), plan.out_per_group, plan.positions());
        let [oh, ow] = plan.output;
        let (groups, group_in) = (plan.groups, plan.in_per_group * self.input.plane());
        // Per thread: dWᵀ per group (rows x out_rows), the padded sample, its gradient transposed.
        let scratch = || {
            (
                vec![0.0f32; groups * rows * out_rows],
                vec![0.0f32; plan.in_channels() * self.input.plane()],
                vec![0.0f32; positions * out_rows],
            )
        };
        let dw_t = x
            .par_chunks(self.sample_in())
            .zip(grad.par_chunks(self.sample_out()))
            .fold(scratch, |(mut dw_t, mut padded, mut grad_t), (x, g)| {
                self.input.fill(x, plan.input, &mut padded);
                for grp in 0..groups {
                    transpose_into(&g[grp * out_rows * positions..][..out_rows * positions], positions, &mut grad_t);
                    for row in 0..oh {
                        // dWᵀ[g] (rows x out_rows) += taps of padded row `row` · gradᵀ of that row.
                        let at = grp * group_in + row * self.input.cols;
                        let taps = Lhs { data: &padded[at..], rows: Rows::At(&self.input_taps), col_stride: 1 };
                        let grad_rows = Rhs::strided(&grad_t[row * ow * out_rows..], out_rows);
                        let dst = &mut dw_t[grp * rows * out_rows..];
                        small_gemm::gemm([rows, out_rows, ow], taps, grad_rows, dst, out_rows, true);
                    }
                }
                (dw_t, padded, grad_t)
            })
            .map(|(dw_t, _, _)| dw_t)
            .reduce(
                || vec![0.0f32; groups * rows * out_rows],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, &b)| *a += b);
                    a
                },
            );
        untranspose_weight_grad(&dw_t, plan)
    }
}
