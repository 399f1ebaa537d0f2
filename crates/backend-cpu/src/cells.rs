//! The fused LSTM step: one pass over each row reads the four gate blocks and the cell state
//! and writes `h'` and `c'` (forward), or recomputes the activations and writes all five
//! gradients (backward), instead of a dozen separate elementwise ops with a buffer each.
//!
//! f32 uses the branch-free [`crate::fast_math`] sigmoid and tanh so the row loops vectorise;
//! on x86-64 they are compiled a second time for AVX-512 and chosen at run time.

use rayon::prelude::*;
use tensor_core::{HostBuffer, Result, Storage, View};

use crate::elementwise::parallel;
use crate::simd::multiversioned;
use crate::storage::{contiguous, cpu, floats_only, wrap};

/// A float the cell runs in: arithmetic plus the two activations.
trait CellFloat:
    Copy + Send + Sync + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> + std::ops::Mul<Output = Self>
{
    const ONE: Self;
    fn sigmoid(self) -> Self;
    fn tanh(self) -> Self;
}

impl CellFloat for f32 {
    const ONE: Self = 1.0;
    #[inline(always)]
    fn sigmoid(self) -> Self {
        crate::fast_math::sigmoid(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        crate::fast_math::tanh(self)
    }
}

impl CellFloat for f64 {
    const ONE: Self = 1.0;
    #[inline(always)]
    fn sigmoid(self) -> Self {
        1.0 / (1.0 + (-self).exp())
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
}

/// One row forward: `out = [h' | c']` from gates `z` (`4H`) and `c` (`H`).
#[inline(always)]
fn forward_row<F: CellFloat>(z: &[F], c: &[F], out: &mut [F]) {
    let hidden = c.len();
    let (zi, rest) = z.split_at(hidden);
    let (zf, rest) = rest.split_at(hidden);
    let (zg, zo) = rest.split_at(hidden);
    let (h_out, c_out) = out.split_at_mut(hidden);
    let inputs = zi.iter().zip(zf).zip(zg).zip(zo).zip(c);
    for (((((&i, &f), &g), &o), &c), (h_new, c_new)) in inputs.zip(h_out.iter_mut().zip(c_out)) {
        let cell = f.sigmoid() * c + i.sigmoid() * g.tanh();
        *c_new = cell;
        *h_new = o.sigmoid() * cell.tanh();
    }
}

/// One row backward: `out = [di | df | dg | do | dc]` from gates `z` (`4H`), `c` (`H`), the
/// step's output `state` = `[h' | c']` and its gradient `grad` = `[dh | dc']`.
#[inline(always)]
fn backward_row<F: CellFloat>(z: &[F], c: &[F], state: &[F], grad: &[F], out: &mut [F]) {
    let hidden = c.len();
    let one = F::ONE;
    let (zi, rest) = z.split_at(hidden);
    let (zf, rest) = rest.split_at(hidden);
    let (zg, zo) = rest.split_at(hidden);
    let (dh, dc_out) = grad.split_at(hidden);
    let cell = &state[hidden..];
    let (di, rest) = out.split_at_mut(hidden);
    let (df, rest) = rest.split_at_mut(hidden);
    let (dg, rest) = rest.split_at_mut(hidden);
    let (d_o, dc_prev) = rest.split_at_mut(hidden);
    let inputs = zi.iter().zip(zf).zip(zg).zip(zo).zip(c).zip(cell).zip(dh).zip(dc_out);
    let outputs = di.iter_mut().zip(df.iter_mut()).zip(dg.iter_mut()).zip(d_o.iter_mut()).zip(dc_prev.iter_mut());
    for ((((((((&zi, &zf), &zg), &zo), &c), &cell), &dh), &dc_out), ((((di, df), dg), d_o), dc_prev)) in
        inputs.zip(outputs)
    {
        let (i, f, g, o) = (zi.sigmoid(), zf.sigmoid(), zg.tanh(), zo.sigmoid());
        let tanh_c = cell.tanh();
        // Through h' = o ⊙ tanh(c'), then c' = f ⊙ c + i ⊙ g.
        let dc = dc_out + dh * o * (one - tanh_c * tanh_c);
        *di = dc * g * (i * (one - i));
        *df = dc * c * (f * (one - f));
        *dg = dc * i * (one - g * g);
        *d_o = dh * tanh_c * (o * (one - o));
        *dc_prev = dc * f;
    }
}

/// Runs `row(r, out_row)` for every row, across threads when the cell is large.
fn for_rows<F: CellFloat>(out: &mut [F], width: usize, row: impl Fn(usize, &mut [F]) + Sync) {
    if out.is_empty() {
        return; // no rows, or zero hidden units
    }
    if parallel(out.len()) {
        out.par_chunks_mut(width).enumerate().for_each(|(r, o)| row(r, o));
    } else {
        out.chunks_mut(width).enumerate().for_each(|(r, o)| row(r, o));
    }
}

multiversioned!(
    /// Every row forward: `out` = `[rows, 2H]`.
    forward_rows,
    forward_rows_avx512,
    <F: CellFloat>,
    (z: &[F], c: &[F], out: &mut [F], hidden: usize),
    {
        for_rows(out, 2 * hidden, |r, o| {
            forward_row(&z[r * 4 * hidden..][..4 * hidden], &c[r * hidden..][..hidden], o)
        });
    }
);

multiversioned!(
    /// Every row backward: `out` = `[rows, 5H]`.
    backward_rows,
    backward_rows_avx512,
    <F: CellFloat>,
    (z: &[F], c: &[F], state: &[F], grad: &[F], out: &mut [F], hidden: usize),
    {
        for_rows(out, 5 * hidden, |r, o| {
            let (row2, row4) = (&state[r * 2 * hidden..][..2 * hidden], &z[r * 4 * hidden..][..4 * hidden]);
            backward_row(row4, &c[r * hidden..][..hidden], row2, &grad[r * 2 * hidden..][..2 * hidden], o)
        });
    }
);

/// The elements of a view as one contiguous f32 or f64 slice.
macro_rules! slices {
    ($variant:ident, $($buffer:expr, $layout:expr),+) => {
        ($(match &*$buffer { HostBuffer::$variant(data) => contiguous(data, $layout), _ => unreachable!("checked dtype") }),+)
    };
}

/// Native [`tensor_core::Device::lstm_cell`].
pub(crate) fn lstm_cell(z: View<'_>, c: View<'_>) -> Result<Storage> {
    let (z, zl, c, cl) = (z.storage(), z.layout(), c.storage(), c.layout());
    let hidden = cl.dims()[cl.rank() - 1];
    let (zb, cb) = (cpu(z).read(), cpu(c).read());
    Ok(wrap(match &*zb {
        HostBuffer::F32(_) => {
            let (zs, cs) = slices!(F32, zb, zl, cb, cl);
            let mut out = vec![0.0f32; 2 * cs.len()];
            forward_rows(&zs, &cs, &mut out, hidden);
            HostBuffer::F32(out)
        }
        HostBuffer::F64(_) => {
            let (zs, cs) = slices!(F64, zb, zl, cb, cl);
            let mut out = vec![0.0f64; 2 * cs.len()];
            forward_rows(&zs, &cs, &mut out, hidden);
            HostBuffer::F64(out)
        }
        other => return Err(floats_only("lstm_cell", other)),
    }))
}

/// Native [`tensor_core::Device::lstm_cell_backward`].
pub(crate) fn lstm_cell_backward(z: View<'_>, c: View<'_>, state: View<'_>, grad: View<'_>) -> Result<Storage> {
    let (z, zl, c, cl) = (z.storage(), z.layout(), c.storage(), c.layout());
    let (state, sl, grad, gl) = (state.storage(), state.layout(), grad.storage(), grad.layout());
    let hidden = cl.dims()[cl.rank() - 1];
    let (zb, cb, sb, gb) = (cpu(z).read(), cpu(c).read(), cpu(state).read(), cpu(grad).read());
    Ok(wrap(match &*zb {
        HostBuffer::F32(_) => {
            let (zs, cs, ss, gs) = slices!(F32, zb, zl, cb, cl, sb, sl, gb, gl);
            let mut out = vec![0.0f32; 5 * cs.len()];
            backward_rows(&zs, &cs, &ss, &gs, &mut out, hidden);
            HostBuffer::F32(out)
        }
        HostBuffer::F64(_) => {
            let (zs, cs, ss, gs) = slices!(F64, zb, zl, cb, cl, sb, sl, gb, gl);
            let mut out = vec![0.0f64; 5 * cs.len()];
            backward_rows(&zs, &cs, &ss, &gs, &mut out, hidden);
            HostBuffer::F64(out)
        }
        other => return Err(floats_only("lstm_cell_backward", other)),
    }))
}
