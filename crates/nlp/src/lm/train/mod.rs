//! Training a [`NeuralLm`]: truncated back-propagation through time over parallel streams, SGD
//! with gradient-norm clipping and Zaremba's step schedule or AdamW with warm-up and cosine
//! decay, validation perplexity after every epoch, the best model kept as a model folder, a
//! progress bar with tokens/s and perplexity, a loss curve, and checkpoints to resume from.
//!
//! The output folder holds `best/` (the model folder with the lowest validation perplexity),
//! `checkpoint/` (the latest state: a model folder plus `optimizer.safetensors` and
//! `trainer.json`) and `perplexity.svg`. Resuming from `checkpoint/` continues to the same
//! weights as a run that was never interrupted: the random stream of dropout masks is a
//! function of the seed and the step, the data position and the carried recurrent state are
//! saved, and so are the optimizer's buffers.

mod checkpoint;

use std::path::Path;
use std::time::Instant;

use autograd::{Var, clip_grad_norm};
use nn_layers::ModuleExt;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Cosine, LrSchedule, Optimizer, Sgd, SgdConfig, Warmup};
use nn_layers::train::{Progress, write_loss_svg};
use tensor_core::Tensor;

use super::{BpttBatches, LanguageModel, LmState, NeuralLm, RnnLm, TokenStream, save_model_folder};
use crate::{NlpError, Result};
pub use checkpoint::{CHECKPOINT_DIR, TrainerState};

/// The update rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// Plain SGD (Zaremba et al.).
    Sgd,
    /// AdamW with this decoupled weight decay.
    AdamW {
        /// Weight decay.
        weight_decay: f64,
    },
}

/// The learning rate over training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// `base` for the first `decay_after` epochs, then multiplied by `factor` after each
    /// epoch (Zaremba "small": 1.0, 4, 0.5).
    Step {
        /// Initial rate.
        base: f64,
        /// Epochs at the initial rate.
        decay_after: usize,
        /// Factor per later epoch.
        factor: f64,
    },
    /// Linear warm-up to `base` over `warmup` steps, then cosine decay to `min` at the last
    /// step of training.
    WarmupCosine {
        /// Peak rate.
        base: f64,
        /// Warm-up steps.
        warmup: usize,
        /// Final rate.
        min: f64,
    },
}

impl Schedule {
    /// The rate at `step` (0-based) of `epoch` (0-based), `total` steps in all.
    pub fn lr(&self, epoch: usize, step: usize, total: usize) -> f64 {
        match *self {
            Schedule::Step { base, decay_after, factor } => {
                base * factor.powi((epoch + 1).saturating_sub(decay_after) as i32)
            }
            Schedule::WarmupCosine { base, warmup, min } => {
                let inner = Cosine { base, min, total: total.saturating_sub(warmup) };
                Warmup { inner, steps: warmup }.lr(step)
            }
        }
    }
}

/// How to train.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training stream.
    pub epochs: usize,
    /// Parallel streams (the batch size).
    pub streams: usize,
    /// Steps per window of back-propagation through time.
    pub window: usize,
    /// The update rule.
    pub optimizer: OptimizerKind,
    /// The learning rate over training.
    pub schedule: Schedule,
    /// Largest global gradient norm (0: no clipping).
    pub clip: f64,
    /// Loss summed over the window's steps and averaged over streams, as Zaremba's code does
    /// (the learning rate 1 of the recipe assumes it); otherwise averaged over every token.
    pub sum_over_time: bool,
    /// Seed of the dropout masks.
    pub seed: u64,
    /// Stop after this many steps in total, writing a checkpoint (e.g. a time budget).
    pub max_steps: Option<usize>,
    /// Steps between checkpoints besides the one after every epoch (0: only those).
    pub checkpoint_every: usize,
    /// Parallel streams when computing validation perplexity.
    pub eval_streams: usize,
    /// Show a progress bar.
    pub progress: bool,
}

impl TrainConfig {
    /// Zaremba et al.'s "small" recipe: 13 epochs, 20 streams x 20 steps, SGD at 1.0 halved
    /// after every epoch from the 5th, clipping at 5, loss summed over time.
    pub fn zaremba_small() -> TrainConfig {
        TrainConfig {
            epochs: 13,
            streams: 20,
            window: 20,
            optimizer: OptimizerKind::Sgd,
            schedule: Schedule::Step { base: 1.0, decay_after: 4, factor: 0.5 },
            clip: 5.0,
            sum_over_time: true,
            seed: 0,
            max_steps: None,
            checkpoint_every: 0,
            eval_streams: 10,
            progress: false,
        }
    }

    /// AdamW with `weight_decay`, a linear warm-up over `warmup` steps to `base`, then cosine
    /// decay to `min`, the loss averaged over every token (the recipe for small models); the
    /// rest as in [`TrainConfig::zaremba_small`].
    pub fn adamw_cosine(weight_decay: f64, base: f64, warmup: usize, min: f64) -> TrainConfig {
        TrainConfig {
            optimizer: OptimizerKind::AdamW { weight_decay },
            schedule: Schedule::WarmupCosine { base, warmup, min },
            sum_over_time: false,
            ..TrainConfig::zaremba_small()
        }
    }
}

/// What one epoch gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Perplexity on the training windows of the epoch (dropout on).
    pub train_ppl: f64,
    /// Perplexity on the validation stream.
    pub valid_ppl: f64,
    /// The learning rate at the epoch's last step.
    pub lr: f64,
    /// Wall time of the epoch's training steps (validation excluded).
    pub seconds: f64,
    /// Training tokens per second.
    pub tokens_per_second: f64,
    /// Whether the model is the best so far (and was saved to `best/`).
    pub best: bool,
}

/// How a call to [`train`] ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOutcome {
    /// Every finished epoch, those of earlier runs when resumed included.
    pub history: Vec<EpochReport>,
    /// Steps taken in all.
    pub steps: usize,
    /// Whether every epoch ran (false when stopped by `max_steps`).
    pub finished: bool,
}

/// The dropout seed of a step: a fixed function of the run's seed and the step, so that a
/// resumed run draws the same masks.
fn step_seed(seed: u64, step: usize) -> u64 {
    let mut z = seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Trains `lm` on `train`, validating on `valid` after every epoch, writing into `out`. With
/// `resume`, continues from `out/checkpoint/` (an error names the file when it is missing or
/// does not fit). `on_epoch` sees each finished epoch.
pub fn train(
    lm: &NeuralLm,
    train: &TokenStream,
    valid: &TokenStream,
    config: &TrainConfig,
    out: &Path,
    resume: bool,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainOutcome> {
    let model = lm.model();
    let device = lm.device().clone();
    let batches = BpttBatches::training(train, config.streams, config.window)?;
    let total_steps = config.epochs * batches.len();
    let params = model.parameters();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut optimizer: Box<dyn Optimizer> = match config.optimizer {
        OptimizerKind::Sgd => Box::new(Sgd::new(params, SgdConfig::new(0.0))),
        OptimizerKind::AdamW { weight_decay } => {
            Box::new(Adam::new(params, AdamConfig { weight_decay, ..AdamConfig::adamw(0.0) }))
        }
    };
    std::fs::create_dir_all(out).map_err(|source| NlpError::Io { path: out.to_path_buf(), source })?;
    let mut state = TrainerState::fresh(config, &batches);
    let mut carried: Option<LmState> = None;
    if resume {
        (state, carried) = checkpoint::restore(out, lm, optimizer.as_mut(), config, &batches)?;
    }
    let mut bar: Option<Progress> = None;
    let mut started = Instant::now();
    let mut tokens_since = 0usize;
    while state.epoch < config.epochs {
        if config.max_steps.is_some_and(|max| state.step >= max) {
            checkpoint::save(out, lm, optimizer.as_ref(), &state, carried.as_ref())?;
            return Ok(TrainOutcome { history: state.history, steps: state.step, finished: false });
        }
        if config.progress && bar.is_none() {
            bar = Some(Progress::new(batches.len() as u64, &format!("epoch {}", state.epoch + 1)));
        }
        let lr = config.schedule.lr(state.epoch, state.step, total_steps);
        optimizer.set_lr(lr);
        let window = batches.window(state.window);
        let (steps, streams) = (window.steps, window.streams);
        let inputs = Tensor::from_vec(window.inputs, [steps, streams], &device)?;
        let targets = Tensor::from_vec(window.targets, [steps * streams], &device)?;
        let stepper = Stepper { model, leaves: &leaves, config };
        let (mean_nll, next) = stepper.step(optimizer.as_mut(), &inputs, &targets, carried.as_ref(), state.step)?;
        carried = Some(next);
        let cells = steps * streams;
        state.nll_sum += mean_nll * cells as f64;
        state.nll_tokens += cells;
        state.step += 1;
        state.window += 1;
        tokens_since += cells;
        if let Some(bar) = &bar {
            let rate = tokens_since as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let ppl = (state.nll_sum / state.nll_tokens as f64).exp();
            bar.set(state.window as u64, format!("ppl {ppl:.1}, {rate:.0} tok/s, lr {lr:.4}"));
        }
        if state.window == batches.len() {
            if let Some(bar) = bar.take() {
                bar.finish();
            }
            let seconds = started.elapsed().as_secs_f64();
            let report =
                finish_epoch(lm, valid, config, out, &mut state, EpochPace { lr, seconds, tokens: tokens_since })?;
            carried = None;
            checkpoint::save(out, lm, optimizer.as_ref(), &state, None)?;
            on_epoch(&report);
            (started, tokens_since) = (Instant::now(), 0);
        } else if config.checkpoint_every > 0 && state.step.is_multiple_of(config.checkpoint_every) {
            checkpoint::save(out, lm, optimizer.as_ref(), &state, carried.as_ref())?;
        }
    }
    Ok(TrainOutcome { history: state.history, steps: state.step, finished: true })
}

/// One training step of truncated back-propagation through time: what [`train`] runs per
/// window, public so that benchmarks time exactly the trainer's step.
pub struct Stepper<'a> {
    /// The model being trained.
    pub model: &'a RnnLm,
    /// Its parameters' leaves (clipping reads their gradients).
    pub leaves: &'a [Var],
    /// The recipe (loss scaling, clipping, dropout seed).
    pub config: &'a TrainConfig,
}

impl Stepper<'_> {
    /// Forward over ids `[T, N]` from `carried` (zeros when `None`), cross-entropy against
    /// `targets` `[T·N]`, backward, clipping and `optimizer`'s update at its current rate.
    /// Returns the mean negative log-likelihood per token and the state after the window,
    /// detached from the graph.
    pub fn step(
        &self,
        optimizer: &mut dyn Optimizer,
        inputs: &Tensor,
        targets: &Tensor,
        carried: Option<&LmState>,
        step: usize,
    ) -> Result<(f64, LmState)> {
        let steps = inputs.dims().first().copied().unwrap_or(0);
        optimizer.zero_grad();
        let (logits, next) = self.model.forward_ids(inputs, carried, Some(step_seed(self.config.seed, step)))?;
        let mean = cross_entropy(&logits, targets, CrossEntropy::default())?;
        let loss = if self.config.sum_over_time { mean.scale(steps as f64)? } else { mean.clone() };
        loss.backward()?;
        if self.config.clip > 0.0 {
            clip_grad_norm(self.leaves, self.config.clip)?;
        }
        optimizer.step()?;
        Ok((mean.value().to_scalar()?, next.detach()))
    }
}

/// How an epoch ran: its learning rate, wall time and tokens trained.
struct EpochPace {
    lr: f64,
    seconds: f64,
    tokens: usize,
}

/// Validates, keeps the best model, records the epoch and redraws the curve.
fn finish_epoch(
    lm: &NeuralLm,
    valid: &TokenStream,
    config: &TrainConfig,
    out: &Path,
    state: &mut TrainerState,
    EpochPace { lr, seconds, tokens }: EpochPace,
) -> Result<EpochReport> {
    let valid_ppl = lm.stream_perplexity(valid, config.eval_streams)?;
    let best = state.history.iter().all(|e| valid_ppl < e.valid_ppl);
    if best {
        save_model_folder(&out.join("best"), lm)?;
    }
    let report = EpochReport {
        epoch: state.epoch + 1,
        train_ppl: (state.nll_sum / state.nll_tokens.max(1) as f64).exp(),
        valid_ppl,
        lr,
        seconds,
        tokens_per_second: tokens as f64 / seconds.max(1e-9),
        best,
    };
    state.history.push(report);
    state.epoch += 1;
    state.window = 0;
    (state.nll_sum, state.nll_tokens) = (0.0, 0);
    let train: Vec<f64> = state.history.iter().map(|e| e.train_ppl).collect();
    let valid: Vec<f64> = state.history.iter().map(|e| e.valid_ppl).collect();
    let title = format!("{} perplexity per epoch", lm.describe());
    write_loss_svg(&out.join("perplexity.svg"), &title, &[("train", &train), ("validation", &valid)])?;
    Ok(report)
}
