//! Default bodies of the composite ops, written only with primitives.
//!
//! Each function takes the device as `&D` so a trait default can call it with `self`; a
//! backend that overrides a composite may still call these for shapes it does not handle.

use super::Device;
use crate::{ArgReduceOp, BinaryOp, HostBuffer, Layout, ReduceOp, Result, Shape, Storage, UnaryOp, Window2d};

/// The layout that broadcasts a keepdim reduction result back over `shape`.
fn broadcast_reduced(shape: &Shape, axis: usize) -> Layout {
    reduced_contiguous(shape, axis).broadcast_to(shape).expect("keepdim shape broadcasts")
}

/// Default [`Device::add_scaled`].
pub fn add_scaled<D: Device + ?Sized>(
    dev: &D,
    dst: &Storage,
    dst_layout: &Layout,
    alpha: f64,
    src: &Storage,
    src_layout: &Layout,
) -> Result<()> {
    let contiguous = Layout::contiguous(dst_layout.shape().clone());
    let scaled = dev.unary(UnaryOp::Affine { mul: alpha, add: 0.0 }, src, src_layout)?;
    let sum = dev.binary(BinaryOp::Add, dst, dst_layout, &scaled, &contiguous)?;
    dev.assign(dst, dst_layout, &sum, &contiguous)
}

/// Default [`Device::concat`].
pub fn concat<D: Device + ?Sized>(dev: &D, parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
    let first = parts[0].1;
    let mut dims = first.dims().to_vec();
    dims[axis] = parts.iter().map(|(_, l)| l.dims()[axis]).sum();
    let out_layout = Layout::contiguous(dims);
    let out = dev.full(parts[0].0.dtype(), out_layout.numel(), 0.0)?;
    let mut start = 0;
    for (storage, layout) in parts {
        let len = layout.dims()[axis];
        dev.assign(&out, &out_layout.narrow(axis, start, len)?, storage, layout)?;
        start += len;
    }
    Ok(out)
}

/// `x - max(x)` along `axis`, contiguous.
fn shifted<D: Device + ?Sized>(dev: &D, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
    let max = dev.reduce(ReduceOp::Max, x, layout, &[axis])?;
    dev.binary(BinaryOp::Sub, x, layout, &max, &broadcast_reduced(layout.shape(), axis))
}

/// Default [`Device::softmax`].
pub fn softmax<D: Device + ?Sized>(dev: &D, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
    let contiguous = Layout::contiguous(layout.shape().clone());
    let exp = dev.unary(UnaryOp::Exp, &shifted(dev, x, layout, axis)?, &contiguous)?;
    let sum = dev.reduce(ReduceOp::Sum, &exp, &contiguous, &[axis])?;
    dev.binary(BinaryOp::Div, &exp, &contiguous, &sum, &broadcast_reduced(layout.shape(), axis))
}

/// Default [`Device::log_softmax`].
pub fn log_softmax<D: Device + ?Sized>(dev: &D, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
    let contiguous = Layout::contiguous(layout.shape().clone());
    let shifted = shifted(dev, x, layout, axis)?;
    let exp = dev.unary(UnaryOp::Exp, &shifted, &contiguous)?;
    let sum = dev.reduce(ReduceOp::Sum, &exp, &contiguous, &[axis])?;
    let log_sum = dev.unary(UnaryOp::Log, &sum, &reduced_contiguous(layout.shape(), axis))?;
    dev.binary(BinaryOp::Sub, &shifted, &contiguous, &log_sum, &broadcast_reduced(layout.shape(), axis))
}

fn reduced_contiguous(shape: &Shape, axis: usize) -> Layout {
    let mut dims = shape.dims().to_vec();
    dims[axis] = 1;
    Layout::contiguous(dims)
}

/// A 1-D index of `n` entries viewed with the shape of `like` with `axis` of size `n`,
/// constant along every other axis (stride 0).
fn broadcast_index(like: &Shape, axis: usize, index_layout: &Layout) -> Layout {
    let mut dims = like.dims().to_vec();
    dims[axis] = index_layout.numel();
    let mut strides = vec![0isize; dims.len()];
    strides[axis] = index_layout.strides()[0];
    Layout::from_parts(dims, strides, index_layout.offset()).expect("valid broadcast index")
}

/// Default [`Device::index_select`].
pub fn index_select<D: Device + ?Sized>(
    dev: &D,
    x: &Storage,
    layout: &Layout,
    axis: usize,
    index: &Storage,
    index_layout: &Layout,
) -> Result<Storage> {
    dev.gather(x, layout, axis, index, &broadcast_index(layout.shape(), axis, index_layout))
}

/// Default [`Device::index_add`].
pub fn index_add<D: Device + ?Sized>(
    dev: &D,
    dst: &Storage,
    dst_layout: &Layout,
    axis: usize,
    index: &Storage,
    index_layout: &Layout,
    src: &Storage,
    src_layout: &Layout,
) -> Result<Storage> {
    let index_view = broadcast_index(src_layout.shape(), axis, index_layout);
    dev.scatter_add(dst, dst_layout, axis, index, &index_view, src, src_layout)
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
pub fn unfold<D: Device + ?Sized>(
    dev: &D,
    x: &Storage,
    layout: &Layout,
    window: &Window2d,
    pad_value: f64,
) -> Result<Storage> {
    let plan = WindowPlan::new(layout.dims(), window, "unfold")?;
    let plane = plan.padded[0] * plan.padded[1];
    let padded = dev.full(x.dtype(), plan.n * plan.c * plane, pad_value)?;
    dev.assign(&padded, &plan.centre(window)?, x, layout)?;
    let table = plan.padded_taps(window);
    let entries = table.len();
    let index = dev.upload(HostBuffer::I64(table))?;
    let padded_layout = Layout::contiguous([plan.n, plan.c, plane]);
    dev.gather(&padded, &padded_layout, 2, &index, &plan.table_view(entries))
}

/// Default [`Device::fold`].
pub fn fold<D: Device + ?Sized>(
    dev: &D,
    cols: &Storage,
    layout: &Layout,
    window: &Window2d,
    output: [usize; 2],
) -> Result<Storage> {
    let (n, ckk) = (layout.dims()[0], layout.dims()[1]);
    let c = ckk / window.taps();
    let plan = WindowPlan::new(&[n, c, output[0], output[1]], window, "fold")?;
    let plane = plan.padded[0] * plan.padded[1];
    let padded = dev.full(cols.dtype(), n * c * plane, 0.0)?;
    let table = plan.padded_taps(window);
    let entries = table.len();
    let index = dev.upload(HostBuffer::I64(table))?;
    let cols = dev.copy(cols, layout)?;
    let cols_layout = Layout::contiguous([n, c, entries]);
    let padded_layout = Layout::contiguous([n, c, plane]);
    let summed = dev.scatter_add(&padded, &padded_layout, 2, &index, &plan.table_view(entries), &cols, &cols_layout)?;
    dev.copy(&summed, &plan.centre(window)?)
}

/// Unfolds and returns the columns viewed as `[N, C, taps, L]`.
fn windows<D: Device + ?Sized>(
    dev: &D,
    x: &Storage,
    layout: &Layout,
    window: &Window2d,
    pad: f64,
) -> Result<(Storage, Layout, WindowPlan)> {
    let plan = WindowPlan::new(layout.dims(), window, "pool2d")?;
    let cols = dev.unfold(x, layout, window, pad)?;
    let cols_layout = Layout::contiguous([plan.n, plan.c, window.taps(), plan.positions()]);
    Ok((cols, cols_layout, plan))
}

/// Default [`Device::max_pool2d`].
pub fn max_pool2d<D: Device + ?Sized>(
    dev: &D,
    x: &Storage,
    layout: &Layout,
    window: &Window2d,
) -> Result<(Storage, Storage)> {
    let (cols, cols_layout, plan) = windows(dev, x, layout, window, f64::NEG_INFINITY)?;
    let best = dev.arg_reduce(ArgReduceOp::ArgMax, &cols, &cols_layout, 2)?;
    let best_layout = Layout::contiguous([plan.n, plan.c, 1, plan.positions()]);
    let values = dev.gather(&cols, &cols_layout, 2, &best, &best_layout)?;
    let table = dev.upload(HostBuffer::I64(plan.plane_taps(window)))?;
    let table_layout = Layout::from_parts(
        [plan.n, plan.c, window.taps(), plan.positions()],
        vec![0, 0, plan.positions() as isize, 1],
        0,
    )?;
    let indices = dev.gather(&table, &table_layout, 2, &best, &best_layout)?;
    Ok((values, indices))
}

/// Default [`Device::avg_pool2d`].
pub fn avg_pool2d<D: Device + ?Sized>(dev: &D, x: &Storage, layout: &Layout, window: &Window2d) -> Result<Storage> {
    let (cols, cols_layout, plan) = windows(dev, x, layout, window, 0.0)?;
    let sum = dev.reduce(ReduceOp::Sum, &cols, &cols_layout, &[2])?;
    let scale = UnaryOp::Affine { mul: 1.0 / window.taps() as f64, add: 0.0 };
    dev.unary(scale, &sum, &Layout::contiguous([plan.n, plan.c, 1, plan.positions()]))
}
