//! Views and joins: the gradient is the inverse view, or the matching slice.

use tensor_core::{Result, Shape, Tensor};

use super::sum_to;
use crate::Var;

impl Var {
    /// The same elements under a new shape.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Var> {
        let x = self.value();
        let from = x.shape().clone();
        let y = x.try_reshape(shape)?;
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(grad.try_reshape(from)?)])))
    }

    /// Reorders axes.
    pub fn permute(&self, axes: &[usize]) -> Result<Var> {
        let y = self.value().try_permute(axes)?;
        let mut inverse = vec![0; axes.len()];
        for (i, &a) in axes.iter().enumerate() {
            inverse[a] = i;
        }
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(grad.try_permute(&inverse)?)])))
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Var> {
        let y = self.value().try_transpose(a, b)?;
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(grad.try_transpose(a, b)?)])))
    }

    /// Keeps `len` entries of `axis` from `start`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Var> {
        let x = self.value();
        let axis_index = x.shape().axis("narrow", axis)?;
        let y = x.try_narrow(axis, start, len)?;
        // The closure serves leaves; for other inputs the engine adds the gradient into one
        // shared buffer per input (`mark_slice_of`).
        Ok(Var::from_op(y, &[self], move |grad| {
            let mut at = vec![0; x.rank()];
            at[axis_index] = start;
            Ok(vec![Some(x.try_zeros_like()?.try_slice_assign(&at, grad)?)])
        })
        .mark_slice_of(axis_index, start))
    }

    /// Reverses `axis`.
    pub fn flip(&self, axis: isize) -> Result<Var> {
        let y = self.value().try_flip(axis)?;
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(grad.try_flip(axis)?)])))
    }

    /// Expands to `shape`; the gradient sums over the broadcast axes.
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Result<Var> {
        let x = self.value();
        let from = x.shape().clone();
        let y = x.try_broadcast_to(shape)?;
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(sum_to(grad, &from)?)])))
    }

    /// Inserts a size-1 axis.
    pub fn unsqueeze(&self, axis: isize) -> Result<Var> {
        let shape = self.value().try_unsqueeze(axis)?.shape().clone();
        self.reshape(shape)
    }

    /// Removes a size-1 axis.
    pub fn squeeze(&self, axis: isize) -> Result<Var> {
        let shape = self.value().try_squeeze(axis)?.shape().clone();
        self.reshape(shape)
    }

    /// Joins vars along `axis`.
    pub fn cat(vars: &[&Var], axis: isize) -> Result<Var> {
        let values: Vec<Tensor> = vars.iter().map(|v| v.value()).collect();
        let refs: Vec<&Tensor> = values.iter().collect();
        let y = Tensor::try_cat(&refs, axis)?;
        let sizes: Vec<usize> = values.iter().map(|v| v.dims()[y.shape().axis("cat", axis).unwrap_or(0)]).collect();
        Ok(Var::from_op(y, vars, move |grad| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for &len in &sizes {
                grads.push(Some(grad.try_narrow(axis, start, len)?));
                start += len;
            }
            Ok(grads)
        }))
    }
}
