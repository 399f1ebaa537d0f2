//! Cases for the fused recurrent cells, against the LSTM equations written out in f64.
//!
//! Rows are the flattened leading axes; each row holds `4H` gate pre-activations, `H` cell
//! states, `2H` outputs or output gradients. The backward takes an arbitrary `state` (not the
//! forward's output), since it only reads `tanh(c')` from it.

use super::{Domain, Suite, View};
use crate::Composite;
use crate::conformance::formulas::{sigmoid, tanh};
use crate::conformance::reference::Ref;

pub(crate) fn run(s: &mut Suite) {
    for (lead, hidden) in [(&[1usize][..], 1usize), (&[3], 5), (&[20], 64), (&[2, 3], 4), (&[0], 4), (&[2], 0)] {
        for view in [View::Contiguous, View::Transposed, View::Narrowed, View::Flipped, View::Broadcast] {
            let dims = |width: usize| [lead, &[width]].concat();
            if !view.applies(&dims(4 * hidden)) {
                continue;
            }
            let case = format!("rows {lead:?} hidden {hidden} gates {view:?}");
            let (gates, gates_ref) = s.input(&dims(4 * hidden), view, Domain::Any);
            let (c, c_ref) = s.input(&dims(hidden), View::Contiguous, Domain::Any);
            let (state, state_ref) = s.input(&dims(2 * hidden), View::Contiguous, Domain::Any);
            // The output gradient is often a strided view (a slice of a larger gradient).
            let (grad, grad_ref) = s.input(&dims(2 * hidden), view_for_grad(view), Domain::Any);
            let (want, magnitude) = forward(&gates_ref, &c_ref, hidden);
            let got = gates.try_lstm_cell(&c);
            s.record(
                "lstm_cell",
                Some(Composite::LstmCell),
                case.clone(),
                Suite::compare(got, &want, Some(&magnitude)),
            );
            let (want, magnitude) = backward(&gates_ref, &c_ref, &state_ref, &grad_ref, hidden);
            let got = gates.try_lstm_cell_backward(&c, &state, &grad);
            s.record(
                "lstm_cell_backward",
                Some(Composite::LstmCellBackward),
                case,
                Suite::compare(got, &want, Some(&magnitude)),
            );
        }
    }
}

/// Transposing a `[.., 2H]` gradient needs rank 2; the other views apply as they are.
fn view_for_grad(view: View) -> View {
    if view == View::Transposed { View::Flipped } else { view }
}

/// The activations `σ(i), σ(f), tanh(g), σ(o)` of column `j` of gate row `r`.
fn gates_at(z: &Ref, r: usize, hidden: usize, j: usize) -> [f64; 4] {
    let at = |k: usize| z.data[r * 4 * hidden + k * hidden + j];
    [sigmoid(at(0)), sigmoid(at(1)), tanh(at(2)), sigmoid(at(3))]
}

/// An output of `blocks` blocks of `H` per row: `unit(r, j)` gives the (value, magnitude of
/// the terms behind it) of unit `j` of row `r` in each block.
fn per_unit<const BLOCKS: usize>(
    c: &Ref,
    hidden: usize,
    unit: impl Fn(usize, usize) -> [(f64, f64); BLOCKS],
) -> (Ref, Vec<f64>) {
    let rows = c.data.len() / hidden.max(1);
    let mut dims = c.dims.clone();
    *dims.last_mut().expect("rank >= 1") = BLOCKS * hidden;
    let mut out = vec![0.0; rows * BLOCKS * hidden];
    let mut magnitude = vec![0.0; rows * BLOCKS * hidden];
    for r in 0..rows {
        for j in 0..hidden {
            for (k, (value, scale)) in unit(r, j).into_iter().enumerate() {
                out[(r * BLOCKS + k) * hidden + j] = value;
                magnitude[(r * BLOCKS + k) * hidden + j] = scale;
            }
        }
    }
    (Ref { dims, data: out }, magnitude)
}

/// `[h' | c']` per row, and the magnitude of the terms behind each output.
fn forward(z: &Ref, c: &Ref, hidden: usize) -> (Ref, Vec<f64>) {
    per_unit(c, hidden, |r, j| {
        let [i, f, g, o] = gates_at(z, r, hidden, j);
        let c_prev = c.data[r * hidden + j];
        let c_new = f * c_prev + i * g;
        let c_scale = (f * c_prev).abs() + (i * g).abs();
        [(o * tanh(c_new), o * c_scale), (c_new, c_scale)]
    })
}

/// `[di | df | dg | do | dc]` per row, and the magnitude of the terms behind each output.
fn backward(z: &Ref, c: &Ref, state: &Ref, grad: &Ref, hidden: usize) -> (Ref, Vec<f64>) {
    per_unit(c, hidden, |r, j| {
        let [i, f, g, o] = gates_at(z, r, hidden, j);
        let c_prev = c.data[r * hidden + j];
        let tanh_c = tanh(state.data[r * 2 * hidden + hidden + j]);
        let (dh, dc_out) = (grad.data[r * 2 * hidden + j], grad.data[r * 2 * hidden + hidden + j]);
        let dc = dc_out + dh * o * (1.0 - tanh_c * tanh_c);
        let dc_scale = dc_out.abs() + (dh * o).abs() * (1.0 + tanh_c * tanh_c);
        [
            (dc * g * i * (1.0 - i), dc_scale * (g * i).abs()),
            (dc * c_prev * f * (1.0 - f), dc_scale * (c_prev * f).abs()),
            (dc * i * (1.0 - g * g), dc_scale * i * (1.0 + g * g)),
            (dh * tanh_c * o * (1.0 - o), (dh * tanh_c * o).abs()),
            (dc * f, dc_scale * f),
        ]
    })
}
