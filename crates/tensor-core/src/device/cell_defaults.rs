//! Default bodies of the recurrent-cell composites, written only with primitives.
//!
//! An LSTM step is a dozen elementwise ops on `[N, H]` blocks; these defaults run them one by
//! one (every backend gets a correct cell for free), and a backend may fuse them into one pass.

use super::Device;
use crate::{BinaryOp, Layout, Result, Storage, UnaryOp};

/// The four gate blocks (i, f, g, o) of an `[.., 4H]` layout and the `[.., H]` layout they
/// are computed into.
struct Blocks {
    axis: usize,
    hidden: usize,
    out: Layout,
}

impl Blocks {
    fn new(cell_layout: &Layout) -> Blocks {
        let axis = cell_layout.rank() - 1;
        let hidden = cell_layout.dims()[axis];
        Blocks { axis, hidden, out: Layout::contiguous(cell_layout.shape().clone()) }
    }

    /// Block `k` of width `hidden` along the last axis of `layout`.
    fn block(&self, layout: &Layout, k: usize) -> Result<Layout> {
        layout.narrow(self.axis, k * self.hidden, self.hidden)
    }
}

/// The gate activations `σ(i), σ(f), tanh(g), σ(o)` as contiguous `[.., H]` storages.
fn activations<D: Device + ?Sized>(dev: &D, z: &Storage, zl: &Layout, b: &Blocks) -> Result<[Storage; 4]> {
    Ok([
        dev.unary(UnaryOp::Sigmoid, z, &b.block(zl, 0)?)?,
        dev.unary(UnaryOp::Sigmoid, z, &b.block(zl, 1)?)?,
        dev.unary(UnaryOp::Tanh, z, &b.block(zl, 2)?)?,
        dev.unary(UnaryOp::Sigmoid, z, &b.block(zl, 3)?)?,
    ])
}

/// Default [`Device::lstm_cell`].
pub fn lstm_cell<D: Device + ?Sized>(
    dev: &D,
    (z, zl): (&Storage, &Layout),
    (c, cl): (&Storage, &Layout),
) -> Result<Storage> {
    let b = Blocks::new(cl);
    let h = &b.out;
    let [i, f, g, o] = activations(dev, z, zl, &b)?;
    let kept = dev.binary(BinaryOp::Mul, &f, h, c, cl)?;
    let written = dev.binary(BinaryOp::Mul, &i, h, &g, h)?;
    let c_new = dev.binary(BinaryOp::Add, &kept, h, &written, h)?;
    let tanh_c = dev.unary(UnaryOp::Tanh, &c_new, h)?;
    let h_new = dev.binary(BinaryOp::Mul, &o, h, &tanh_c, h)?;
    dev.concat(&[(&h_new, h), (&c_new, h)], b.axis)
}

/// Default [`Device::lstm_cell_backward`].
pub fn lstm_cell_backward<D: Device + ?Sized>(
    dev: &D,
    (z, zl): (&Storage, &Layout),
    (c, cl): (&Storage, &Layout),
    (state, sl): (&Storage, &Layout),
    (grad, gl): (&Storage, &Layout),
) -> Result<Storage> {
    let b = Blocks::new(cl);
    let h = &b.out;
    let mul = |x: &Storage, xl: &Layout, y: &Storage, yl: &Layout| dev.binary(BinaryOp::Mul, x, xl, y, yl);
    // 1 - x² (tanh's slope through its output) and x (1 - x) (the sigmoid's).
    let tanh_slope = |x: &Storage| dev.unary(UnaryOp::Affine { mul: -1.0, add: 1.0 }, &mul(x, h, x, h)?, h);
    let sigmoid_slope = |x: &Storage| mul(x, h, &dev.unary(UnaryOp::Affine { mul: -1.0, add: 1.0 }, x, h)?, h);
    let [i, f, g, o] = activations(dev, z, zl, &b)?;
    let tanh_c = dev.unary(UnaryOp::Tanh, state, &b.block(sl, 1)?)?;
    let (dh, dc_out) = (b.block(gl, 0)?, b.block(gl, 1)?);
    // Through h' = o ⊙ tanh(c'), then c' = f ⊙ c + i ⊙ g.
    let through_h = mul(&mul(grad, &dh, &o, h)?, h, &tanh_slope(&tanh_c)?, h)?;
    let dc = dev.binary(BinaryOp::Add, grad, &dc_out, &through_h, h)?;
    let di = mul(&mul(&dc, h, &g, h)?, h, &sigmoid_slope(&i)?, h)?;
    let df = mul(&mul(&dc, h, c, cl)?, h, &sigmoid_slope(&f)?, h)?;
    let dg = mul(&mul(&dc, h, &i, h)?, h, &tanh_slope(&g)?, h)?;
    let d_o = mul(&mul(grad, &dh, &tanh_c, h)?, h, &sigmoid_slope(&o)?, h)?;
    let dc_prev = mul(&dc, h, &f, h)?;
    dev.concat(&[(&di, h), (&df, h), (&dg, h), (&d_o, h), (&dc_prev, h)], b.axis)
}
