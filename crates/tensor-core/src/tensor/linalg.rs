//! Matrix products.

use super::{Tensor, infallible};
use crate::{Result, Shape, TensorError};

impl Tensor {
    /// Batched matrix product `[..., m, k] x [..., k, n] -> [..., m, n]`; batch axes broadcast.
    /// Transposed views are passed to the device as they are, without a copy.
    pub fn try_matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.check_same_device("matmul", rhs)?;
        self.check_same_dtype("matmul", rhs)?;
        if !self.dtype().is_float() {
            return Err(TensorError::UnsupportedDType { op: "matmul", dtype: self.dtype(), reason: "needs floats" });
        }
        if self.rank() < 2 || rhs.rank() < 2 {
            return Err(TensorError::ShapeMismatch {
                op: "matmul",
                lhs: self.shape().clone(),
                rhs: rhs.shape().clone(),
                detail: " (both operands need at least 2 axes)".into(),
            });
        }
        let (ld, rd) = (self.dims(), rhs.dims());
        let (m, k) = (ld[ld.len() - 2], ld[ld.len() - 1]);
        let (k2, n) = (rd[rd.len() - 2], rd[rd.len() - 1]);
        if k != k2 {
            return Err(TensorError::ShapeMismatch {
                op: "matmul",
                lhs: self.shape().clone(),
                rhs: rhs.shape().clone(),
                detail: format!(" (inner dimensions differ: {k} != {k2})"),
            });
        }
        let batch = Shape::broadcast("matmul", &ld[..ld.len() - 2].into(), &rd[..rd.len() - 2].into())?;
        let with = |a: usize, b: usize| {
            let mut dims = batch.dims().to_vec();
            dims.extend([a, b]);
            Shape::new(dims)
        };
        let lhs = self.try_broadcast_to(with(m, k))?;
        let rhs = rhs.try_broadcast_to(with(k, n))?;
        let out = self.device().matmul(lhs.view(), rhs.view())?;
        Ok(Tensor::fresh(out, with(m, n), self.device()))
    }

    infallible!(
        /// Batched matrix product `[..., m, k] x [..., k, n] -> [..., m, n]`; batch axes
        /// broadcast.
        matmul => try_matmul(rhs: &Tensor) -> Tensor
    );
}
