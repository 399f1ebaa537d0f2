//! The label-smoothed cross-entropy of Szegedy et al. (2016) that Vaswani et al. train with,
//! over the real target positions of a padded batch.

use autograd::Var;
use nn_layers::loss::{CrossEntropy, Reduction, cross_entropy};
use tensor_core::{DType, Tensor};

use crate::{Result, TargetBatch, TranslateError};

/// The mean over the real positions of `target` of the cross-entropy of `logits`
/// `[B, T, V]` against `(1 - smoothing) · onehot(y) + smoothing / V` (PyTorch's
/// `label_smoothing`); positions past `target.lengths[b]` carry no loss.
pub fn label_smoothed_loss(logits: &Var, target: &TargetBatch, smoothing: f64) -> Result<Var> {
    let dims = logits.dims();
    let (rows, steps) = (target.lengths.len(), target.output.dims().get(1).copied().unwrap_or(0));
    if dims.len() != 3 || dims[0] != rows || dims[1] != steps || target.lengths.iter().any(|&l| l > steps) {
        return Err(TranslateError::Invalid(format!(
            "logits {dims:?} do not fit targets {} with lengths {:?}",
            target.output.shape(),
            target.lengths
        )));
    }
    if !(0.0..1.0).contains(&smoothing) {
        return Err(TranslateError::Invalid(format!("label smoothing must be in [0, 1), got {smoothing}")));
    }
    const PAD: i64 = -1;
    let mut labels = target.output.try_cast(DType::I64)?.to_vec::<i64>()?;
    for (b, &len) in target.lengths.iter().enumerate() {
        labels[b * steps + len..(b + 1) * steps].fill(PAD);
    }
    let labels = Tensor::from_vec(labels, [rows * steps], target.output.device())?;
    let options = CrossEntropy { ignore_index: Some(PAD), label_smoothing: smoothing, reduction: Reduction::Mean };
    Ok(cross_entropy(&logits.reshape([rows * steps, dims[2]])?, &labels, options)?)
}
