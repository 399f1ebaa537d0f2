//! Fused recurrent cells: one graph node per step instead of a dozen, with the gradient written
//! out by hand (and checked by finite differences like every other op).

use tensor_core::{Result, Tensor, UnaryOp};

use crate::Var;

/// `1 - x²` (the derivative of tanh through its output).
fn one_minus_square(x: &Tensor) -> Result<Tensor> {
    x.try_square()?.try_unary(UnaryOp::Affine { mul: -1.0, add: 1.0 })
}

/// `x (1 - x)` (the derivative of the sigmoid through its output).
fn sigmoid_slope(x: &Tensor) -> Result<Tensor> {
    x.try_mul(&x.try_unary(UnaryOp::Affine { mul: -1.0, add: 1.0 })?)
}

impl Var {
    /// An LSTM cell on pre-activations `gates` = `[N, 4H]` (blocks `i, f, g, o`, PyTorch's
    /// order) and the previous cell state `c` = `[N, H]`:
    /// `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h' = σ(o) ⊙ tanh(c')`. Returns `(h', c')`.
    pub fn lstm_cell(gates: &Var, c: &Var) -> Result<(Var, Var)> {
        let (z, c_prev) = (gates.value(), c.value());
        let hidden = c_prev.dims().last().copied().unwrap_or(0);
        let block = move |t: &Tensor, k: usize| t.try_narrow(-1, k * hidden, hidden);
        let sig = z.try_sigmoid()?;
        let (i, f, o) = (block(&sig, 0)?, block(&sig, 1)?, block(&sig, 3)?);
        let g = block(&z, 2)?.try_tanh()?;
        let c_new = f.try_mul(&c_prev)?.try_add(&i.try_mul(&g)?)?;
        let tanh_c = c_new.try_tanh()?;
        let h_new = o.try_mul(&tanh_c)?;
        let both = Tensor::try_cat(&[&h_new, &c_new], -1)?;
        let joined = Var::from_op(both, &[gates, c], move |grad| {
            let (dh, dc_out) = (block(grad, 0)?, block(grad, 1)?);
            // Through h' = o ⊙ tanh(c'), then c' = f ⊙ c + i ⊙ g.
            let dc = dc_out.try_add(&dh.try_mul(&o)?.try_mul(&one_minus_square(&tanh_c)?)?)?;
            let di = dc.try_mul(&g)?.try_mul(&sigmoid_slope(&i)?)?;
            let df = dc.try_mul(&c_prev)?.try_mul(&sigmoid_slope(&f)?)?;
            let dg = dc.try_mul(&i)?.try_mul(&one_minus_square(&g)?)?;
            let d_o = dh.try_mul(&tanh_c)?.try_mul(&sigmoid_slope(&o)?)?;
            let dgates = Tensor::try_cat(&[&di, &df, &dg, &d_o], -1)?;
            Ok(vec![Some(dgates), Some(dc.try_mul(&f)?)])
        });
        Ok((joined.narrow(-1, 0, hidden)?, joined.narrow(-1, hidden, hidden)?))
    }
}
