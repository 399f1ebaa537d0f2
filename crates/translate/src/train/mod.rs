//! Training an encoder-decoder: the teacher-forced loss, one optimisation step, and the
//! resumable loop ([`fit`]); the warm-up schedule is nn-layers' `InverseSqrt`.

mod clock;
mod run;

pub use clock::process_cpu_seconds;
pub use run::{EpochReport, TrainConfig, TrainOutcome, fit, write_curves};

use autograd::{Var, clip_grad_norm};
use nn_layers::optim::Optimizer;
use nn_layers::{ModuleExt, Param};

use crate::transformer::label_smoothed_loss;
use crate::{Result, Seq2Seq, SourceBatch, TargetBatch};

/// Mean cross-entropy per real target token of teacher-forced logits, with label smoothing
/// `smoothing` (0: none); see [`label_smoothed_loss`].
pub fn sequence_loss<M: Seq2Seq>(
    model: &M,
    source: &SourceBatch,
    target: &TargetBatch,
    smoothing: f64,
    dropout_seed: Option<u64>,
) -> Result<Var> {
    label_smoothed_loss(&model.logits(source, target, dropout_seed)?, target, smoothing)
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
