//! The fused softmax cross-entropy: one device op per direction over logits `[N, C]`.

use super::Tensor;
use crate::{DType, Result, TensorError};

impl Tensor {
    /// Checks logits `self` = float `[N, C]` against i64 `labels` = `[N]`; returns `N`.
    fn check_cross_entropy(&self, op: &'static str, labels: &Tensor) -> Result<usize> {
        if self.rank() != 2 || !self.dtype().is_float() {
            return Err(TensorError::invalid(
                op,
                format!("expects float logits [N, C], got {} {}", self.dtype(), self.shape()),
            ));
        }
        self.check_same_device(op, labels)?;
        labels.check_dtype(op, DType::I64)?;
        let rows = self.dims()[0];
        if labels.dims() != [rows] {
            return Err(TensorError::invalid(
                op,
                format!("expects labels [{rows}] for logits {}, got {}", self.shape(), labels.shape()),
            ));
        }
        if rows > 0 && self.dims()[1] == 0 {
            return Err(TensorError::invalid(op, "logits have no classes".to_string()));
        }
        Ok(rows)
    }

    /// Softmax cross-entropy of each row of logits `self` = `[N, C]` against i64 `labels` =
    /// `[N]`: returns `(loss, lse)`, both `[N]`, where `lse = ln Σ_j exp(x_j)` and
    /// `loss = lse - x[label]` (PyTorch's `F.cross_entropy(..., reduction="none")`). The
    /// backward ([`Tensor::try_cross_entropy_backward`]) needs `lse`.
    pub fn try_cross_entropy(&self, labels: &Tensor) -> Result<(Tensor, Tensor)> {
        let rows = self.check_cross_entropy("cross_entropy", labels)?;
        let (loss, lse) = self.device().cross_entropy(self.view(), labels.view())?;
        Ok((Tensor::fresh(loss, [rows], self.device()), Tensor::fresh(lse, [rows], self.device())))
    }

    /// The gradient of [`Tensor::try_cross_entropy`]'s loss with respect to the logits `self`,
    /// given the forward's `lse` and the loss's gradient `grad` (both `[N]`): `[N, C]` with
    /// `grad_i · (softmax(x_i)_j - [j = label_i])`.
    pub fn try_cross_entropy_backward(&self, labels: &Tensor, lse: &Tensor, grad: &Tensor) -> Result<Tensor> {
        let op = "cross_entropy_backward";
        let rows = self.check_cross_entropy(op, labels)?;
        for part in [lse, grad] {
            self.check_same_device(op, part)?;
            self.check_same_dtype(op, part)?;
            if part.dims() != [rows] {
                return Err(TensorError::invalid(op, format!("expects lse and grad [{rows}], got {}", part.shape())));
            }
        }
        let out = self.device().cross_entropy_backward(self.view(), labels.view(), lse.view(), grad.view())?;
        Ok(Tensor::fresh(out, self.shape().clone(), self.device()))
    }
}
