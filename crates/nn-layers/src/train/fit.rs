//! A training loop for classifiers: batches, cross-entropy, optimizer steps, per-epoch
//! evaluation, progress and a summary per epoch.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use autograd::{Var, clip_grad_norm, no_grad};
use tensor_core::{DType, Device, Tensor};

use super::nonfinite::{NonFinitePolicy, check_step};
use super::resume::{TrainPosition, save_training};
use super::{Alone, Mean, Progress, Replicas};
use crate::data::{Batches, Examples, LastBatch};
use crate::loss::{CrossEntropy, cross_entropy};
use crate::optim::{LrSchedule, Optimizer};
use crate::{Module, ModuleExt, NnError, Result};

/// Settings of [`fit_classifier`].
#[derive(Clone)]
pub struct FitConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Seed of the shuffles (epoch `e` uses `seed + e`).
    pub seed: u64,
    /// Clip the gradient norm to this value before each step.
    pub clip_norm: Option<f64>,
    /// Show a progress bar.
    pub progress: bool,
    /// Learning rate per step (over all epochs); the optimizer's own rate when `None`.
    pub schedule: Option<Arc<dyn LrSchedule + Send + Sync>>,
    /// What a non-finite loss or gradient does: stop with an error naming the step and the
    /// parameter (default), or skip the step.
    pub nonfinite: NonFinitePolicy,
    /// On a non-finite step (under [`NonFinitePolicy::Stop`]), re-run it under
    /// [`autograd::detect_anomaly`] and name the first op that produced a NaN or inf.
    pub detect_anomaly: bool,
    /// Write a training checkpoint ([`save_training`]) into this folder every so many steps and
    /// at the end of each epoch.
    pub checkpoint: Option<(PathBuf, usize)>,
    /// Continue from this position (returned by [`super::load_training`], which also restored the
    /// model and the optimizer) instead of starting afresh.
    pub resume: Option<TrainPosition>,
}

impl FitConfig {
    /// `epochs` passes in batches of `batch_size`, shuffled from `seed`; no clipping, no
    /// progress bar, the optimizer's own learning rate.
    pub fn new(epochs: usize, batch_size: usize, seed: u64) -> Self {
        FitConfig {
            epochs,
            batch_size,
            seed,
            clip_norm: None,
            progress: false,
            schedule: None,
            nonfinite: NonFinitePolicy::Stop,
            detect_anomaly: false,
            checkpoint: None,
            resume: None,
        }
    }

    /// The same, with the learning rate decaying from `lr` to 0 along a cosine over every step
    /// of the run (`examples` per epoch).
    pub fn with_cosine(self, lr: f64, examples: usize) -> Self {
        let total = self.epochs * examples.div_ceil(self.batch_size.max(1));
        FitConfig { schedule: Some(Arc::new(crate::optim::Cosine { base: lr, min: 0.0, total })), ..self }
    }
}

/// What one epoch achieved.
#[derive(Clone, Copy, Debug)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy over the epoch's batches.
    pub train_accuracy: f64,
    /// Loss and accuracy on the evaluation set, if one was given.
    pub eval: Option<(f64, f64)>,
    /// Wall time of the epoch.
    pub seconds: f64,
    /// Steps skipped for a non-finite loss or gradient ([`NonFinitePolicy::Skip`]).
    pub skipped_steps: usize,
}

/// Trains `model` (logits out) with cross-entropy; evaluates on `eval` after each epoch.
pub fn fit_classifier(
    model: &dyn Module,
    optimizer: &mut dyn Optimizer,
    train: &dyn Examples,
    eval: Option<&dyn Examples>,
    config: FitConfig,
    device: &Arc<dyn Device>,
    on_epoch: impl FnMut(&EpochStats),
) -> Result<Vec<EpochStats>> {
    fit_classifier_on(&mut Alone, model, optimizer, train, eval, config, device, on_epoch)
}

/// [`fit_classifier`] as one of `replicas`: every replica draws the same shuffled global
/// batches (from `config.seed`), trains on its shard of each, and steps on the gradient
/// averaged over the whole batch; the training loss and accuracy are summed over replicas, and
/// only replica 0 shows progress. With [`Alone`] it is [`fit_classifier`].
#[allow(clippy::too_many_arguments)]
pub fn fit_classifier_on<R: Replicas>(
    replicas: &mut R,
    model: &dyn Module,
    optimizer: &mut dyn Optimizer,
    train: &dyn Examples,
    eval: Option<&dyn Examples>,
    config: FitConfig,
    device: &Arc<dyn Device>,
    mut on_epoch: impl FnMut(&EpochStats),
) -> Result<Vec<EpochStats>> {
    let named = model.parameters();
    let params: Vec<Var> = named.iter().map(|(_, p)| p.leaf().clone()).collect();
    let start = config.resume.clone().unwrap_or_default();
    let mut history = start.history.clone();
    let mut step = start.step;
    for epoch in start.epoch.max(1)..=config.epochs {
        let started = Instant::now();
        model.train();
        let resumed = config.resume.is_some() && epoch == start.epoch;
        let (mut loss_mean, mut hit_mean, mut skipped_steps, done) =
            if resumed { (start.loss, start.hits, start.skipped, start.batches_done) } else { Default::default() };
        let batches =
            Batches::over(train.count(), config.batch_size, Some(config.seed + epoch as u64), LastBatch::Keep);
        let progress = (config.progress && replicas.rank() == 0)
            .then(|| Progress::new(batches.count_total() as u64, &format!("epoch {epoch}")));
        for (index, global) in batches.enumerate().skip(done) {
            let indices = replicas.shard(&global);
            if let Some(schedule) = &config.schedule {
                optimizer.set_lr(schedule.lr(step));
            }
            step += 1;
            // Dropout masks from the position (the epoch's shuffle seed and the batch), so a
            // resumed run draws the masks an uninterrupted one does.
            model.reseed_dropout(super::dropout_seed(config.seed + epoch as u64, index));
            optimizer.zero_grad();
            // [loss sum, hits, examples] of this shard, then of the whole batch.
            let mut sums = [0.0f64; 3];
            let mut shard = None;
            let loss = if indices.is_empty() {
                replicas.backward(None, 0, global.len())?;
                Tensor::scalar(0.0, DType::F32, device)?
            } else {
                let (x, y) = train.batch_of(indices, device)?;
                let logits = model.forward(&Var::constant(x.clone()))?;
                let loss = cross_entropy(&logits, &y, CrossEntropy::default())?;
                replicas.backward(Some(&loss), indices.len(), global.len())?;
                let n = indices.len() as f64;
                sums = [loss.value().to_scalar()? * n, logits.value().try_accuracy(&y)? * n, n];
                shard = Some((x, y));
                loss.value()
            };
            // Every replica sums (a collective), whatever it decides about the step below.
            replicas.sum(&mut sums)?;
            let bad = match check_step(step, &loss, &named, config.nonfinite) {
                Err(NnError::NonFinite { step, what }) if config.detect_anomaly => {
                    optimizer.zero_grad();
                    let found = match &shard {
                        Some((x, y)) => autograd::detect_anomaly(|| -> Result<()> {
                            let logits = model.forward(&Var::constant(x.clone()))?;
                            Ok(cross_entropy(&logits, y, CrossEntropy::default())?.backward()?)
                        })
                        .1
                        .map_or_else(
                            || "re-run under anomaly detection, no op produced it".into(),
                            |a| format!("re-run under anomaly detection: {a}"),
                        ),
                        None => "this replica had no examples in the batch to re-run".into(),
                    };
                    return Err(NnError::NonFinite { step, what: format!("{what} ({found})") });
                }
                other => other?,
            };
            if bad {
                skipped_steps += 1;
                optimizer.zero_grad();
            } else {
                if let Some(max) = config.clip_norm {
                    clip_grad_norm(&params, max)?;
                }
                optimizer.step()?;
                loss_mean.add(sums[0] / sums[2], sums[2]);
                hit_mean.add(sums[1] / sums[2], sums[2]);
            }
            if let Some(p) = &progress {
                p.step(format!("loss {:.4}", loss_mean.value()));
            }
            if let Some((dir, every)) = &config.checkpoint
                && replicas.rank() == 0
                && step.is_multiple_of((*every).max(1))
            {
                let position = TrainPosition {
                    epoch,
                    batches_done: index + 1,
                    step,
                    loss: loss_mean,
                    hits: hit_mean,
                    skipped: skipped_steps,
                    history: history.clone(),
                    notes: Vec::new(),
                };
                save_training(dir, model, &*optimizer, &position)?;
            }
        }
        if let Some(p) = progress {
            p.finish();
        }
        let eval = eval.map(|d| evaluate_classifier(model, d, 1000, device)).transpose()?;
        let stats = EpochStats {
            epoch,
            train_loss: loss_mean.value(),
            train_accuracy: hit_mean.value(),
            eval,
            seconds: started.elapsed().as_secs_f64(),
            skipped_steps,
        };
        on_epoch(&stats);
        history.push(stats);
        if let Some((dir, _)) = &config.checkpoint
            && replicas.rank() == 0
        {
            let position =
                TrainPosition { epoch: epoch + 1, step, history: history.clone(), ..TrainPosition::default() };
            save_training(dir, model, &*optimizer, &position)?;
        }
    }
    Ok(history)
}

/// Mean cross-entropy and accuracy of `model` on `data`, in eval mode, without a graph.
pub fn evaluate_classifier(
    model: &dyn Module,
    data: &dyn Examples,
    batch_size: usize,
    device: &Arc<dyn Device>,
) -> Result<(f64, f64)> {
    model.eval();
    let (mut loss_mean, mut hit_mean) = (Mean::default(), Mean::default());
    no_grad(|| -> Result<()> {
        for indices in Batches::over(data.count(), batch_size, None, LastBatch::Keep) {
            let (x, y) = data.batch_of(&indices, device)?;
            let logits = model.forward(&Var::constant(x))?;
            let n = indices.len() as f64;
            loss_mean.add(cross_entropy(&logits, &y, CrossEntropy::default())?.value().to_scalar()?, n);
            hit_mean.add(logits.value().try_accuracy(&y)?, n);
        }
        Ok(())
    })?;
    Ok((loss_mean.value(), hit_mean.value()))
}
