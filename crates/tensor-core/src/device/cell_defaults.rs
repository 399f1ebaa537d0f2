//! Default bodies of the recurrent-cell composites, written only with primitives.
//!
//! An LSTM step is a dozen elementwise ops on `[N, H]` blocks; these defaults run them one by
//! one (every backend gets a correct cell for free), and a backend may fuse them into one pass.

use super::Device;
use crate::{BinaryOp, Layout, Result, Storage, UnaryOp, View};

/// The four gate blocks (i, f, g, o) of an `[.., 4H]` view and the contiguous `[.., H]`
/// layout they are computed into.
struct Blocks {
    axis: usize,
    hidden: usize,
    out: Layout,
}

impl Blocks {
    fn new(cell: View<'_>) -> Blocks {
        let axis = cell.layout().rank() - 1;
        let hidden = cell.dims()[axis];
        Blocks { axis, hidden, out: Layout::contiguous(cell.shape().clone()) }
    }

    /// Block `k` of width `hidden` along the last axis of `layout`.
    fn block(&self, layout: &Layout, k: usize) -> Result<Layout> {
        layout.narrow(self.axis, k * self.hidden, self.hidden)
    }

    /// A fresh `[.., H]` storage seen through the block layout.
    fn view<'a>(&'a self, x: &'a Storage) -> Result<View<'a>> {
        x.view(&self.out)
    }
}

/// The gate activations `σ(i), σ(f), tanh(g), σ(o)` as contiguous `[.., H]` storages.
fn activations<D: Device + ?Sized>(dev: &D, z: View<'_>, b: &Blocks) -> Result<[Storage; 4]> {
    let gate = |op, k| dev.unary(op, z.with_layout(&b.block(z.layout(), k)?)?);
    Ok([gate(UnaryOp::Sigmoid, 0)?, gate(UnaryOp::Sigmoid, 1)?, gate(UnaryOp::Tanh, 2)?, gate(UnaryOp::Sigmoid, 3)?])
}

/// Default [`Device::lstm_cell`].
pub fn lstm_cell<D: Device + ?Sized>(dev: &D, z: View<'_>, c: View<'_>) -> Result<Storage> {
    let b = Blocks::new(c);
    let [i, f, g, o] = activations(dev, z, &b)?;
    let kept = dev.binary(BinaryOp::Mul, b.view(&f)?, c)?;
    let written = dev.binary(BinaryOp::Mul, b.view(&i)?, b.view(&g)?)?;
    let c_new = dev.binary(BinaryOp::Add, b.view(&kept)?, b.view(&written)?)?;
    let tanh_c = dev.unary(UnaryOp::Tanh, b.view(&c_new)?)?;
    let h_new = dev.binary(BinaryOp::Mul, b.view(&o)?, b.view(&tanh_c)?)?;
    dev.concat(&[b.view(&h_new)?, b.view(&c_new)?], b.axis)
}

/// Default [`Device::lstm_cell_backward`].
pub fn lstm_cell_backward<D: Device + ?Sized>(
    dev: &D,
    z: View<'_>,
    c: View<'_>,
    state: View<'_>,
    grad: View<'_>,
) -> Result<Storage> {
    let b = Blocks::new(c);
    let mul = |x: View<'_>, y: View<'_>| dev.binary(BinaryOp::Mul, x, y);
    let one_minus = |x: View<'_>| dev.unary(UnaryOp::Affine { mul: -1.0, add: 1.0 }, x);
    // 1 - x² (tanh's slope through its output) and x (1 - x) (the sigmoid's).
    let tanh_slope = |x: &Storage| one_minus(b.view(&mul(b.view(x)?, b.view(x)?)?)?);
    let sigmoid_slope = |x: &Storage| mul(b.view(x)?, b.view(&one_minus(b.view(x)?)?)?);
    let [i, f, g, o] = activations(dev, z, &b)?;
    let tanh_c = dev.unary(UnaryOp::Tanh, state.with_layout(&b.block(state.layout(), 1)?)?)?;
    let (dh_layout, dc_layout) = (b.block(grad.layout(), 0)?, b.block(grad.layout(), 1)?);
    let (dh, dc_out) = (grad.with_layout(&dh_layout)?, grad.with_layout(&dc_layout)?);
    // Through h' = o ⊙ tanh(c'), then c' = f ⊙ c + i ⊙ g.
    let through_h = mul(b.view(&mul(dh, b.view(&o)?)?)?, b.view(&tanh_slope(&tanh_c)?)?)?;
    let dc = dev.binary(BinaryOp::Add, dc_out, b.view(&through_h)?)?;
    let di = mul(b.view(&mul(b.view(&dc)?, b.view(&g)?)?)?, b.view(&sigmoid_slope(&i)?)?)?;
    let df = mul(b.view(&mul(b.view(&dc)?, c)?)?, b.view(&sigmoid_slope(&f)?)?)?;
    let dg = mul(b.view(&mul(b.view(&dc)?, b.view(&i)?)?)?, b.view(&tanh_slope(&g)?)?)?;
    let d_o = mul(b.view(&mul(dh, b.view(&tanh_c)?)?)?, b.view(&sigmoid_slope(&o)?)?)?;
    let dc_prev = mul(b.view(&dc)?, b.view(&f)?)?;
    let parts = [&di, &df, &dg, &d_o, &dc_prev].map(|s| b.view(s));
    let parts: Vec<View<'_>> = parts.into_iter().collect::<Result<_>>()?;
    dev.concat(&parts, b.axis)
}
