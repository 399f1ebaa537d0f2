//! Differentiable ops on [`crate::Var`], one file per op family. Each op computes its value with
//! tensor ops and records a short backward rule, also written with tensor ops, so every
//! backend trains without backend-specific code.

mod attention;
mod cells;
mod conv;
mod elementwise;
mod indexing;
mod linalg;
mod loss;
mod panelled;
pub use linalg::SharedWeight;
mod reduce;
mod reversal;
mod views;
mod window;

use tensor_core::{Result, Shape, Tensor};

/// Sums a broadcast gradient back to the shape of the operand it came from.
pub(crate) fn sum_to(grad: &Tensor, shape: &Shape) -> Result<Tensor> {
    if grad.shape() == shape {
        return Ok(grad.clone());
    }
    let lead = grad.rank() - shape.rank();
    let mut axes: Vec<isize> = (0..lead as isize).collect();
    for (i, &d) in shape.dims().iter().enumerate() {
        if d == 1 && grad.dims()[lead + i] != 1 {
            axes.push((lead + i) as isize);
        }
    }
    grad.try_sum_keepdim(&axes)?.try_reshape(shape.clone())
}

/// Helpers on tensors used by several rules.
pub(crate) trait TensorExt {
    /// Sum over axes keeping them.
    fn try_sum_keepdim(&self, axes: &[isize]) -> Result<Tensor>;
    /// A scalar of this tensor's dtype and device.
    fn scalar_like(&self, value: f64) -> Result<Tensor>;
}

impl TensorExt for Tensor {
    fn try_sum_keepdim(&self, axes: &[isize]) -> Result<Tensor> {
        self.try_reduce(tensor_core::ReduceOp::Sum, axes, true)
    }

    fn scalar_like(&self, value: f64) -> Result<Tensor> {
        Tensor::scalar(value, self.dtype(), self.device())
    }
}
