//! Gradient clipping: the remedy for exploding gradients.

use tensor_core::{ReduceOp, Result};

use crate::Var;

/// Rescales the gradients of `params` so that their global L2 norm is at most `max_norm`
/// (as PyTorch's `clip_grad_norm_`). Returns the norm before clipping.
pub fn clip_grad_norm(params: &[Var], max_norm: f64) -> Result<f64> {
    let mut total = 0.0;
    for grad in params.iter().filter_map(Var::grad) {
        total += grad.try_square()?.try_reduce(ReduceOp::Sum, &all_axes(grad.rank()), false)?.to_scalar()?;
    }
    let norm = total.sqrt();
    if norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for param in params {
            if let Some(grad) = param.grad() {
                param.set_grad(Some(grad.try_unary(tensor_core::UnaryOp::Affine { mul: scale, add: 0.0 })?));
            }
        }
    }
    Ok(norm)
}

/// Clamps every gradient element of `params` into `[-clip, clip]`.
pub fn clip_grad_value(params: &[Var], clip: f64) -> Result<()> {
    for param in params {
        if let Some(grad) = param.grad() {
            param.set_grad(Some(grad.try_unary(tensor_core::UnaryOp::Clamp { min: -clip, max: clip })?));
        }
    }
    Ok(())
}

fn all_axes(rank: usize) -> Vec<isize> {
    (0..rank as isize).collect()
}
