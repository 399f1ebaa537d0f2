//! One direction of one recurrent layer, step by step.

use autograd::Var;
use tensor_core::{Result, Tensor};

use super::DirectionWeights;
use crate::Param;

/// The recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnTanh,
    /// `h' = relu(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnRelu,
    /// Gated recurrent unit, gates `r, z, n`:
    /// `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 - z) ⊙ n + z ⊙ h`.
    Gru,
    /// Long short-term memory, gates `i, f, g, o`: `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')`.
    Lstm,
}

impl CellKind {
    /// Gate blocks in the stacked weights.
    pub fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        }
    }
}

/// Settings of one direction's pass.
pub(super) struct Run<'a> {
    pub kind: CellKind,
    pub hidden: usize,
    /// Per-step `[N, 1]` masks for padded batches.
    pub masks: Option<&'a [Tensor]>,
    /// Walk the steps from last to first.
    pub reverse: bool,
}

impl Run<'_> {
    /// Runs the direction over `input` `[T, N, F]`; returns its outputs `[T, N, hidden]` and
    /// the final hidden (and cell) state.
    pub fn direction(
        &self,
        input: &Var,
        w: &DirectionWeights,
        h0: Var,
        c0: Option<Var>,
    ) -> Result<(Var, Var, Option<Var>)> {
        let steps = input.dims()[0];
        // All steps' input projections in one product: [T, N, gates · hidden].
        let projected = input.linear(&w.weight_ih.var(), w.bias_ih.as_ref().map(Param::var).as_ref())?;
        let (weight_hh, bias_hh) = (w.weight_hh.var(), w.bias_hh.as_ref().map(Param::var));
        // W_hh is laid out transposed once for all steps, and its gradient formed once.
        let shared = autograd::SharedWeight::new(&weight_hh)?;
        let (mut h, mut c) = (h0, c0);
        let mut outputs: Vec<Option<Var>> = vec![None; steps];
        let order: Vec<usize> = if self.reverse { (0..steps).rev().collect() } else { (0..steps).collect() };
        for t in order {
            let x_t = projected.narrow(0, t, 1)?.squeeze(0)?;
            let recurrent = shared.apply(&h, bias_hh.as_ref())?;
            let (h_new, c_new) = self.cell(&x_t, &recurrent, &h, c.as_ref())?;
            match self.masks {
                Some(masks) => {
                    let m = Var::constant(masks[t].clone());
                    // Padding keeps the previous state and outputs zeros.
                    outputs[t] = Some(h_new.mul(&m)?);
                    h = h.add(&h_new.sub(&h)?.mul(&m)?)?;
                    c = match (c, c_new) {
                        (Some(c_old), Some(c_next)) => Some(c_old.add(&c_next.sub(&c_old)?.mul(&m)?)?),
                        (_, c_next) => c_next,
                    };
                }
                None => {
                    outputs[t] = Some(h_new.clone());
                    h = h_new;
                    c = c_new;
                }
            }
        }
        let stacked: Vec<Var> = outputs.into_iter().flatten().map(|o| o.unsqueeze(0)).collect::<Result<_>>()?;
        let output = Var::cat(&stacked.iter().collect::<Vec<_>>(), 0)?;
        Ok((output, h, c))
    }

    /// One step: `x` and `r` are the input and recurrent projections `[N, gates · hidden]`.
    #[allow(clippy::expect_used, reason = "an invariant, not input: an LSTM carries a cell state")]
    fn cell(&self, x: &Var, r: &Var, h: &Var, c: Option<&Var>) -> Result<(Var, Option<Var>)> {
        let hid = self.hidden;
        let gate = |v: &Var, k: usize| v.narrow(1, k * hid, hid);
        Ok(match self.kind {
            CellKind::RnnTanh => (x.add(r)?.tanh()?, None),
            CellKind::RnnRelu => (x.add(r)?.relu()?, None),
            CellKind::Gru => {
                let reset = gate(x, 0)?.add(&gate(r, 0)?)?.sigmoid()?;
                let update = gate(x, 1)?.add(&gate(r, 1)?)?.sigmoid()?;
                let candidate = gate(x, 2)?.add(&reset.mul(&gate(r, 2)?)?)?.tanh()?;
                // (1 - z) ⊙ n + z ⊙ h = n + z ⊙ (h - n)
                (candidate.add(&update.mul(&h.sub(&candidate)?)?)?, None)
            }
            CellKind::Lstm => {
                let (h, c) = Var::lstm_cell(&x.add(r)?, c.expect("an LSTM carries a cell state"))?;
                (h, Some(c))
            }
        })
    }
}
