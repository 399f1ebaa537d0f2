//! Views: new layouts over the same storage. Only `reshape` of a non-contiguous view copies.

use super::{Tensor, infallible};
use crate::{Result, Shape, TensorError};

impl Tensor {
    /// The same elements under a new shape of equal size; a view when the tensor is contiguous,
    /// a copy otherwise.
    pub fn try_reshape(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(TensorError::ShapeMismatch {
                op: "reshape",
                lhs: self.shape().clone(),
                rhs: shape.clone(),
                detail: format!(" ({} elements vs {})", self.numel(), shape.numel()),
            });
        }
        match self.layout().reshape(&shape) {
            Some(layout) => Ok(self.with_layout(layout)),
            None => self.try_contiguous()?.try_reshape(shape),
        }
    }

    /// See [`Tensor::try_reshape`].
    #[track_caller]
    pub fn reshape(&self, shape: impl Into<Shape>) -> Tensor {
        self.try_reshape(shape).unwrap_or_else(|e| panic!("{e}"))
    }

    /// All elements as a 1-D tensor.
    pub fn flatten(&self) -> Tensor {
        self.reshape([self.numel()])
    }

    /// Reorders axes: axis `i` of the result is axis `axes[i]` of `self`.
    pub fn try_permute(&self, axes: &[usize]) -> Result<Tensor> {
        Ok(self.with_layout(self.layout().permute(axes)?))
    }

    infallible!(
        /// Reorders axes: axis `i` of the result is axis `axes[i]` of `self`.
        permute => try_permute(axes: &[usize]) -> Tensor
    );

    /// Swaps two axes (negative counts from the end).
    pub fn try_transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (self.shape().axis("transpose", a)?, self.shape().axis("transpose", b)?);
        Ok(self.with_layout(self.layout().transpose(a, b)?))
    }

    infallible!(
        /// Swaps two axes (negative counts from the end).
        transpose => try_transpose(a: isize, b: isize) -> Tensor
    );

    /// Swaps the last two axes (the matrix transpose of each batch entry).
    #[track_caller]
    pub fn t(&self) -> Tensor {
        self.transpose(-2, -1)
    }

    /// Keeps `len` entries of `axis` starting at `start`.
    pub fn try_narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor> {
        let axis = self.shape().axis("narrow", axis)?;
        Ok(self.with_layout(self.layout().narrow(axis, start, len)?))
    }

    infallible!(
        /// Keeps `len` entries of `axis` starting at `start`.
        narrow => try_narrow(axis: isize, start: usize, len: usize) -> Tensor
    );

    /// Reverses the order of entries along `axis` (a negative-stride view).
    pub fn try_flip(&self, axis: isize) -> Result<Tensor> {
        let axis = self.shape().axis("flip", axis)?;
        Ok(self.with_layout(self.layout().flip(axis)?))
    }

    infallible!(
        /// Reverses the order of entries along `axis` (a negative-stride view).
        flip => try_flip(axis: isize) -> Tensor
    );

    /// Expands to `shape` under NumPy broadcasting, without copying.
    pub fn try_broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor> {
        Ok(self.with_layout(self.layout().broadcast_to(&shape.into())?))
    }

    /// See [`Tensor::try_broadcast_to`].
    #[track_caller]
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Tensor {
        self.try_broadcast_to(shape).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Removes `axis`, which must have size 1.
    pub fn try_squeeze(&self, axis: isize) -> Result<Tensor> {
        let axis = self.shape().axis("squeeze", axis)?;
        Ok(self.with_layout(self.layout().squeeze(axis)?))
    }

    infallible!(
        /// Removes `axis`, which must have size 1.
        squeeze => try_squeeze(axis: isize) -> Tensor
    );

    /// Inserts a size-1 axis before position `axis` (`-1` appends one at the end).
    pub fn try_unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let rank = self.rank() as isize;
        let resolved = if axis < 0 { axis + rank + 1 } else { axis };
        if !(0..=rank).contains(&resolved) {
            return Err(TensorError::AxisOutOfRange {
                op: "unsqueeze",
                axis,
                rank: self.rank(),
                shape: self.shape().clone(),
            });
        }
        Ok(self.with_layout(self.layout().unsqueeze(resolved as usize)?))
    }

    infallible!(
        /// Inserts a size-1 axis before position `axis` (`-1` appends one at the end).
        unsqueeze => try_unsqueeze(axis: isize) -> Tensor
    );
}
