//! Gather, scatter and index ops: each one's gradient is its adjoint.

use tensor_core::{Result, Tensor};

use crate::Var;

impl Var {
    /// PyTorch's `gather`; the gradient scatters back (repeated indices accumulate).
    pub fn gather(&self, axis: isize, index: &Tensor) -> Result<Var> {
        let x = self.value();
        let y = x.try_gather(axis, index)?;
        let index = index.clone();
        Ok(Var::from_op(y, &[self], move |grad| {
            Ok(vec![Some(x.try_zeros_like()?.try_scatter_add(axis, &index, grad)?)])
        }))
    }

    /// Out-of-place `scatter_add` of `src` into `self`.
    pub fn scatter_add(&self, axis: isize, index: &Tensor, src: &Var) -> Result<Var> {
        let y = self.value().try_scatter_add(axis, index, &src.value())?;
        let index = index.clone();
        Ok(Var::from_op(y, &[self, src], move |grad| {
            Ok(vec![Some(grad.clone()), Some(grad.try_gather(axis, &index)?)])
        }))
    }

    /// Entries `index` (1-D i64) along `axis`.
    pub fn index_select(&self, axis: isize, index: &Tensor) -> Result<Var> {
        let x = self.value();
        let y = x.try_index_select(axis, index)?;
        let index = index.clone();
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(x.try_zeros_like()?.try_index_add(axis, &index, grad)?)])))
    }

    /// Adds `src` at entries `index` of `axis`.
    pub fn index_add(&self, axis: isize, index: &Tensor, src: &Var) -> Result<Var> {
        let y = self.value().try_index_add(axis, index, &src.value())?;
        let index = index.clone();
        Ok(Var::from_op(y, &[self, src], move |grad| {
            Ok(vec![Some(grad.clone()), Some(grad.try_index_select(axis, &index)?)])
        }))
    }

    /// Embedding lookup: rows of `self` (`[vocab, dim]`) for every id (i64, any shape).
    pub fn embedding(&self, ids: &Tensor) -> Result<Var> {
        let flat = ids.try_reshape([ids.numel()])?;
        let rows = self.index_select(0, &flat)?;
        let mut dims = ids.dims().to_vec();
        dims.push(self.value().dims()[1]);
        rows.reshape(dims)
    }
}
