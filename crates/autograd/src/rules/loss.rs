//! The fused softmax cross-entropy: one graph node, one device op forward
//! ([`tensor_core::Tensor::try_cross_entropy`]) and one backward, keeping only the per-row
//! log-sum-exp between them.

use tensor_core::{Result, Tensor};

use crate::Var;

impl Var {
    /// Softmax cross-entropy of each row of logits `self` = `[N, C]` against i64 `labels` =
    /// `[N]`: the per-row losses `ln Σ_j e^{x_j} - x[label]`, `[N]` (PyTorch's
    /// `F.cross_entropy(logits, labels, reduction="none")`). The gradient flows to the logits.
    pub fn cross_entropy_with_labels(&self, labels: &Tensor) -> Result<Var> {
        let logits = self.value();
        let (loss, lse) = logits.try_cross_entropy(labels)?;
        let labels = labels.clone();
        Ok(Var::from_op(loss, &[self], move |grad| {
            Ok(vec![Some(logits.try_cross_entropy_backward(&labels, &lse, grad)?)])
        }))
    }
}
