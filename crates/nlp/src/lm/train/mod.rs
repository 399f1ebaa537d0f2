//! Training a [`NeuralLm`] of any network (a recurrent LM, a GPT): truncated back-propagation
//! through time over parallel streams or batches of windows at random places, SGD with
//! gradient-norm clipping and Zaremba's step schedule or AdamW with warm-up and cosine decay
//! (optionally decaying matrices only), gradient accumulation, validation perplexity after
//! every epoch (for random windows: every `steps_per_epoch` steps), the best model kept as a
//! model folder, a progress bar with tokens/s and perplexity, a loss curve, and checkpoints to
//! resume from.
//!
//! The output folder holds `best/` (the model folder with the lowest validation perplexity),
//! `checkpoint/` (the latest state: a model folder plus `optimizer.safetensors` and
//! `trainer.json`) and `perplexity.svg`. Resuming from `checkpoint/` continues to the same
//! weights as a run that was never interrupted: the random stream of dropout masks is a
//! function of the seed and the step, the data position and the carried recurrent state are
//! saved, and so are the optimizer's buffers.

mod checkpoint;
mod step;

use std::path::Path;
use std::time::Instant;

use autograd::Var;
use nn_layers::optim::{Adam, AdamConfig, Cosine, LrSchedule, Optimizer, Sgd, SgdConfig, Warmup};
use nn_layers::train::{Alone, LossPlot, Progress, Replicas, shard_range};
use nn_layers::{ModuleExt, Param};
use tensor_core::Tensor;

use super::{
    BpttBatches, LanguageModel, LmNetwork, LmState, NeuralLm, RandomWindows, TokenStream, Window, save_model_folder,
};
use crate::{NlpError, Result};
pub use checkpoint::{CHECKPOINT_DIR, TrainerState};
pub use step::Stepper;

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
    /// `base`, multiplied by `factor` after each epoch whose validation perplexity was no
    /// better than the best before it (PyTorch's word-language-model example: 20, 0.25). The
    /// rate follows from the epoch history alone, so a resumed run goes on with it.
    Plateau {
        /// Initial rate.
        base: f64,
        /// Factor per epoch without improvement.
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
    /// The rate at `step` (0-based) of `epoch` (0-based), `total` steps in all, after the
    /// finished epochs of `history`.
    pub fn lr(&self, epoch: usize, step: usize, total: usize, history: &[EpochReport]) -> f64 {
        match *self {
            Schedule::Step { base, decay_after, factor } => {
                base * factor.powi((epoch + 1).saturating_sub(decay_after) as i32)
            }
            Schedule::Plateau { base, factor } => {
                base * factor.powi(history.iter().filter(|report| !report.best).count() as i32)
            }
            Schedule::WarmupCosine { base, warmup, min } => {
                let inner = Cosine { base, min, total: total.saturating_sub(warmup) };
                Warmup { inner, steps: warmup }.lr(step)
            }
        }
    }
}

/// Which windows of the training stream the steps read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Windows {
    /// The stream cut into `streams` contiguous parallel streams read in order, the state
    /// carried from window to window (truncated back-propagation through time); an epoch is
    /// one pass.
    Contiguous,
    /// `streams` windows at random places per step (nanoGPT's batches); an "epoch" is
    /// `steps_per_epoch` steps, after which the model is validated.
    Random {
        /// Steps between validations.
        steps_per_epoch: usize,
    },
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
    /// Which windows the steps read.
    pub windows: Windows,
    /// Windows whose gradients are summed (each loss divided by their number) before one
    /// update: gradient accumulation, a batch `accumulate` times larger in the same memory.
    pub accumulate: usize,
    /// Validate on at most this many evenly spaced windows of `eval_streams` (a network
    /// without carried state only; `None`: the whole validation stream).
    pub eval_windows: Option<usize>,
    /// AdamW decays only parameters of two or more axes (not biases, layer-norm scales), as
    /// GPT recipes do.
    pub decay_matrices_only: bool,
    /// AdamW's decay rates of the first and second moments.
    pub betas: (f64, f64),
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
            windows: Windows::Contiguous,
            accumulate: 1,
            eval_windows: None,
            decay_matrices_only: false,
            betas: (0.9, 0.999),
        }
    }

    /// nanoGPT's Shakespeare recipe (as `gpt_jax.py`): `steps` steps of 12 random windows of
    /// 64, AdamW 1e-3 with betas 0.9/0.99 and weight decay 0.1 on matrices only, 100 warm-up
    /// steps then cosine decay to 1e-4, clipping at 1.0, validation every `eval_every` steps
    /// on 200 windows of 12 (the JAX script's 200 batches). `steps` is rounded up to a multiple
    /// of `eval_every`.
    pub fn gpt_recipe(steps: usize, eval_every: usize) -> TrainConfig {
        TrainConfig {
            epochs: steps.div_ceil(eval_every.max(1)),
            streams: 12,
            window: 64,
            clip: 1.0,
            eval_streams: 12,
            betas: (0.9, 0.99),
            windows: Windows::Random { steps_per_epoch: eval_every.max(1) },
            eval_windows: Some(200),
            decay_matrices_only: true,
            ..TrainConfig::adamw_cosine(0.1, 1e-3, 100, 1e-4)
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

/// The windows of the training stream, in the order the steps read them.
enum Source<'a> {
    Contiguous(BpttBatches<'a>),
    Random(RandomWindows<'a>, usize),
}

impl Source<'_> {
    /// Windows per epoch.
    fn len(&self) -> usize {
        match self {
            Source::Contiguous(batches) => batches.len(),
            Source::Random(_, per_epoch) => *per_epoch,
        }
    }

    /// Window `index` of the epoch, read at step `step`.
    fn window(&self, index: usize, step: usize) -> Window {
        match self {
            Source::Contiguous(batches) => batches.window(index),
            Source::Random(windows, _) => windows.window(step),
        }
    }

    /// Tokens predicted per pass (what a checkpoint must have been trained on).
    fn predicted(&self, stream: &TokenStream) -> usize {
        match self {
            Source::Contiguous(batches) => batches.predicted(),
            Source::Random(..) => stream.predicted(),
        }
    }
}

/// The update rule of `config` over `params`.
fn optimizer(config: &TrainConfig, params: Vec<(String, Param)>) -> Box<dyn Optimizer> {
    match config.optimizer {
        OptimizerKind::Sgd => Box::new(Sgd::new(params, SgdConfig::new(0.0))),
        OptimizerKind::AdamW { weight_decay } => {
            let adam = Adam::new(params, AdamConfig { weight_decay, betas: config.betas, ..AdamConfig::adamw(0.0) });
            let matrices_only = config.decay_matrices_only;
            Box::new(adam.without_decay(|_, p| matrices_only && p.value().rank() < 2))
        }
    }
}

/// Trains `lm` on `train`, validating on `valid` after every epoch, writing into `out`. With
/// `resume`, continues from `out/checkpoint/` (an error names the file when it is missing or
/// does not fit). `on_epoch` sees each finished epoch.
pub fn train<M: LmNetwork>(
    lm: &NeuralLm<M>,
    train: &TokenStream,
    valid: &TokenStream,
    config: &TrainConfig,
    out: &Path,
    resume: bool,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainOutcome> {
    train_on(&mut Alone, lm, train, valid, config, out, resume, on_epoch)
}

/// [`train`] as one of `replicas` (data parallelism): every replica reads the same windows and
/// trains on its shard of their streams, the gradients and the training loss are averaged over
/// all, and replica 0 alone shows progress and writes the checkpoints, the best model and the
/// curve. A checkpoint at an epoch's end resumes on any number of replicas. Mid-epoch
/// checkpoints of a recurrent model (`max_steps`, `checkpoint_every` with contiguous windows)
/// are refused under several replicas: each replica's carried state covers only its streams.
#[allow(clippy::too_many_arguments)]
pub fn train_on<M: LmNetwork, R: Replicas>(
    replicas: &mut R,
    lm: &NeuralLm<M>,
    train: &TokenStream,
    valid: &TokenStream,
    config: &TrainConfig,
    out: &Path,
    resume: bool,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainOutcome> {
    let leads = replicas.rank() == 0;
    let alone = replicas.world() == 1;
    if !alone
        && matches!(config.windows, Windows::Contiguous)
        && (config.max_steps.is_some() || config.checkpoint_every > 0)
    {
        return Err(NlpError::Invalid(
            "mid-epoch checkpoints (--max-steps, --checkpoint-every) of a recurrent model are not written under several \
             ranks (each rank carries the state of its own streams); checkpoints at the end of each epoch are"
                .into(),
        ));
    }
    let model = lm.model();
    let device = lm.device().clone();
    if let Some(context) = model.context()
        && config.window > context
    {
        return Err(NlpError::ContextTooLong { tokens: config.window, context });
    }
    let source = match config.windows {
        Windows::Contiguous => Source::Contiguous(BpttBatches::training(train, config.streams, config.window)?),
        Windows::Random { steps_per_epoch } => Source::Random(
            RandomWindows::new(train, config.streams, config.window, config.seed)?,
            steps_per_epoch.max(1),
        ),
    };
    let accumulate = config.accumulate.max(1);
    let total_steps = config.epochs * source.len().div_ceil(accumulate);
    let params = model.parameters();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut optimizer = optimizer(config, params);
    if leads {
        std::fs::create_dir_all(out).map_err(|source| NlpError::Io { path: out.to_path_buf(), source })?;
    }
    let mut state = TrainerState::fresh(config, source.predicted(train));
    let mut carried: Option<LmState> = None;
    if resume {
        (state, carried) = checkpoint::restore(out, lm, optimizer.as_mut(), config, source.predicted(train))?;
    }
    let mut bar: Option<Progress> = None;
    let mut started = Instant::now();
    let mut tokens_since = 0usize;
    while state.epoch < config.epochs {
        if config.max_steps.is_some_and(|max| state.step >= max) {
            if leads {
                checkpoint::save(out, lm, optimizer.as_ref(), &state, carried.as_ref().filter(|_| alone))?;
            }
            return Ok(TrainOutcome { history: state.history, steps: state.step, finished: false });
        }
        if config.progress && leads && bar.is_none() {
            bar = Some(Progress::new(source.len() as u64, &format!("epoch {}", state.epoch + 1)));
        }
        let lr = config.schedule.lr(state.epoch, state.step, total_steps, &state.history);
        optimizer.set_lr(lr);
        optimizer.zero_grad();
        let parts = accumulate.min(source.len() - state.window);
        let stepper = Stepper { model, leaves: &leaves, config };
        for part in 0..parts {
            let window = source.window(state.window, state.step * accumulate + part);
            let (steps, global) = (window.steps, window.streams);
            let (inputs, targets) = shard_window(&window, replicas.rank(), replicas.world());
            let streams = inputs.len() / steps.max(1);
            let inputs = Tensor::from_vec(inputs, [steps, streams], &device)?;
            let targets = Tensor::from_vec(targets, [steps * streams], &device)?;
            let seed = state.step * accumulate + part;
            let (mean_nll, next) =
                stepper.accumulate_on(replicas, &inputs, &targets, carried.as_ref(), seed, parts, global)?;
            carried = Some(next);
            let mut sums = [mean_nll * (steps * streams) as f64];
            replicas.sum(&mut sums)?;
            let cells = steps * global;
            state.nll_sum += sums[0];
            state.nll_tokens += cells;
            state.window += 1;
            tokens_since += cells;
        }
        stepper.update(optimizer.as_mut())?;
        state.step += 1;
        if let Some(bar) = &bar {
            let rate = tokens_since as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let ppl = (state.nll_sum / state.nll_tokens as f64).exp();
            bar.set(state.window as u64, format!("ppl {ppl:.2}, {rate:.0} tok/s, lr {lr:.2e}"));
        }
        if state.window == source.len() {
            if let Some(bar) = bar.take() {
                bar.finish();
            }
            let seconds = started.elapsed().as_secs_f64();
            let pace = EpochPace { lr, seconds, tokens: tokens_since };
            let report = finish_epoch(lm, valid, config, leads.then_some(out), &mut state, pace)?;
            carried = None;
            if leads {
                checkpoint::save(out, lm, optimizer.as_ref(), &state, None)?;
            }
            on_epoch(&report);
            (started, tokens_since) = (Instant::now(), 0);
        } else if leads && config.checkpoint_every > 0 && state.step.is_multiple_of(config.checkpoint_every) {
            checkpoint::save(out, lm, optimizer.as_ref(), &state, carried.as_ref().filter(|_| alone))?;
        }
    }
    Ok(TrainOutcome { history: state.history, steps: state.step, finished: true })
}

/// Replica `rank` of `world`'s streams of `window` (see [`shard_range`]): its inputs and
/// targets, each `[T, n]` for its `n` streams.
fn shard_window(window: &Window, rank: usize, world: usize) -> (Vec<i64>, Vec<i64>) {
    if world == 1 {
        return (window.inputs.clone(), window.targets.clone());
    }
    let mine = shard_range(window.streams, rank, world);
    let pick = |all: &[i64]| -> Vec<i64> {
        all.chunks(window.streams.max(1)).flat_map(|row| row[mine.clone()].iter().copied()).collect()
    };
    (pick(&window.inputs), pick(&window.targets))
}

/// How an epoch ran: its learning rate, wall time and tokens trained.
struct EpochPace {
    lr: f64,
    seconds: f64,
    tokens: usize,
}

/// Validates, keeps the best model, records the epoch and redraws the curve.
fn finish_epoch<M: LmNetwork>(
    lm: &NeuralLm<M>,
    valid: &TokenStream,
    config: &TrainConfig,
    out: Option<&Path>,
    state: &mut TrainerState,
    EpochPace { lr, seconds, tokens }: EpochPace,
) -> Result<EpochReport> {
    let valid_ppl = lm.sampled_perplexity(valid, config.eval_streams, config.eval_windows)?;
    let best = state.history.iter().all(|e| valid_ppl < e.valid_ppl);
    if let (true, Some(out)) = (best, out) {
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
    let points = |ppl: fn(&EpochReport) -> f64| -> Vec<(f64, f64)> {
        state.history.iter().map(|e| (e.epoch as f64, ppl(e))).collect()
    };
    let x_label = match config.windows {
        Windows::Contiguous => "epoch".to_string(),
        Windows::Random { steps_per_epoch } => format!("evaluation (every {steps_per_epoch} steps)"),
    };
    let Some(out) = out else { return Ok(report) };
    LossPlot::new(format!("{} perplexity", lm.describe()))
        .x_label(x_label)
        .y_label("perplexity")
        .log_y(true)
        .series("train", points(|e| e.train_ppl))
        .series("validation", points(|e| e.valid_ppl))
        .write(&out.join("perplexity.svg"))?;
    Ok(report)
}
