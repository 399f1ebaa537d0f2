//! Reductions along axes, arg-reductions and the softmax family.

use super::{Tensor, infallible};
use crate::{ArgReduceOp, DType, ReduceOp, Result, TensorError};

impl Tensor {
    /// Resolves axes (negative counts from the end), sorted and without repeats.
    fn resolve_axes(&self, op: &'static str, axes: &[isize]) -> Result<Vec<usize>> {
        let mut resolved = axes.iter().map(|&a| self.shape().axis(op, a)).collect::<Result<Vec<_>>>()?;
        resolved.sort_unstable();
        resolved.dedup();
        Ok(resolved)
    }

    /// The shape after reducing `axes`, with or without the size-1 axes.
    fn reduced_dims(&self, axes: &[usize], keepdim: bool) -> Vec<usize> {
        let mut dims = Vec::with_capacity(self.rank());
        for (i, &d) in self.dims().iter().enumerate() {
            if !axes.contains(&i) {
                dims.push(d);
            } else if keepdim {
                dims.push(1);
            }
        }
        dims
    }

    /// Applies any [`ReduceOp`] over `axes`; an empty `axes` reduces nothing.
    pub fn try_reduce(&self, op: ReduceOp, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.resolve_axes("reduce", axes)?;
        let out = self.device().reduce(op, self.view(), &axes)?;
        Ok(Tensor::fresh(out, self.reduced_dims(&axes, keepdim), self.device()))
    }

    infallible!(
        /// Applies any [`ReduceOp`] over `axes`; an empty `axes` reduces nothing.
        reduce => try_reduce(op: ReduceOp, axes: &[isize], keepdim: bool) -> Tensor
    );

    /// Sum over `axes`.
    #[track_caller]
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Tensor {
        self.reduce(ReduceOp::Sum, axes, keepdim)
    }

    /// Maximum over `axes`.
    #[track_caller]
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Tensor {
        self.reduce(ReduceOp::Max, axes, keepdim)
    }

    /// Minimum over `axes`.
    #[track_caller]
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Tensor {
        self.reduce(ReduceOp::Min, axes, keepdim)
    }

    /// Sum of all elements, as a rank-0 tensor.
    #[track_caller]
    pub fn sum_all(&self) -> Tensor {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.sum(&axes, false)
    }

    /// Mean over `axes` (floats only).
    pub fn try_mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        if !self.dtype().is_float() {
            return Err(TensorError::UnsupportedDType {
                op: "mean",
                dtype: self.dtype(),
                reason: "cast to a float first",
            });
        }
        let resolved = self.resolve_axes("mean", axes)?;
        let count: usize = resolved.iter().map(|&a| self.dims()[a]).product();
        self.try_reduce(ReduceOp::Sum, axes, keepdim)?
            .try_unary(crate::UnaryOp::Affine { mul: 1.0 / count as f64, add: 0.0 })
    }

    infallible!(
        /// Mean over `axes` (floats only).
        mean => try_mean(axes: &[isize], keepdim: bool) -> Tensor
    );

    /// Mean of all elements, as a rank-0 tensor.
    #[track_caller]
    pub fn mean_all(&self) -> Tensor {
        let axes: Vec<isize> = (0..self.rank() as isize).collect();
        self.mean(&axes, false)
    }

    /// Position (i64) of the extreme element along `axis`; ties pick the first.
    pub fn try_arg_reduce(&self, op: ArgReduceOp, axis: isize, keepdim: bool) -> Result<Tensor> {
        let axis = self.shape().axis("argmax", axis)?;
        if self.dims()[axis] == 0 {
            return Err(TensorError::invalid("argmax", format!("axis {axis} of shape {} is empty", self.shape())));
        }
        let out = self.device().arg_reduce(op, self.view(), axis)?;
        Ok(Tensor::fresh(out, self.reduced_dims(&[axis], keepdim), self.device()))
    }

    /// Position of the maximum along `axis`.
    #[track_caller]
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Tensor {
        self.try_arg_reduce(ArgReduceOp::ArgMax, axis, keepdim).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Position of the minimum along `axis`.
    #[track_caller]
    pub fn argmin(&self, axis: isize, keepdim: bool) -> Tensor {
        self.try_arg_reduce(ArgReduceOp::ArgMin, axis, keepdim).unwrap_or_else(|e| panic!("{e}"))
    }

    fn float_axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        if !self.dtype().is_float() {
            return Err(TensorError::UnsupportedDType { op, dtype: self.dtype(), reason: "needs floats" });
        }
        self.shape().axis(op, axis)
    }

    /// Numerically stable softmax along `axis`.
    pub fn try_softmax(&self, axis: isize) -> Result<Tensor> {
        let axis = self.float_axis("softmax", axis)?;
        let out = self.device().softmax(self.view(), axis)?;
        Ok(Tensor::fresh(out, self.shape().clone(), self.device()))
    }

    infallible!(
        /// Numerically stable softmax along `axis`.
        softmax => try_softmax(axis: isize) -> Tensor
    );

    /// Numerically stable log-softmax along `axis`.
    pub fn try_log_softmax(&self, axis: isize) -> Result<Tensor> {
        let axis = self.float_axis("log_softmax", axis)?;
        let out = self.device().log_softmax(self.view(), axis)?;
        Ok(Tensor::fresh(out, self.shape().clone(), self.device()))
    }

    infallible!(
        /// Numerically stable log-softmax along `axis`.
        log_softmax => try_log_softmax(axis: isize) -> Tensor
    );

    /// `ln(sum(exp(x)))` along `axis`, stable for large inputs.
    pub fn try_logsumexp(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        let axis_index = self.float_axis("logsumexp", axis)? as isize;
        let max = self.try_reduce(ReduceOp::Max, &[axis_index], true)?;
        // An all -inf row has max -inf; shift by 0 there so the result is -inf, not NaN.
        let finite = max.try_abs()?.try_lt(&Tensor::scalar(f64::INFINITY, self.dtype(), self.device())?)?;
        let shift = finite.try_where_select(&max, &Tensor::scalar(0.0, self.dtype(), self.device())?)?;
        let sum = self.try_sub(&shift)?.try_exp()?.try_reduce(ReduceOp::Sum, &[axis_index], true)?;
        let out = sum.try_log()?.try_add(&shift)?;
        if keepdim { Ok(out) } else { out.try_squeeze(axis_index) }
    }

    infallible!(
        /// `ln(sum(exp(x)))` along `axis`, stable for large inputs.
        logsumexp => try_logsumexp(axis: isize, keepdim: bool) -> Tensor
    );

    /// Fraction of positions where `argmax(self, -1) == labels` (labels i64).
    pub fn try_accuracy(&self, labels: &Tensor) -> Result<f64> {
        labels.check_dtype("accuracy", DType::I64)?;
        let predicted = self.try_arg_reduce(ArgReduceOp::ArgMax, -1, false)?;
        let hits = predicted.try_eq(labels)?.to_vec::<i64>()?;
        Ok(hits.iter().sum::<i64>() as f64 / labels.numel().max(1) as f64)
    }
}
