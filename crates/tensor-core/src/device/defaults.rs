//! Default bodies of the composite ops, written only with primitives.
//!
//! Each function takes the device as `&D` so a trait default can call it with `self`; a
//! backend that overrides a composite may still call these for shapes it does not handle.

use super::Device;
use crate::{ArgReduceOp, BinaryOp, HostBuffer, Layout, ReduceOp, Result, Shape, Storage, UnaryOp, View, Window2d};

/// The layout that broadcasts a keepdim reduction result back over `shape`.
fn broadcast_reduced(shape: &Shape, axis: usize) -> Layout {
    reduced_contiguous(shape, axis).broadcast_to(shape).expect("keepdim shape broadcasts")
}

/// Default [`Device::add_scaled`].
pub fn add_scaled<D: Device + ?Sized>(dev: &D, dst: View<'_>, alpha: f64, src: View<'_>) -> Result<()> {
    let contiguous = Layout::contiguous(dst.shape().clone());
    let scaled = dev.unary(UnaryOp::Affine { mul: alpha, add: 0.0 }, src)?;
    let sum = dev.binary(BinaryOp::Add, dst, scaled.view(&contiguous)?)?;
    dev.assign(dst, sum.view(&contiguous)?)
}

/// Default [`Device::concat`].
pub fn concat<D: Device + ?Sized>(dev: &D, parts: &[View<'_>], axis: usize) -> Result<Storage> {
    let first = parts[0];
    let mut dims = first.dims().to_vec();
    dims[axis] = parts.iter().map(|part| part.dims()[axis]).sum();
    let out_layout = Layout::contiguous(dims);
    let out = dev.full(first.dtype(), out_layout.numel(), 0.0)?;
    let mut start = 0;
    for part in parts {
        let len = part.dims()[axis];
        dev.assign(out.view(&out_layout.narrow(axis, start, len)?)?, *part)?;
        start += len;
    }
    Ok(out)
}

/// `x - max(x)` along `axis`, contiguous.
fn shifted<D: Device + ?Sized>(dev: &D, x: View<'_>, axis: usize) -> Result<Storage> {
    let max = dev.reduce(ReduceOp::Max, x, &[axis])?;
    dev.binary(BinaryOp::Sub, x, max.view(&broadcast_reduced(x.shape(), axis))?)
}

/// Default [`Device::softmax`].
pub fn softmax<D: Device + ?Sized>(dev: &D, x: View<'_>, axis: usize) -> Result<Storage> {
    let contiguous = Layout::contiguous(x.shape().clone());
    let exp = dev.unary(UnaryOp::Exp, shifted(dev, x, axis)?.view(&contiguous)?)?;
    let sum = dev.reduce(ReduceOp::Sum, exp.view(&contiguous)?, &[axis])?;
    dev.binary(BinaryOp::Div, exp.view(&contiguous)?, sum.view(&broadcast_reduced(x.shape(), axis))?)
}

/// Default [`Device::log_softmax`].
pub fn log_softmax<D: Device + ?Sized>(dev: &D, x: View<'_>, axis: usize) -> Result<Storage> {
    let contiguous = Layout::contiguous(x.shape().clone());
    let shifted = shifted(dev, x, axis)?;
    let exp = dev.unary(UnaryOp::Exp, shifted.view(&contiguous)?)?;
    let sum = dev.reduce(ReduceOp::Sum, exp.view(&contiguous)?, &[axis])?;
    let log_sum = dev.unary(UnaryOp::Log, sum.view(&reduced_contiguous(x.shape(), axis))?)?;
    dev.binary(BinaryOp::Sub, shifted.view(&contiguous)?, log_sum.view(&broadcast_reduced(x.shape(), axis))?)
}

fn reduced_contiguous(shape: &Shape, axis: usize) -> Layout {
    let mut dims = shape.dims().to_vec();
    dims[axis] = 1;
    Layout::contiguous(dims)
}

/// A 1-D index of `n` entries viewed with the shape of `like` with `axis` of size `n`,
/// constant along every other axis (stride 0).
fn broadcast_index(like: &Shape, axis: usize, index: &Layout) -> Result<Layout> {
    let mut dims = like.dims().to_vec();
    dims[axis] = index.numel();
    let mut strides = vec![0isize; dims.len()];
    strides[axis] = index.strides()[0];
    Layout::from_parts(dims, strides, index.offset())
}

/// Default [`Device::index_select`].
pub fn index_select<D: Device + ?Sized>(dev: &D, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
    let index_layout = broadcast_index(x.shape(), axis, index.layout())?;
    dev.gather(x, axis, index.with_layout(&index_layout)?)
}

/// Default [`Device::index_add`].
pub fn index_add<D: Device + ?Sized>(
    dev: &D,
    dst: View<'_>,
    axis: usize,
    index: View<'_>,
    src: View<'_>,
) -> Result<Storage> {
    let index_layout = broadcast_index(src.shape(), axis, index.layout())?;
    dev.scatter_add(dst, axis, index.with_layout(&index_layout)?, src)
}

/// Geometry shared by the window defaults: input `[N, C, H, W]`, its padded plane size and
/// the output positions.
struct WindowPlan {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    padded: [usize; 2],
    out: [usize; 2],
}

impl WindowPlan {
    fn new(dims: &[usize], window: &Window2d, op: &'static str) -> Result<Self> {
        let (n, c, h, w) = (dims[0], dims[1], dims[2], dims[3]);
        let out = window.output_size(op, [h, w])?;
        let padded = [h + 2 * window.padding[0], w + 2 * window.padding[1]];
        Ok(WindowPlan { n, c, h, w, padded, out })
    }

    fn positions(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// For each `(tap, position)`, the flat index into the padded plane it reads.
    fn padded_taps(&self, window: &Window2d) -> Vec<i64> {
        let [pad_y, pad_x] = window.padding.map(|p| p as isize);
        self.taps(window, |y, x| ((y + pad_y) * self.padded[1] as isize + x + pad_x) as i64)
    }

    /// For each `(tap, position)`, the flat index into the unpadded plane (-1 in the padding).
    fn plane_taps(&self, window: &Window2d) -> Vec<i64> {
        let (h, w) = (self.h as isize, self.w as isize);
        self.taps(window, |y, x| if (0..h).contains(&y) && (0..w).contains(&x) { (y * w + x) as i64 } else { -1 })
    }

    fn taps(&self, window: &Window2d, at: impl Fn(isize, isize) -> i64) -> Vec<i64> {
        let mut table = Vec::with_capacity(window.taps() * self.positions());
        window.for_each_tap(self.out, |_, _, y, x| table.push(at(y, x)));
        table
    }

    /// Layout of the padded buffer `[N, C, Hp, Wp]` narrowed to the unpadded centre.
    fn centre(&self, window: &Window2d) -> Result<Layout> {
        Layout::contiguous([self.n, self.c, self.padded[0], self.padded[1]])
            .narrow(2, window.padding[0], self.h)?
            .narrow(3, window.padding[1], self.w)
    }

    /// A `[taps · L]` table viewed as `[N, C, taps · L]` (stride 0 over N and C).
    fn table_view(&self, entries: usize) -> Layout {
        Layout::from_parts([self.n, self.c, entries], vec![0, 0, 1], 0).expect("valid table view")
    }
}

/// Default [`Device::unfold`].
pub fn unfold<D: Device + ?Sized>(dev: &D, x: View<'_>, window: &Window2d, pad_value: f64) -> Result<Storage> {
    let plan = WindowPlan::new(x.dims(), window, "unfold")?;
    let plane = plan.padded[0] * plan.padded[1];
    let padded = dev.full(x.dtype(), plan.n * plan.c * plane, pad_value)?;
    dev.assign(padded.view(&plan.centre(window)?)?, x)?;
    let table = plan.padded_taps(window);
    let entries = table.len();
    let index = dev.upload(HostBuffer::I64(table))?;
    let padded_layout = Layout::contiguous([plan.n, plan.c, plane]);
    dev.gather(padded.view(&padded_layout)?, 2, index.view(&plan.table_view(entries))?)
}

/// Default [`Device::fold`].
pub fn fold<D: Device + ?Sized>(dev: &D, cols: View<'_>, window: &Window2d, output: [usize; 2]) -> Result<Storage> {
    let (n, ckk) = (cols.dims()[0], cols.dims()[1]);
    let c = ckk / window.taps();
    let plan = WindowPlan::new(&[n, c, output[0], output[1]], window, "fold")?;
    let plane = plan.padded[0] * plan.padded[1];
    let padded = dev.full(cols.dtype(), n * c * plane, 0.0)?;
    let table = plan.padded_taps(window);
    let entries = table.len();
    let index = dev.upload(HostBuffer::I64(table))?;
    let cols = dev.copy(cols)?;
    let cols_layout = Layout::contiguous([n, c, entries]);
    let padded_layout = Layout::contiguous([n, c, plane]);
    let summed = dev.scatter_add(
        padded.view(&padded_layout)?,
        2,
        index.view(&plan.table_view(entries))?,
        cols.view(&cols_layout)?,
    )?;
    dev.copy(summed.view(&plan.centre(window)?)?)
}

/// Unfolds and returns the columns, their layout `[N, C, taps, L]` and the window geometry.
fn windows<D: Device + ?Sized>(
    dev: &D,
    x: View<'_>,
    window: &Window2d,
    pad: f64,
) -> Result<(Storage, Layout, WindowPlan)> {
    let plan = WindowPlan::new(x.dims(), window, "pool2d")?;
    let cols = dev.unfold(x, window, pad)?;
    let cols_layout = Layout::contiguous([plan.n, plan.c, window.taps(), plan.positions()]);
    Ok((cols, cols_layout, plan))
}

/// Default [`Device::max_pool2d`].
pub fn max_pool2d<D: Device + ?Sized>(dev: &D, x: View<'_>, window: &Window2d) -> Result<(Storage, Storage)> {
    let (cols, cols_layout, plan) = windows(dev, x, window, f64::NEG_INFINITY)?;
    let cols = cols.view(&cols_layout)?;
    let best = dev.arg_reduce(ArgReduceOp::ArgMax, cols, 2)?;
    let best_layout = Layout::contiguous([plan.n, plan.c, 1, plan.positions()]);
    let best = best.view(&best_layout)?;
    let values = dev.gather(cols, 2, best)?;
    let table = dev.upload(HostBuffer::I64(plan.plane_taps(window)))?;
    let table_layout = Layout::from_parts(
        [plan.n, plan.c, window.taps(), plan.positions()],
        vec![0, 0, plan.positions() as isize, 1],
        0,
    )?;
    let indices = dev.gather(table.view(&table_layout)?, 2, best)?;
    Ok((values, indices))
}

/// Default [`Device::avg_pool2d`].
pub fn avg_pool2d<D: Device + ?Sized>(dev: &D, x: View<'_>, window: &Window2d) -> Result<Storage> {
    let (cols, cols_layout, plan) = windows(dev, x, window, 0.0)?;
    let sum = dev.reduce(ReduceOp::Sum, cols.view(&cols_layout)?, &[2])?;
    let scale = UnaryOp::Affine { mul: 1.0 / window.taps() as f64, add: 0.0 };
    dev.unary(scale, sum.view(&Layout::contiguous([plan.n, plan.c, 1, plan.positions()]))?)
}
