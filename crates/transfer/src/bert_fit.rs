//! The fine-tuning loop of the subword heads ([`crate::BertTagger`], [`crate::BertSpanReader`]):
//! AdamW with BERT's warm-up and linear decay, discriminative rates per layer group
//! ([`crate::GroupedAdam`]), gradient clipping, shuffled mini-batches, an optional time box.

use std::time::Instant;

use autograd::{Var, clip_grad_norm};
use nn_layers::data::permutation;
use nn_layers::optim::{AdamConfig, LrSchedule, Optimizer};
use nn_layers::{Module, ModuleExt, Param};

use crate::optim::{GroupedAdam, WarmupLinear, layer_groups};
use crate::{Result, TransferError};

/// How [`fit`] trains.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitConfig {
    /// Passes over the items.
    pub epochs: usize,
    /// Items per step.
    pub batch: usize,
    /// Peak rate of the top group (the head).
    pub lr: f64,
    /// Rate factor per layer group below the head (1 = one rate for all).
    pub decay: f64,
    /// Fraction of the steps spent warming up.
    pub warmup: f64,
    /// Stop after this many seconds of training (checked after each step).
    pub seconds: Option<f64>,
    /// Order and dropout seed.
    pub seed: u64,
}

impl Default for FitConfig {
    /// Three epochs of 16 at 5e-5 (BERT's fine-tuning recipe), 10% warm-up, one rate.
    fn default() -> Self {
        FitConfig { epochs: 3, batch: 16, lr: 5e-5, decay: 1.0, warmup: 0.1, seconds: None, seed: 0 }
    }
}

/// What [`fit`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Steps taken.
    pub steps: usize,
    /// Mean loss of each epoch (the last one partial when the time box stopped it).
    pub epoch_losses: Vec<f64>,
    /// Whether the time box ended training.
    pub stopped_by_time: bool,
    /// Seconds spent.
    pub seconds: f64,
    /// Weights trained.
    pub trained_weights: usize,
}

/// Trains the unfrozen parameters of `model` on `items` in shuffled batches, `loss` giving a
/// batch's loss (its second argument a dropout seed); `progress` hears (step, loss) now and
/// then.
pub fn fit<T>(
    model: &dyn Module,
    items: &[T],
    config: &FitConfig,
    loss: impl FnMut(&[&T], u64) -> Result<Var>,
    progress: impl FnMut(usize, f64),
) -> Result<FitReport> {
    fit_with(model, &[], items, config, loss, progress)
}

/// [`fit`], also training `extra` parameters the model does not visit (LoRA adapters, from
/// [`crate::Lora::parameters`]).
pub fn fit_with<T>(
    model: &dyn Module,
    extra: &[(String, Param)],
    items: &[T],
    config: &FitConfig,
    mut loss: impl FnMut(&[&T], u64) -> Result<Var>,
    mut progress: impl FnMut(usize, f64),
) -> Result<FitReport> {
    if items.is_empty() || config.batch == 0 || config.epochs == 0 {
        return Err(TransferError::Invalid(format!(
            "nothing to train: {} items, batch {}, {} epochs",
            items.len(),
            config.batch,
            config.epochs
        )));
    }
    let mut params: Vec<_> = model.parameters().into_iter().filter(|(_, p)| !p.is_frozen()).collect();
    params.extend(extra.iter().cloned());
    let trained_weights = params.iter().map(|(_, p)| p.value().numel()).sum();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut optimizer = GroupedAdam::new(layer_groups(params), AdamConfig::adamw(config.lr), config.decay);
    let per_epoch = items.len().div_ceil(config.batch);
    let total = per_epoch * config.epochs;
    let schedule = WarmupLinear { max: config.lr, warmup: ((total as f64 * config.warmup) as usize).max(1), total };
    let started = Instant::now();
    let (mut step, mut epoch_losses, mut stopped_by_time) = (0, Vec::new(), false);
    model.set_training(true);
    'epochs: for epoch in 0..config.epochs {
        let order = permutation(items.len(), config.seed.wrapping_add(epoch as u64));
        let (mut sum, mut count) = (0.0, 0);
        for chunk in order.chunks(config.batch) {
            let batch: Vec<&T> = chunk.iter().map(|&i| &items[i]).collect();
            optimizer.zero_grad();
            optimizer.set_lr(schedule.lr(step));
            let value = loss(&batch, config.seed.wrapping_mul(1_000_003).wrapping_add(step as u64))?;
            let scalar = value.value().to_scalar()?;
            value.backward()?;
            clip_grad_norm(&leaves, 1.0)?;
            optimizer.step()?;
            step += 1;
            sum += scalar;
            count += 1;
            if step % 50 == 0 {
                progress(step, sum / count as f64);
            }
            if config.seconds.is_some_and(|s| started.elapsed().as_secs_f64() > s) {
                stopped_by_time = true;
                epoch_losses.push(sum / count as f64);
                break 'epochs;
            }
        }
        epoch_losses.push(sum / count.max(1) as f64);
    }
    model.set_training(false);
    Ok(FitReport {
        steps: step,
        epoch_losses,
        stopped_by_time,
        seconds: started.elapsed().as_secs_f64(),
        trained_weights,
    })
}
