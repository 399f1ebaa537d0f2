//! Reductions and the softmax family.

use tensor_core::{ReduceOp, Result, Shape, Tensor};

use super::TensorExt;
use crate::Var;

/// Resolved, sorted axes of a reduction.
fn resolve(shape: &Shape, axes: &[isize]) -> Result<Vec<usize>> {
    let mut resolved = axes.iter().map(|&a| shape.axis("reduce", a)).collect::<Result<Vec<_>>>()?;
    resolved.sort_unstable();
    resolved.dedup();
    Ok(resolved)
}

/// A reduced gradient (or output) viewed with the reduced axes back as size 1.
fn keepdim(t: &Tensor, input: &Shape, axes: &[usize]) -> Result<Tensor> {
    let dims: Vec<usize> =
        input.dims().iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    t.try_reshape(dims)
}

impl Var {
    /// Sum over `axes`.
    pub fn sum(&self, axes: &[isize], keep: bool) -> Result<Var> {
        let x = self.value();
        let axes_resolved = resolve(x.shape(), axes)?;
        let shape = x.shape().clone();
        let y = x.try_reduce(ReduceOp::Sum, axes, keep)?;
        Ok(Var::from_op(y, &[self], move |grad| {
            Ok(vec![Some(keepdim(grad, &shape, &axes_resolved)?.try_broadcast_to(shape.clone())?)])
        }))
    }

    /// Sum of every element.
    pub fn sum_all(&self) -> Result<Var> {
        let axes: Vec<isize> = (0..self.value().rank() as isize).collect();
        self.sum(&axes, false)
    }

    /// Mean over `axes`.
    pub fn mean(&self, axes: &[isize], keep: bool) -> Result<Var> {
        let x = self.value();
        let count: usize = resolve(x.shape(), axes)?.iter().map(|&a| x.dims()[a]).product();
        self.sum(axes, keep)?.scale(1.0 / count.max(1) as f64)
    }

    /// Mean of every element.
    pub fn mean_all(&self) -> Result<Var> {
        let axes: Vec<isize> = (0..self.value().rank() as isize).collect();
        self.mean(&axes, false)
    }

    /// Maximum over `axes`; the gradient is shared evenly among tied maxima.
    pub fn max(&self, axes: &[isize], keep: bool) -> Result<Var> {
        self.extreme(ReduceOp::Max, axes, keep)
    }

    /// Minimum over `axes`; the gradient is shared evenly among tied minima.
    pub fn min(&self, axes: &[isize], keep: bool) -> Result<Var> {
        self.extreme(ReduceOp::Min, axes, keep)
    }

    fn extreme(&self, op: ReduceOp, axes: &[isize], keep: bool) -> Result<Var> {
        let x = self.value();
        let axes_resolved = resolve(x.shape(), axes)?;
        let y = x.try_reduce(op, axes, keep)?;
        let saved = y.clone();
        Ok(Var::from_op(y, &[self], move |grad| {
            let signed: Vec<isize> = axes_resolved.iter().map(|&a| a as isize).collect();
            let winners = x.try_eq(&keepdim(&saved, x.shape(), &axes_resolved)?)?;
            let count = winners.try_sum_keepdim(&signed)?;
            let share = keepdim(grad, x.shape(), &axes_resolved)?.try_div(&count)?;
            Ok(vec![Some(winners.try_mul(&share)?)])
        }))
    }

    /// Softmax along `axis`.
    pub fn softmax(&self, axis: isize) -> Result<Var> {
        let y = self.value().try_softmax(axis)?;
        let saved = y.clone();
        Ok(Var::from_op(y, &[self], move |grad| {
            // y ⊙ (g - Σ g⊙y)
            let dot = grad.try_mul(&saved)?.try_sum_keepdim(&[axis])?;
            Ok(vec![Some(saved.try_mul(&grad.try_sub(&dot)?)?)])
        }))
    }

    /// Log-softmax along `axis`.
    pub fn log_softmax(&self, axis: isize) -> Result<Var> {
        let y = self.value().try_log_softmax(axis)?;
        let saved = y.clone();
        Ok(Var::from_op(y, &[self], move |grad| {
            // g - softmax ⊙ Σ g
            let total = grad.try_sum_keepdim(&[axis])?;
            Ok(vec![Some(grad.try_sub(&saved.try_exp()?.try_mul(&total)?)?)])
        }))
    }

    /// `ln Σ exp(x)` along `axis`.
    pub fn logsumexp(&self, axis: isize, keep: bool) -> Result<Var> {
        let x = self.value();
        let y = x.try_logsumexp(axis, keep)?;
        Ok(Var::from_op(y, &[self], move |grad| {
            let g = if keep { grad.clone() } else { grad.try_unsqueeze(axis_for_unsqueeze(axis, x.rank()))? };
            Ok(vec![Some(x.try_softmax(axis)?.try_mul(&g)?)])
        }))
    }
}

/// The position at which a removed `axis` (possibly negative) of a rank-`rank` tensor goes back.
fn axis_for_unsqueeze(axis: isize, rank: usize) -> isize {
    if axis < 0 { axis + rank as isize } else { axis }
}
