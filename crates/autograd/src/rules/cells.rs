//! Fused recurrent cells: one graph node per step instead of a dozen, running as one device op
//! forward ([`tensor_core::Tensor::try_lstm_cell`]) and one backward (checked by finite
//! differences like every other op).

use tensor_core::Result;

use crate::Var;

impl Var {
    /// An LSTM cell on pre-activations `gates` = `[N, 4H]` (blocks `i, f, g, o`, PyTorch's
    /// order) and the previous cell state `c` = `[N, H]`:
    /// `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h' = σ(o) ⊙ tanh(c')`. Returns `(h', c')`.
    pub fn lstm_cell(gates: &Var, c: &Var) -> Result<(Var, Var)> {
        let (z, c_prev) = (gates.value(), c.value());
        let hidden = c_prev.dims().last().copied().unwrap_or(0);
        let both = z.try_lstm_cell(&c_prev)?;
        let state = both.clone();
        let joined = Var::from_op(both, &[gates, c], move |grad| {
            let d = z.try_lstm_cell_backward(&c_prev, &state, grad)?;
            Ok(vec![Some(d.try_narrow(-1, 0, 4 * hidden)?), Some(d.try_narrow(-1, 4 * hidden, hidden)?)])
        });
        Ok((joined.narrow(-1, 0, hidden)?, joined.narrow(-1, hidden, hidden)?))
    }
}
