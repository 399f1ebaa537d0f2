//! Scaled dot-product attention: one device op forward, one backward.

use super::{Tensor, infallible};
use crate::{AttentionInputs, AttentionMask, Result, Shape, TensorError};

/// What [`Tensor::try_attention`] returns: the output and the per-row log-sum-exp that
/// [`Tensor::try_attention_backward`] reads.
#[derive(Clone, Debug)]
pub struct AttentionOutput {
    /// `[B, H, Tq, dv]`.
    pub out: Tensor,
    /// `[B, H, Tq]`, in the inputs' dtype; `-inf` for rows that see no key.
    pub lse: Tensor,
}

impl Tensor {
    /// Checks `q` (`self`), `k`, `v`, the mask and the scale; returns `[B, H, Tq, dv]`.
    fn check_attention(
        &self,
        op: &'static str,
        k: &Tensor,
        v: &Tensor,
        mask: &AttentionMask,
        scale: f64,
    ) -> Result<[usize; 4]> {
        for other in [k, v] {
            self.check_same_device(op, other)?;
            self.check_same_dtype(op, other)?;
        }
        if !self.dtype().is_float() {
            return Err(TensorError::UnsupportedDType { op, dtype: self.dtype(), reason: "attention needs floats" });
        }
        if let Some(t) = [self, k, v].into_iter().find(|t| t.rank() != 4) {
            return Err(TensorError::invalid(
                op,
                format!("q, k and v must be [batch, heads, T, d], got a tensor of shape {}", t.shape()),
            ));
        }
        let (q_dims, k_dims, v_dims) = (self.dims(), k.dims(), v.dims());
        if k_dims[..2] != q_dims[..2] || k_dims[3] != q_dims[3] {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: self.shape().clone(),
                rhs: k.shape().clone(),
                detail: " (k must be [B, H, Tk, d] with the batch, heads and width d of q)".into(),
            });
        }
        if v_dims[..3] != k_dims[..3] {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: k.shape().clone(),
                rhs: v.shape().clone(),
                detail: " (v must be [B, H, Tk, dv] with the batch, heads and keys of k)".into(),
            });
        }
        if !scale.is_finite() {
            return Err(TensorError::invalid(op, format!("the scale must be finite, got {scale}")));
        }
        mask.check(op, q_dims[0], k_dims[2])?;
        Ok([q_dims[0], q_dims[1], q_dims[2], v_dims[3]])
    }

    /// Scaled dot-product attention with queries `self` = `[B, H, Tq, d]`, keys `k` =
    /// `[B, H, Tk, d]` and values `v` = `[B, H, Tk, dv]`: `out = softmax(scale · q kᵀ) v` over
    /// the keys `mask` lets each query see, and the per-row log-sum-exp for the backward (see
    /// [`crate::Device::attention`]). Any of the three may be a strided view (e.g. `q` split into
    /// heads as a transposed `[B, Tq, H, d]`). A row that sees no key outputs zeros.
    pub fn try_attention(&self, k: &Tensor, v: &Tensor, mask: &AttentionMask, scale: f64) -> Result<AttentionOutput> {
        let [b, h, tq, dv] = self.check_attention("attention", k, v, mask, scale)?;
        let inputs = AttentionInputs { q: self.view(), k: k.view(), v: v.view(), mask, scale };
        let (out, lse) = self.device().attention(inputs)?;
        Ok(AttentionOutput {
            out: Tensor::fresh(out, [b, h, tq, dv], self.device()),
            lse: Tensor::fresh(lse, [b, h, tq], self.device()),
        })
    }

    infallible!(
        /// Scaled dot-product attention (see [`Tensor::try_attention`]).
        attention => try_attention(k: &Tensor, v: &Tensor, mask: &AttentionMask, scale: f64) -> AttentionOutput
    );

    /// The backward of [`Tensor::try_attention`]: from its inputs (`self` is `q`), what it
    /// returned, and the gradient `grad_out` of its output, the gradients `(dq, dk, dv)`.
    pub fn try_attention_backward(
        &self,
        k: &Tensor,
        v: &Tensor,
        forward: &AttentionOutput,
        grad_out: &Tensor,
        mask: &AttentionMask,
        scale: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let op = "attention_backward";
        let [b, h, tq, dv] = self.check_attention(op, k, v, mask, scale)?;
        let out_shape = Shape::from([b, h, tq, dv]);
        for (name, t, shape) in [
            ("out", &forward.out, out_shape.clone()),
            ("lse", &forward.lse, Shape::from([b, h, tq])),
            ("grad_out", grad_out, out_shape),
        ] {
            self.check_same_device(op, t)?;
            self.check_same_dtype(op, t)?;
            if t.shape() != &shape {
                return Err(TensorError::ShapeMismatch {
                    op,
                    lhs: shape,
                    rhs: t.shape().clone(),
                    detail: format!(" ({name} must have the shape on the left)"),
                });
            }
        }
        let inputs = AttentionInputs { q: self.view(), k: k.view(), v: v.view(), mask, scale };
        let (dq, dk, dv) =
            self.device().attention_backward(inputs, forward.out.view(), forward.lse.view(), grad_out.view())?;
        Ok((
            Tensor::fresh(dq, self.shape().clone(), self.device()),
            Tensor::fresh(dk, k.shape().clone(), self.device()),
            Tensor::fresh(dv, v.shape().clone(), self.device()),
        ))
    }
}
