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
