//! Training an encoder-decoder: the teacher-forced loss, one optimisation step, the
//! inverse-square-root schedule, and the resumable loop ([`fit`]).

mod run;

pub use run::{EpochReport, TrainConfig, TrainOutcome, fit, write_curves};

use autograd::{Var, clip_grad_norm};
use nn_layers::loss::{CrossEntropy, Reduction, cross_entropy};
use nn_layers::optim::{LrSchedule, Optimizer};
use nn_layers::{ModuleExt, Param};

use crate::{Result, Seq2Seq, SourceBatch, TargetBatch};

/// Mean cross-entropy per target token (padding ignored, `<pad>` = id 0) of teacher-forced
/// logits, with label smoothing `smoothing` (0: none).
pub fn sequence_loss<M: Seq2Seq>(
    model: &M,
    source: &SourceBatch,
    target: &TargetBatch,
    smoothing: f64,
    dropout_seed: Option<u64>,
) -> Result<Var> {
    let logits = model.logits(source, target, dropout_seed)?;
    let dims = logits.dims();
    let flat = logits.reshape([dims[0] * dims[1], dims[2]])?;
    let labels = target.output.try_reshape([dims[0] * dims[1]])?;
    let options = CrossEntropy { ignore_index: Some(0), label_smoothing: smoothing, reduction: Reduction::Mean };
    Ok(cross_entropy(&flat, &labels, options)?)
}

/// One update: loss, backward, gradients clipped to global norm `clip` (when `Some`),
/// optimizer step. Returns the loss.
pub fn train_step<M: Seq2Seq>(
    model: &M,
    optimizer: &mut dyn Optimizer,
    batch: &(SourceBatch, TargetBatch),
    smoothing: f64,
    clip: Option<f64>,
    dropout_seed: u64,
) -> Result<f64> {
    optimizer.zero_grad();
    let loss = sequence_loss(model, &batch.0, &batch.1, smoothing, Some(dropout_seed))?;
    loss.backward()?;
    if let Some(max_norm) = clip {
        let params: Vec<Var> = model.parameters().iter().map(|(_, p): &(String, Param)| p.leaf().clone()).collect();
        clip_grad_norm(&params, max_norm)?;
    }
    optimizer.step()?;
    Ok(loss.value().to_f64_vec()?[0])
}

/// Linear warm-up to `peak` over `warmup` steps, then decay as `1/√step` (Vaswani et al.
/// 2017's schedule, scaled so that its top is `peak`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InverseSqrt {
    /// The rate at the end of warm-up.
    pub peak: f64,
    /// Warm-up steps (at least 1).
    pub warmup: usize,
}

impl LrSchedule for InverseSqrt {
    fn lr(&self, step: usize) -> f64 {
        let (s, w) = ((step + 1) as f64, self.warmup.max(1) as f64);
        self.peak * (s / w).min((w / s).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_sqrt_warms_up_then_decays() {
        let s = InverseSqrt { peak: 1e-3, warmup: 100 };
        assert!((s.lr(0) - 1e-5).abs() < 1e-12);
        assert!((s.lr(99) - 1e-3).abs() < 1e-12);
        assert!((s.lr(399) - 5e-4).abs() < 1e-12);
    }
}
