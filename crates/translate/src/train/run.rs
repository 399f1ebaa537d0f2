//! The training loop: token-count batches in a seeded order, Adam with an optional
//! inverse-square-root warm-up, label smoothing, gradient clipping, a progress bar with tokens/s,
//! validation BLEU and chrF after every epoch, and resumable checkpoints (nn-layers'
//! `save_training` / `load_training`: the batch order is a function of the seed and the epoch,
//! so the position is the epoch and the batches done in it).

use std::path::{Path, PathBuf};
use std::time::Instant;

use nn_layers::optim::{Constant, InverseSqrt, LrSchedule, Optimizer};
use nn_layers::train::{EpochStats, LossPlot, Progress, TrainPosition, load_training, save_training};
use nn_layers::{Module, ModuleExt};

use super::clock::process_cpu_seconds;
use super::train_step;
use crate::data::{Example, Pair, Vocabulary, pair_batch, token_batches};
use crate::decode::{DecodeOptions, translate_texts};
use crate::metrics::{corpus_bleu, corpus_chrf};
use crate::{Result, Seq2Seq, TranslateError};

/// Options of [`fit`].
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Padded tokens per batch.
    pub max_tokens: usize,
    /// Adam's learning rate (the peak, with warm-up).
    pub lr: f64,
    /// Inverse-square-root schedule with this many warm-up steps; `None`: constant rate.
    pub warmup: Option<usize>,
    /// Label smoothing ε.
    pub smoothing: f64,
    /// Clip gradients to this global L2 norm.
    pub clip: Option<f64>,
    /// Seed of the batch order and of dropout.
    pub seed: u64,
    /// Validation sentences scored after each epoch (the first ones of the split).
    pub valid_sentences: usize,
    /// Decoding of the validation sentences.
    pub decode: DecodeOptions,
    /// Write a training checkpoint here every `checkpoint_every` steps and after each epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// Steps between checkpoints.
    pub checkpoint_every: usize,
    /// Continue from the checkpoint in `checkpoint_dir`.
    pub resume: bool,
    /// Stop after this many optimizer steps in all (a checkpoint is written first).
    pub max_steps: Option<usize>,
    /// Stop once the training steps of this run have used this many seconds of process CPU
    /// time (`getrusage`: every thread, user and system; validation not counted). The epoch in
    /// progress is then validated and ends there. Fair across runs on a shared machine when the
    /// thread count is the same.
    pub cpu_budget: Option<f64>,
    /// Stop once the training steps of this run have taken this many wall-clock seconds, in
    /// the same way as `cpu_budget`.
    pub wall_budget: Option<f64>,
    /// Show a progress bar.
    pub progress: bool,
}

impl TrainConfig {
    /// `epochs` passes with batches of `max_tokens` tokens, Adam at `lr`, no warm-up, label
    /// smoothing 0.1, clipping at 1, greedy validation on 500 sentences, no checkpoints.
    pub fn new(epochs: usize, max_tokens: usize, lr: f64) -> TrainConfig {
        TrainConfig {
            epochs,
            max_tokens,
            lr,
            warmup: None,
            smoothing: 0.1,
            clip: Some(1.0),
            seed: 0,
            valid_sentences: 500,
            decode: DecodeOptions::default(),
            checkpoint_dir: None,
            checkpoint_every: 500,
            resume: false,
            max_steps: None,
            cpu_budget: None,
            wall_budget: None,
            progress: false,
        }
    }
}

/// What one epoch achieved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss per target token.
    pub train_loss: f64,
    /// Validation BLEU and chrF (greedy), when there is a validation set.
    pub valid: Option<(f64, f64)>,
    /// Wall time of the epoch, validation included.
    pub seconds: f64,
}

/// How training ended.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// Every finished epoch (resumed ones included).
    pub history: Vec<EpochReport>,
    /// Optimizer steps taken in all.
    pub steps: usize,
    /// Target tokens per second over this run's steps.
    pub tokens_per_second: f64,
    /// Whether `max_steps` stopped training before the last epoch ended.
    pub stopped: bool,
    /// Whether `cpu_budget` or `wall_budget` ended training (after validating the epoch in
    /// progress).
    pub budget_spent: bool,
    /// Process CPU seconds the training steps of this run used (validation not included).
    pub cpu_seconds: f64,
    /// Wall-clock seconds the training steps of this run took (validation not included).
    pub step_seconds: f64,
}

/// The epoch reports kept in a training checkpoint: validation BLEU and chrF travel in
/// `EpochStats::eval`.
fn report(stats: &EpochStats) -> EpochReport {
    EpochReport { epoch: stats.epoch, train_loss: stats.train_loss, valid: stats.eval, seconds: stats.seconds }
}

/// Trains `model` on `train` with `optimizer`; after each epoch scores greedy translations of
/// the first `valid_sentences` pairs of `valid` and calls `on_epoch` with every finished epoch
/// so far, resumed ones included (e.g. to keep the best model and draw the curves).
pub fn fit<M: Seq2Seq>(
    model: &M,
    optimizer: &mut dyn Optimizer,
    vocab: &Vocabulary,
    train: &[Example],
    valid: &[Pair],
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(&[EpochReport]) -> Result<()>,
) -> Result<TrainOutcome> {
    if train.is_empty() || config.max_tokens == 0 {
        return Err(TranslateError::Invalid("training needs at least one pair and a positive token budget".into()));
    }
    let device = model
        .parameters()
        .first()
        .map(|(_, p)| p.value().device().clone())
        .ok_or_else(|| TranslateError::Invalid("the model has no parameters".into()))?;
    let checkpoint = |position: &TrainPosition, optimizer: &dyn Optimizer| -> Result<()> {
        match &config.checkpoint_dir {
            Some(dir) => Ok(save_training(dir, model as &dyn Module, optimizer, position)?),
            None => Ok(()),
        }
    };
    let mut position = match (&config.checkpoint_dir, config.resume) {
        (Some(dir), true) => load_training(dir, model, optimizer)?,
        (None, true) => return Err(TranslateError::Invalid("resuming needs a checkpoint folder".into())),
        _ => TrainPosition { epoch: 1, ..TrainPosition::default() },
    };
    let schedule: Box<dyn LrSchedule> = match config.warmup {
        Some(warmup) => Box::new(InverseSqrt { peak: config.lr, warmup }),
        None => Box::new(Constant(config.lr)),
    };
    let lengths: Vec<(usize, usize)> = train.iter().map(|e| (e.source.len(), e.target.len())).collect();
    let (valid_sources, valid_refs): (Vec<String>, Vec<String>) =
        valid.iter().take(config.valid_sentences).map(|p| (p.source.clone(), p.target.clone())).unzip();
    let (run_start, mut run_tokens) = (Instant::now(), 0usize);
    let (mut cpu_seconds, mut step_seconds, mut budget_spent) = (0.0, 0.0, false);
    let over_budget = |cpu: f64, wall: f64| {
        config.cpu_budget.is_some_and(|b| cpu >= b) || config.wall_budget.is_some_and(|b| wall >= b)
    };
    while position.epoch <= config.epochs && !budget_spent {
        let epoch_start = Instant::now();
        let batches = token_batches(&lengths, config.max_tokens, Some(config.seed.wrapping_add(position.epoch as u64)));
        let bar = config.progress.then(|| Progress::new(batches.len() as u64, &format!("epoch {}", position.epoch)));
        if let Some(bar) = &bar {
            bar.set(position.batches_done as u64, "");
        }
        for indices in &batches[position.batches_done.min(batches.len())..] {
            if config.max_steps.is_some_and(|m| position.step >= m) {
                checkpoint(&position, optimizer)?;
                if let Some(bar) = &bar {
                    bar.finish();
                }
                let history = position.history.iter().map(report).collect();
                return Ok(TrainOutcome {
                    history,
                    steps: position.step,
                    tokens_per_second: rate(run_tokens, run_start),
                    stopped: true,
                    budget_spent: false,
                    cpu_seconds,
                    step_seconds,
                });
            }
            if over_budget(cpu_seconds, step_seconds) {
                budget_spent = true;
                break;
            }
            let (cpu_before, wall_before) = (process_cpu_seconds()?, Instant::now());
            optimizer.set_lr(schedule.lr(position.step));
            let batch = pair_batch(train, indices, vocab, &device)?;
            let tokens: usize = batch.1.lengths.iter().sum();
            let seed = config.seed.wrapping_mul(0x9E37_79B9).wrapping_add(position.step as u64);
            let loss = train_step(model, optimizer, &batch, config.smoothing, config.clip, seed)?;
            if !loss.is_finite() {
                return Err(TranslateError::Invalid(format!("the loss is {loss} at step {}", position.step)));
            }
            cpu_seconds += process_cpu_seconds()? - cpu_before;
            step_seconds += wall_before.elapsed().as_secs_f64();
            position.loss.add(loss, tokens as f64);
            position.step += 1;
            position.batches_done += 1;
            run_tokens += tokens;
            if let Some(bar) = &bar {
                bar.step(format!("loss {:.3} {:.0} tok/s", position.loss.value(), rate(run_tokens, run_start)));
            }
            if position.step % config.checkpoint_every.max(1) == 0 {
                checkpoint(&position, optimizer)?;
            }
        }
        if let Some(bar) = &bar {
            bar.finish();
        }
        if budget_spent && position.batches_done == 0 {
            // The budget ran out exactly at an epoch boundary: nothing new to validate.
            break;
        }
        let valid_scores = if valid_sources.is_empty() {
            None
        } else {
            let hyps = translate_texts(model, vocab, &valid_sources, &config.decode, 64, &device)?;
            Some((corpus_bleu(&hyps, &valid_refs)?.score, corpus_chrf(&hyps, &valid_refs)?))
        };
        let stats = EpochStats {
            epoch: position.epoch,
            train_loss: position.loss.value(),
            train_accuracy: 0.0,
            eval: valid_scores,
            seconds: epoch_start.elapsed().as_secs_f64(),
            skipped_steps: 0,
        };
        position.history.push(stats);
        position = TrainPosition {
            epoch: position.epoch + 1,
            step: position.step,
            history: position.history,
            ..TrainPosition::default()
        };
        checkpoint(&position, optimizer)?;
        on_epoch(&position.history.iter().map(report).collect::<Vec<_>>())?;
    }
    let history = position.history.iter().map(report).collect();
    Ok(TrainOutcome {
        history,
        steps: position.step,
        tokens_per_second: rate(run_tokens, run_start),
        stopped: false,
        budget_spent,
        cpu_seconds,
        step_seconds,
    })
}

/// Tokens per second since `start`.
fn rate(tokens: usize, start: Instant) -> f64 {
    tokens as f64 / start.elapsed().as_secs_f64().max(1e-9)
}

/// Draws the training loss and the validation BLEU per epoch into `loss.svg` and `bleu.svg` in
/// `dir`.
pub fn write_curves(dir: &Path, history: &[EpochReport]) -> Result<()> {
    let point = |f: &dyn Fn(&EpochReport) -> Option<f64>| -> Vec<(f64, f64)> {
        history.iter().filter_map(|r| f(r).map(|y| (r.epoch as f64, y))).collect()
    };
    LossPlot::new("training loss per target token")
        .x_label("epoch")
        .y_label("loss")
        .series("train", point(&|r| Some(r.train_loss)))
        .write(&dir.join("loss.svg"))?;
    LossPlot::new("validation BLEU (greedy)")
        .x_label("epoch")
        .y_label("BLEU")
        .series("valid BLEU", point(&|r| r.valid.map(|v| v.0)))
        .series("valid chrF", point(&|r| r.valid.map(|v| v.1)))
        .write(&dir.join("bleu.svg"))?;
    Ok(())
}
