//! Indexing and movement: gather, scatter-add, index-select, concatenation, slice assignment.

use super::{Tensor, infallible};
use crate::{DType, Result, Shape, TensorError};

impl Tensor {
    /// Checks an index tensor against `self` for gather/scatter along `axis`: i64, same rank,
    /// and no larger than `self` on the other axes.
    fn check_index(&self, op: &'static str, axis: usize, index: &Tensor) -> Result<()> {
        index.check_dtype(op, DType::I64)?;
        self.check_same_device(op, index)?;
        let fits = index.rank() == self.rank()
            && index.dims().iter().zip(self.dims()).enumerate().all(|(d, (&i, &s))| d == axis || i <= s);
        if fits {
            Ok(())
        } else {
            Err(TensorError::ShapeMismatch {
                op,
                lhs: self.shape().clone(),
                rhs: index.shape().clone(),
                detail: format!(" (index must have the same rank and fit outside axis {axis})"),
            })
        }
    }

    /// PyTorch's `gather`: `out[p] = self[p with p[axis] = index[p]]`, shaped like `index`.
    pub fn try_gather(&self, axis: isize, index: &Tensor) -> Result<Tensor> {
        let axis = self.shape().axis("gather", axis)?;
        self.check_index("gather", axis, index)?;
        let out = self.device().gather(self.view(), axis, index.view())?;
        Ok(Tensor::fresh(out, index.shape().clone(), self.device()))
    }

    infallible!(
        /// PyTorch's `gather`: `out[p] = self[p with p[axis] = index[p]]`, shaped like `index`.
        gather => try_gather(axis: isize, index: &Tensor) -> Tensor
    );

    /// A copy of `self` with each `src[p]` added at `p with p[axis] = index[p]` (PyTorch's
    /// `scatter_add`, out of place). `index` and `src` share a shape.
    pub fn try_scatter_add(&self, axis: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let axis = self.shape().axis("scatter_add", axis)?;
        self.check_index("scatter_add", axis, index)?;
        self.check_same_dtype("scatter_add", src)?;
        self.check_same_device("scatter_add", src)?;
        if index.shape() != src.shape() {
            return Err(TensorError::shape_mismatch("scatter_add", index.shape(), src.shape()));
        }
        let out = self.device().scatter_add(self.view(), axis, index.view(), src.view())?;
        Ok(Tensor::fresh(out, self.shape().clone(), self.device()))
    }

    infallible!(
        /// A copy of `self` with each `src[p]` added at `p with p[axis] = index[p]`.
        scatter_add => try_scatter_add(axis: isize, index: &Tensor, src: &Tensor) -> Tensor
    );

    fn check_index_vector(&self, op: &'static str, index: &Tensor) -> Result<()> {
        index.check_dtype(op, DType::I64)?;
        self.check_same_device(op, index)?;
        if index.rank() != 1 {
            return Err(TensorError::invalid(op, format!("index must be 1-D, got shape {}", index.shape())));
        }
        Ok(())
    }

    /// The entries `index` (1-D, i64) of `axis`, in that order (repeats allowed).
    pub fn try_index_select(&self, axis: isize, index: &Tensor) -> Result<Tensor> {
        let axis = self.shape().axis("index_select", axis)?;
        self.check_index_vector("index_select", index)?;
        let out = self.device().index_select(self.view(), axis, index.view())?;
        let mut dims = self.dims().to_vec();
        dims[axis] = index.numel();
        Ok(Tensor::fresh(out, dims, self.device()))
    }

    infallible!(
        /// The entries `index` (1-D, i64) of `axis`, in that order (repeats allowed).
        index_select => try_index_select(axis: isize, index: &Tensor) -> Tensor
    );

    /// A copy of `self` with `src` added at the entries `index` of `axis`; repeated indices
    /// accumulate (the backward of `index_select`, e.g. of an embedding lookup).
    pub fn try_index_add(&self, axis: isize, index: &Tensor, src: &Tensor) -> Result<Tensor> {
        let axis = self.shape().axis("index_add", axis)?;
        self.check_index_vector("index_add", index)?;
        self.check_same_dtype("index_add", src)?;
        self.check_same_device("index_add", src)?;
        let mut expected = self.dims().to_vec();
        expected[axis] = index.numel();
        if src.dims() != expected.as_slice() {
            return Err(TensorError::ShapeMismatch {
                op: "index_add",
                lhs: Shape::new(expected),
                rhs: src.shape().clone(),
                detail: " (src must match self with index.len() entries along the axis)".into(),
            });
        }
        let out = self.device().index_add(self.view(), axis, index.view(), src.view())?;
        Ok(Tensor::fresh(out, self.shape().clone(), self.device()))
    }

    infallible!(
        /// A copy of `self` with `src` added at the entries `index` of `axis`.
        index_add => try_index_add(axis: isize, index: &Tensor, src: &Tensor) -> Tensor
    );

    /// Embedding lookup: rows of `self` (`[vocab, dim]`) for every id in `ids` (i64, any
    /// shape), giving `ids.shape + [dim]`.
    pub fn try_embedding(&self, ids: &Tensor) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(TensorError::invalid("embedding", format!("table must be [vocab, dim], got {}", self.shape())));
        }
        let rows = self.try_index_select(0, &ids.try_reshape([ids.numel()])?)?;
        let mut dims = ids.dims().to_vec();
        dims.push(self.dims()[1]);
        rows.try_reshape(dims)
    }

    infallible!(
        /// Embedding lookup: rows of `self` (`[vocab, dim]`) for every id in `ids`.
        embedding => try_embedding(ids: &Tensor) -> Tensor
    );

    /// Joins tensors along `axis`; they agree on every other axis.
    pub fn try_cat(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let first = *tensors.first().ok_or_else(|| TensorError::invalid("cat", "no tensors to join"))?;
        let axis = first.shape().axis("cat", axis)?;
        let mut dims = first.dims().to_vec();
        dims[axis] = 0;
        for t in tensors {
            first.check_same_device("cat", t)?;
            first.check_same_dtype("cat", t)?;
            let agrees = t.rank() == first.rank()
                && t.dims().iter().zip(first.dims()).enumerate().all(|(d, (a, b))| d == axis || a == b);
            if !agrees {
                return Err(TensorError::ShapeMismatch {
                    op: "cat",
                    lhs: first.shape().clone(),
                    rhs: t.shape().clone(),
                    detail: format!(" (must agree outside axis {axis})"),
                });
            }
            dims[axis] += t.dims()[axis];
        }
        let parts: Vec<_> = tensors.iter().map(|t| t.view()).collect();
        let out = first.device().concat(&parts, axis)?;
        Ok(Tensor::fresh(out, dims, first.device()))
    }

    /// See [`Tensor::try_cat`].
    #[track_caller]
    pub fn cat(tensors: &[&Tensor], axis: isize) -> Tensor {
        Self::try_cat(tensors, axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Writes `src` (broadcast to this view's shape) into this view, in place. Every tensor that
    /// shares the storage sees the change.
    pub fn try_assign(&self, src: &Tensor) -> Result<()> {
        self.check_same_device("assign", src)?;
        self.check_same_dtype("assign", src)?;
        let src = src.try_broadcast_to(self.shape().clone())?;
        self.device().assign(self.view(), src.view())
    }

    /// See [`Tensor::try_assign`].
    #[track_caller]
    pub fn assign(&self, src: &Tensor) {
        self.try_assign(src).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `self += alpha · src` in place (src broadcast to this view's shape; floats only): the
    /// fused, allocation-free update optimizers use. Every tensor sharing the storage sees it.
    pub fn try_add_scaled_(&self, alpha: f64, src: &Tensor) -> Result<()> {
        self.check_same_device("add_scaled", src)?;
        self.check_same_dtype("add_scaled", src)?;
        if !self.dtype().is_float() {
            return Err(TensorError::UnsupportedDType {
                op: "add_scaled",
                dtype: self.dtype(),
                reason: "needs floats",
            });
        }
        let src = src.try_broadcast_to(self.shape().clone())?;
        self.device().add_scaled(self.view(), alpha, src.view())
    }

    /// A copy of `self` whose block starting at `start` (one offset per axis) is replaced by
    /// `src`.
    pub fn try_slice_assign(&self, start: &[usize], src: &Tensor) -> Result<Tensor> {
        if start.len() != self.rank() || src.rank() != self.rank() {
            return Err(TensorError::ShapeMismatch {
                op: "slice_assign",
                lhs: self.shape().clone(),
                rhs: src.shape().clone(),
                detail: format!(" (start {start:?} needs one offset per axis)"),
            });
        }
        let out = Tensor::fresh(self.device().copy(self.view())?, self.shape().clone(), self.device());
        let mut region = out.clone();
        for (axis, (&s, &len)) in start.iter().zip(src.dims()).enumerate() {
            region = region.try_narrow(axis as isize, s, len)?;
        }
        region.try_assign(src)?;
        Ok(out)
    }

    infallible!(
        /// A copy of `self` whose block starting at `start` is replaced by `src`.
        slice_assign => try_slice_assign(start: &[usize], src: &Tensor) -> Tensor
    );
}
