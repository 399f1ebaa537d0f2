//! Matrix products.

use tensor_core::Result;

use super::sum_to;
use crate::Var;

impl Var {
    /// Batched matrix product with broadcast batch axes.
    pub fn matmul(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let y = a.try_matmul(&b)?;
        Ok(Var::from_op(y, &[self, rhs], move |grad| {
            // dA = G Bᵀ, dB = Aᵀ G; the transposes are views.
            let ga = grad.try_matmul(&b.try_transpose(-2, -1)?)?;
            let gb = a.try_transpose(-2, -1)?.try_matmul(grad)?;
            Ok(vec![Some(sum_to(&ga, a.shape())?), Some(sum_to(&gb, b.shape())?)])
        }))
    }
}

impl Var {
    /// A fully connected layer in one op: `self · weightᵀ + bias`, with `weight` as
    /// `[out, in]` (PyTorch's layout). Its backward writes the weight gradient directly in
    /// that layout (`gᵀ · x`), so no transposed copy is made.
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        let (x, w) = (self.value(), weight.value());
        let mut y = x.try_matmul(&w.try_transpose(-2, -1)?)?;
        if let Some(b) = bias {
            y = y.try_add(&b.value())?;
        }
        let has_bias = bias.is_some();
        let inputs: Vec<&Var> = [self, weight].into_iter().chain(bias).collect();
        Ok(Var::from_op(y, &inputs, move |grad| {
            let gx = grad.try_matmul(&w)?;
            // Flatten leading axes so the weight gradient is one [out, in] product.
            let rows = grad.numel() / grad.dims()[grad.rank() - 1].max(1);
            let g2 = grad.try_reshape([rows, w.dims()[0]])?;
            let x2 = x.try_reshape([rows, w.dims()[1]])?;
            let gw = g2.try_transpose(0, 1)?.try_matmul(&x2)?;
            let mut grads = vec![Some(gx), Some(gw)];
            if has_bias {
                grads.push(Some(g2.try_reduce(tensor_core::ReduceOp::Sum, &[0], false)?));
            }
            Ok(grads)
        }))
    }
}
