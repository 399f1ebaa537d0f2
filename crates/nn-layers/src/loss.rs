//! Losses for the three output heads: MSE (linear, regression), binary cross-entropy with
//! logits (sigmoid, binary), cross-entropy with logits (softmax, multi-class). All are stable for
//! large logits: they never take the log of a probability that was rounded to 0.

use autograd::Var;
use tensor_core::{DType, Result, Tensor, TensorError};

/// How per-element losses are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Mean over elements (over non-ignored targets for cross-entropy).
    #[default]
    Mean,
    /// Sum over elements.
    Sum,
    /// One loss per element.
    None,
}

fn reduce(losses: Var, reduction: Reduction) -> Result<Var> {
    match reduction {
        Reduction::Mean => losses.mean_all(),
        Reduction::Sum => losses.sum_all(),
        Reduction::None => Ok(losses),
    }
}

/// Mean squared error `(pred - target)²`.
pub fn mse(pred: &Var, target: &Var, reduction: Reduction) -> Result<Var> {
    reduce(pred.sub(target)?.square()?, reduction)
}

/// `softplus(x) - x·y`: binary cross-entropy of `sigmoid(logits)` against float `targets` in
/// [0, 1], computed from the logits.
pub fn bce_with_logits(logits: &Var, targets: &Tensor, reduction: Reduction) -> Result<Var> {
    let y = Var::constant(targets.clone());
    let losses = logits.unary(tensor_core::UnaryOp::Softplus)?.sub(&logits.mul(&y)?)?;
    reduce(losses, reduction)
}

/// Options of [`cross_entropy`] (PyTorch's names).
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossEntropy {
    /// Targets equal to this contribute nothing (and are not counted by the mean).
    pub ignore_index: Option<i64>,
    /// Mixes the one-hot target with the uniform distribution: `(1-ε)·onehot + ε/C`.
    pub label_smoothing: f64,
    /// How losses are combined.
    pub reduction: Reduction,
}

/// Cross-entropy of `softmax(logits)` (`[N, C]`) against i64 class `labels` (`[N]`).
pub fn cross_entropy(logits: &Var, labels: &Tensor, options: CrossEntropy) -> Result<Var> {
    let dims = logits.dims();
    if dims.len() != 2 || labels.dims() != [dims[0]] || labels.dtype() != DType::I64 {
        return Err(TensorError::invalid(
            "cross_entropy",
            format!(
                "expects logits [N, C] and i64 labels [N], got {:?} and {} {}",
                dims,
                labels.shape(),
                labels.dtype()
            ),
        ));
    }
    let n = dims[0];
    let zero = Tensor::scalar(0.0, DType::I64, labels.device())?;
    let (keep, safe_labels) = match options.ignore_index {
        Some(ignored) => {
            let keep = labels.try_ne(&Tensor::scalar(ignored as f64, DType::I64, labels.device())?)?;
            (Some(keep.try_cast(logits.value().dtype())?), keep.try_where_select(labels, &zero)?)
        }
        None => (None, labels.clone()),
    };
    let losses = if options.label_smoothing > 0.0 {
        let log_probs = logits.log_softmax(-1)?;
        let picked = log_probs.gather(1, &safe_labels.try_reshape([n, 1])?)?.reshape([n])?;
        let eps = options.label_smoothing;
        let uniform = log_probs.mean(&[-1], false)?.neg()?;
        picked.neg()?.scale(1.0 - eps)?.add(&uniform.scale(eps)?)?
    } else {
        // One fused op that never holds the [N, C] log-probabilities.
        logits.cross_entropy_with_labels(&safe_labels)?
    };
    match keep {
        None => reduce(losses, options.reduction),
        Some(keep) => {
            let kept: f64 = keep.to_f64_vec()?.iter().sum();
            let losses = losses.mul(&Var::constant(keep))?;
            match options.reduction {
                Reduction::Mean => losses.sum_all()?.scale(1.0 / kept.max(1.0)),
                other => reduce(losses, other),
            }
        }
    }
}
