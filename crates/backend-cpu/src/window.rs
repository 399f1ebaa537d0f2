//! Sliding-window ops on `[N, C, H, W]`: im2col, col2im and pooling, one plane per task.

use rayon::prelude::*;
use tensor_core::{Float, HostBuffer, Layout, Result, Storage, View, Window2d};

use crate::storage::{contiguous, cpu, floats_only, wrap};

/// Input plane size, output size and the number of (n, c) planes.
pub(crate) struct Plan {
    planes: usize,
    input: [usize; 2],
    out: [usize; 2],
}

impl Plan {
    /// The plan of one sample's planes for a convolution's geometry.
    pub(crate) fn for_conv(plan: &tensor_core::ConvPlan) -> Self {
        Plan { planes: plan.in_channels(), input: plan.input, out: plan.output }
    }

    fn new(dims: [usize; 4], window: &Window2d, op: &'static str) -> Result<Self> {
        let out = window.output_size(op, [dims[2], dims[3]])?;
        Ok(Plan { planes: dims[0] * dims[1], input: [dims[2], dims[3]], out })
    }

    fn plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn positions(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// Calls `visit(tap, position, input_index)` for every tap inside the input.
    fn for_each_tap(&self, window: &Window2d, mut visit: impl FnMut(usize, usize, usize)) {
        let (h, w) = (self.input[0] as isize, self.input[1] as isize);
        window.for_each_tap(self.out, |tap, pos, y, x| {
            if (0..h).contains(&y) && (0..w).contains(&x) {
                visit(tap, pos, (y * w + x) as usize);
            }
        });
    }
}

fn dims4(layout: &Layout) -> [usize; 4] {
    let d = layout.dims();
    [d[0], d[1], d[2], d[3]]
}

/// For kernel tap `k` on one axis: the output positions `lo..hi` whose tap lands inside an
/// input of length `len`, and the input coordinate read by position `lo`.
#[inline(always)]
fn valid_span(window: &Window2d, axis: usize, k: usize, len: usize, out: usize) -> (usize, usize, usize) {
    let (s, offset) = (window.stride[axis], k * window.dilation[axis]);
    let pad = window.padding[axis];
    // First position with o·s + offset >= pad, last with o·s + offset < pad + len.
    let lo = pad.saturating_sub(offset).div_ceil(s).min(out);
    let hi = if pad + len > offset { ((pad + len - offset - 1) / s + 1).min(out) } else { 0 };
    let hi = hi.max(lo);
    (lo, hi, (lo * s + offset).saturating_sub(pad))
}

/// Calls `visit(tap, out_row_start, in_row_start, run)` for every run of output positions of
/// one output row whose taps fall inside the input: the run reads `run` inputs spaced by the
/// horizontal stride, starting at `in_row_start` of the input plane, and writes
/// `out_row_start..+run` of the tap's block. Padding positions are never visited.
#[inline(always)]
fn for_each_run(plan: &Plan, window: &Window2d, mut visit: impl FnMut(usize, usize, usize, usize)) {
    let ([h, w], [oh, ow]) = (plan.input, plan.out);
    for ky in 0..window.kernel[0] {
        let (y_lo, y_hi, y_first) = valid_span(window, 0, ky, h, oh);
        for kx in 0..window.kernel[1] {
            let tap = ky * window.kernel[1] + kx;
            let (x_lo, x_hi, x_first) = valid_span(window, 1, kx, w, ow);
            if x_hi == x_lo {
                continue;
            }
            for oy in y_lo..y_hi {
                let y = y_first + (oy - y_lo) * window.stride[0];
                visit(tap, oy * ow + x_lo, y * w + x_first, x_hi - x_lo);
            }
        }
    }
}

fn unfold_t<F: Float>(x: &[F], layout: &Layout, window: &Window2d, pad: f64) -> Result<Vec<F>> {
    let plan = Plan::new(dims4(layout), window, "unfold")?;
    let input = contiguous(x, layout);
    let positions = plan.positions();
    let block = window.taps() * positions;
    let mut out = vec![F::from_f64(pad); plan.planes * block];
    if block == 0 || plan.plane() == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(block)
        .zip(input.par_chunks(plan.plane()))
        .for_each(|(cols, plane)| unfold_plane(plane, cols, positions, &plan, window));
    Ok(out)
}

/// im2col of one input plane into its `[taps, positions]` block, whose rows start `row_stride`
/// apart; padding entries are left as they are (the caller fills them).
pub(crate) fn unfold_plane<F: Float>(plane: &[F], cols: &mut [F], row_stride: usize, plan: &Plan, window: &Window2d) {
    let sx = window.stride[1];
    for_each_run(plan, window, |tap, at, from, run| {
        let dst = &mut cols[tap * row_stride + at..][..run];
        if sx == 1 {
            // A plain loop: runs are a row long, too short for a memcpy call to pay off.
            dst.iter_mut().zip(&plane[from..from + run]).for_each(|(d, &v)| *d = v);
        } else {
            dst.iter_mut().zip(plane[from..].iter().step_by(sx)).for_each(|(d, &v)| *d = v);
        }
    });
}

/// col2im of one `[taps, positions]` block (rows `row_stride` apart), added into its image
/// plane.
pub(crate) fn fold_plane<F: Float>(cols: &[F], image: &mut [F], row_stride: usize, plan: &Plan, window: &Window2d) {
    let sx = window.stride[1];
    for_each_run(plan, window, |tap, at, to, run| {
        let src = &cols[tap * row_stride + at..][..run];
        if sx == 1 {
            image[to..to + run].iter_mut().zip(src).for_each(|(d, &v)| *d = *d + v);
        } else {
            image[to..].iter_mut().step_by(sx).zip(src).for_each(|(d, &v)| *d = *d + v);
        }
    });
}

fn fold_t<F: Float>(cols: &[F], layout: &Layout, window: &Window2d, output: [usize; 2]) -> Result<Vec<F>> {
    let (n, ckk) = (layout.dims()[0], layout.dims()[1]);
    let plan = Plan::new([n, ckk / window.taps(), output[0], output[1]], window, "fold")?;
    let input = contiguous(cols, layout);
    let positions = plan.positions();
    let block = window.taps() * positions;
    let mut out = vec![F::ZERO; plan.planes * plan.plane()];
    if block == 0 || plan.plane() == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(plan.plane())
        .zip(input.par_chunks(block))
        .for_each(|(image, cols)| fold_plane(cols, image, positions, &plan, window));
    Ok(out)
}

fn max_pool_t<F: Float>(x: &[F], layout: &Layout, window: &Window2d) -> Result<(Vec<F>, Vec<i64>)> {
    let plan = Plan::new(dims4(layout), window, "max_pool2d")?;
    let input = contiguous(x, layout);
    let positions = plan.positions();
    let mut values = vec![F::NEG_INFINITY; plan.planes * positions];
    let mut indices = vec![-1i64; plan.planes * positions];
    if positions == 0 || plan.plane() == 0 {
        return Ok((values, indices));
    }
    values
        .par_chunks_mut(positions)
        .zip(indices.par_chunks_mut(positions))
        .zip(input.par_chunks(plan.plane()))
        .for_each(|((best, at_best), plane)| {
            // Taps are visited in kernel order per position, so ties keep the first tap.
            let mut seen = vec![false; positions];
            plan.for_each_tap(window, |_, pos, at| {
                let v = plane[at];
                if !seen[pos] || tensor_core::ArgReduceOp::ArgMax.better(v, best[pos]) {
                    seen[pos] = true;
                    best[pos] = v;
                    at_best[pos] = at as i64;
                }
            });
        });
    Ok((values, indices))
}

fn avg_pool_t<F: Float>(x: &[F], layout: &Layout, window: &Window2d) -> Result<Vec<F>> {
    let plan = Plan::new(dims4(layout), window, "avg_pool2d")?;
    let input = contiguous(x, layout);
    let positions = plan.positions();
    let mut out = vec![F::ZERO; plan.planes * positions];
    if positions == 0 || plan.plane() == 0 {
        return Ok(out);
    }
    let scale = F::from_f64(1.0 / window.taps() as f64);
    out.par_chunks_mut(positions).zip(input.par_chunks(plan.plane())).for_each(|(sums, plane)| {
        plan.for_each_tap(window, |_, pos, at| sums[pos] = sums[pos] + plane[at]);
        sums.iter_mut().for_each(|s| *s = *s * scale);
    });
    Ok(out)
}

pub(crate) fn unfold(x: View<'_>, window: &Window2d, pad: f64) -> Result<Storage> {
    let (x, layout) = (x.storage(), x.layout());
    let buffer = cpu(x).read();
    Ok(wrap(match &*buffer {
        HostBuffer::F32(v) => HostBuffer::F32(unfold_t(v, layout, window, pad)?),
        HostBuffer::F64(v) => HostBuffer::F64(unfold_t(v, layout, window, pad)?),
        other => return Err(floats_only("unfold", other)),
    }))
}

pub(crate) fn fold(cols: View<'_>, window: &Window2d, output: [usize; 2]) -> Result<Storage> {
    let (cols, layout) = (cols.storage(), cols.layout());
    let buffer = cpu(cols).read();
    Ok(wrap(match &*buffer {
        HostBuffer::F32(v) => HostBuffer::F32(fold_t(v, layout, window, output)?),
        HostBuffer::F64(v) => HostBuffer::F64(fold_t(v, layout, window, output)?),
        other => return Err(floats_only("fold", other)),
    }))
}

pub(crate) fn max_pool2d(x: View<'_>, window: &Window2d) -> Result<(Storage, Storage)> {
    let (x, layout) = (x.storage(), x.layout());
    let buffer = cpu(x).read();
    let (values, indices) = match &*buffer {
        HostBuffer::F32(v) => max_pool_t(v, layout, window).map(|(a, i)| (HostBuffer::F32(a), i))?,
        HostBuffer::F64(v) => max_pool_t(v, layout, window).map(|(a, i)| (HostBuffer::F64(a), i))?,
        other => return Err(floats_only("max_pool2d", other)),
    };
    Ok((wrap(values), wrap(HostBuffer::I64(indices))))
}

pub(crate) fn avg_pool2d(x: View<'_>, window: &Window2d) -> Result<Storage> {
    let (x, layout) = (x.storage(), x.layout());
    let buffer = cpu(x).read();
    Ok(wrap(match &*buffer {
        HostBuffer::F32(v) => HostBuffer::F32(avg_pool_t(v, layout, window)?),
        HostBuffer::F64(v) => HostBuffer::F64(avg_pool_t(v, layout, window)?),
        other => return Err(floats_only("avg_pool2d", other)),
    }))
}
