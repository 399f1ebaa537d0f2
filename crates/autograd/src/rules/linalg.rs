//! Matrix products.

use tensor_core::{Result, Tensor, TensorError};

use super::sum_to;
use crate::Var;

impl Var {
    /// Batched matrix product with broadcast batch axes.
    pub fn matmul(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let y = a.try_matmul(&b)?;
        let (need_a, need_b) = (self.requires_grad(), rhs.requires_grad());
        Ok(Var::from_op(y, &[self, rhs], move |grad| {
            // dA = G Bᵀ, dB = Aᵀ G; the transposes are views. Only the products needed run.
            let ga = need_a.then(|| sum_to(&grad.try_matmul(&b.try_transpose(-2, -1)?)?, a.shape())).transpose()?;
            let gb = need_b.then(|| sum_to(&a.try_transpose(-2, -1)?.try_matmul(grad)?, b.shape())).transpose()?;
            Ok(vec![ga, gb])
        }))
    }
}

impl Var {
    /// A fully connected layer in one op: `self · weightᵀ + bias`, with `weight` as
    /// `[out, in]` (PyTorch's layout). Its backward writes the weight gradient directly in
    /// that layout (`gᵀ · x`), so no transposed copy is made.
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        let transposed = weight.value().try_transpose(-2, -1)?;
        self.linear_with_transposed(weight, &transposed, bias)
    }

    /// [`Var::linear`] given `weight_t`, the weight's transpose `[in, out]`, already laid out
    /// (a contiguous copy made once and reused over the steps of a recurrent layer, so every
    /// step's product reads rows). Only the forward reads `weight_t`; gradients go to `weight`.
    pub fn linear_with_transposed(&self, weight: &Var, weight_t: &Tensor, bias: Option<&Var>) -> Result<Var> {
        let (x, w) = (self.value(), weight.value());
        if weight_t.dims().iter().rev().ne(w.dims().iter()) {
            return Err(TensorError::shape_mismatch("linear_with_transposed", w.shape(), weight_t.shape()));
        }
        let mut y = x.try_matmul(weight_t)?;
        if let Some(b) = bias {
            y = y.try_add(&b.value())?;
        }
        let has_bias = bias.is_some();
        let (need_x, need_w) = (self.requires_grad(), weight.requires_grad());
        let inputs: Vec<&Var> = [self, weight].into_iter().chain(bias).collect();
        Ok(Var::from_op(y, &inputs, move |grad| {
            // The input gradient is skipped when the input is data (a constant).
            let gx = need_x.then(|| grad.try_matmul(&w)).transpose()?;
            // Flatten leading axes so the weight gradient is one [out, in] product.
            let rows = grad.numel() / grad.dims()[grad.rank() - 1].max(1);
            let g2 = grad.try_reshape([rows, w.dims()[0]])?;
            let x2 = x.try_reshape([rows, w.dims()[1]])?;
            let gw = need_w.then(|| g2.try_transpose(0, 1)?.try_matmul(&x2)).transpose()?;
            let mut grads = vec![gx, gw];
            if has_bias {
                grads.push(Some(g2.try_reduce(tensor_core::ReduceOp::Sum, &[0], false)?));
            }
            Ok(grads)
        }))
    }
}
