//! Masked-LM pretraining of a [`Bert`]: batches of inputs drawn at random, masked afresh at
//! every step, AdamW (no decay on biases and layer-norm scales) with a linear warm-up and a
//! cosine decay, gradient-norm clipping, and every `eval_every` steps the held-out masked-token
//! accuracy on held-out inputs masked once with a fixed seed (the same positions every time,
//! and the same ones [`majority_baseline`] scores). The best model is kept as a model folder.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use autograd::{Var, clip_grad_norm, no_grad};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Cosine, LrSchedule, Optimizer, Warmup};
use nn_layers::train::{LossPlot, Progress};
use nn_layers::{ModuleExt, Param};
use tensor_core::{Device, TensorRng};

use super::{Bert, BertVocab, EncodedInput, MaskedBatch, Masking, mask_inputs, save_bert};
use crate::{NlpError, Result};

/// How to pretrain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PretrainConfig {
    /// Optimizer steps in all.
    pub steps: usize,
    /// Inputs per step.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: usize,
    /// The rate the cosine decay ends at.
    pub min_lr: f64,
    /// AdamW's decoupled weight decay (matrices and embeddings only).
    pub weight_decay: f64,
    /// AdamW's moment decay rates.
    pub betas: (f64, f64),
    /// Largest global gradient norm (0: no clipping).
    pub clip: f64,
    /// Steps between held-out evaluations (the last step is always evaluated).
    pub eval_every: usize,
    /// Held-out inputs scored at each evaluation (the first ones; `None`: all).
    pub eval_inputs: Option<usize>,
    /// How tokens are hidden.
    pub masking: Masking,
    /// Seed of batches, masks and dropout.
    pub seed: u64,
    /// Stop (after an evaluation) once training has run this long.
    pub time_limit: Option<Duration>,
    /// Show a progress bar.
    pub progress: bool,
}

impl Default for PretrainConfig {
    /// 1,000 steps of 32 inputs, AdamW 1e-3 (betas 0.9/0.999, weight decay 0.01), 100 warm-up
    /// steps then cosine to 1e-5, clipping at 1, evaluation every 200 steps on 256 inputs.
    fn default() -> Self {
        PretrainConfig {
            steps: 1000,
            batch: 32,
            lr: 1e-3,
            warmup: 100,
            min_lr: 1e-5,
            weight_decay: 0.01,
            betas: (0.9, 0.999),
            clip: 1.0,
            eval_every: 200,
            eval_inputs: Some(256),
            masking: Masking::default(),
            seed: 0,
            time_limit: None,
            progress: false,
        }
    }
}

impl PretrainConfig {
    /// The held-out inputs as [`pretrain`] scores them: the first `eval_inputs` of them, in
    /// batches of `batch`, masked once with draws from a seed derived from `seed` (so that
    /// [`majority_baseline`] can score the same positions).
    pub fn held_out_batches(
        &self,
        held_out: &[EncodedInput],
        vocab: &BertVocab,
        device: &Arc<dyn Device>,
    ) -> Result<Vec<MaskedBatch>> {
        let scored = &held_out[..self.eval_inputs.unwrap_or(held_out.len()).min(held_out.len())];
        masked_batches(scored, vocab, &self.masking, self.seed ^ 0x5EED, self.batch, device)
    }
}

/// A held-out score: masked-LM loss and accuracy over the chosen positions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaskedScore {
    /// Mean cross-entropy (nats) at the chosen positions.
    pub loss: f64,
    /// Fraction of chosen positions whose most probable id is the original one.
    pub accuracy: f64,
    /// Chosen positions scored.
    pub predicted: usize,
}

/// What one evaluation gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalReport {
    /// Steps taken so far.
    pub step: usize,
    /// Mean training loss since the previous evaluation.
    pub train_loss: f64,
    /// The held-out score.
    pub held_out: MaskedScore,
    /// The learning rate of the last step.
    pub lr: f64,
    /// Training wall time so far (evaluations excluded).
    pub seconds: f64,
    /// Whether the model is the most accurate so far (and was saved to `best/`).
    pub best: bool,
}

/// How a call to [`pretrain`] ended.
#[derive(Clone, Debug, PartialEq)]
pub struct PretrainOutcome {
    /// Every evaluation.
    pub history: Vec<EvalReport>,
    /// Steps taken.
    pub steps: usize,
    /// Whether the time limit stopped training before `steps`.
    pub stopped_by_time: bool,
}

/// The held-out inputs masked once: batches of `batch` masked with draws from `seed` alone.
pub fn masked_batches(
    inputs: &[EncodedInput],
    vocab: &BertVocab,
    masking: &Masking,
    seed: u64,
    batch: usize,
    device: &Arc<dyn Device>,
) -> Result<Vec<MaskedBatch>> {
    let mut rng = TensorRng::new(seed);
    inputs.chunks(batch.max(1)).map(|chunk| mask_inputs(chunk, vocab, masking, &mut rng, device)).collect()
}

/// Loss and accuracy of `bert` at the chosen positions of `batches`.
pub fn evaluate_masked(bert: &Bert, batches: &[MaskedBatch]) -> Result<MaskedScore> {
    let (mut nll, mut right, mut count) = (0.0, 0usize, 0usize);
    no_grad(|| -> Result<()> {
        for masked in batches {
            let hidden = bert.encode(&masked.batch)?;
            let logits = bert.mlm_logits(&hidden, Some(&masked.rows))?;
            let n = masked.targets.len();
            nll += cross_entropy(&logits, &masked.labels, CrossEntropy::default())?.value().to_scalar()? * n as f64;
            let guesses = logits.value().argmax(-1, false).to_vec::<i64>()?;
            right += guesses.iter().zip(&masked.targets).filter(|(g, t)| **g == **t as i64).count();
            count += n;
        }
        Ok(())
    })?;
    if count == 0 {
        return Err(NlpError::Invalid("no held-out position to score".into()));
    }
    Ok(MaskedScore { loss: nll / count as f64, accuracy: right as f64 / count as f64, predicted: count })
}

/// The accuracy of always answering the most frequent word of `train` at the chosen positions
/// of `batches`: the baseline a masked LM must beat.
pub fn majority_baseline(train: &[EncodedInput], vocab: &BertVocab, batches: &[MaskedBatch]) -> f64 {
    let mut counts = vec![0usize; vocab.size()];
    for id in train.iter().flat_map(|input| &input.ids).filter(|&&id| !vocab.is_special(id)) {
        counts[*id as usize] += 1;
    }
    let majority = (0..counts.len()).max_by_key(|&id| (counts[id], std::cmp::Reverse(id))).unwrap_or(0) as u32;
    let targets: Vec<u32> = batches.iter().flat_map(|b| b.targets.iter().copied()).collect();
    targets.iter().filter(|&&t| t == majority).count() as f64 / targets.len().max(1) as f64
}

/// The seed of step `step`'s draws: a fixed function of the run's seed and the step.
fn step_seed(seed: u64, step: usize) -> u64 {
    let mut z = seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Pretrains `bert` on `train` with the masked-LM objective, scoring `held_out` every
/// `eval_every` steps. With `out`, the most accurate model is written to `out/best` (a model
/// folder) and the curve to `out/accuracy.svg`. `on_eval` sees each evaluation.
pub fn pretrain(
    bert: &Bert,
    vocab: &BertVocab,
    train: &[EncodedInput],
    held_out: &[EncodedInput],
    config: &PretrainConfig,
    out: Option<&Path>,
    on_eval: &mut dyn FnMut(&EvalReport),
) -> Result<PretrainOutcome> {
    if train.is_empty() || held_out.is_empty() || config.batch == 0 || config.steps == 0 {
        return Err(NlpError::Invalid(format!(
            "pretraining needs training and held-out inputs, a batch and steps: {} train, {} held out, {config:?}",
            train.len(),
            held_out.len()
        )));
    }
    if let Some(long) = train.iter().chain(held_out).find(|i| i.len() > bert.config().positions) {
        return Err(NlpError::ContextTooLong { tokens: long.len(), context: bert.config().positions });
    }
    let device = bert.device();
    let eval_batches = config.held_out_batches(held_out, vocab, &device)?;
    let params: Vec<(String, Param)> = bert.parameters();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let adam = AdamConfig { weight_decay: config.weight_decay, betas: config.betas, ..AdamConfig::adamw(config.lr) };
    let mut optimizer = Adam::new(params, adam).without_decay(|_, p| p.value().rank() < 2);
    let schedule = Warmup {
        inner: Cosine { base: config.lr, min: config.min_lr, total: config.steps.saturating_sub(config.warmup) },
        steps: config.warmup,
    };
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(|source| NlpError::Io { path: out.to_path_buf(), source })?;
    }
    let bar = config.progress.then(|| Progress::new(config.steps as u64, "bert"));
    let mut history: Vec<EvalReport> = Vec::new();
    let (mut trained, mut loss_sum, mut losses) = (Duration::ZERO, 0.0, 0usize);
    let mut step = 0;
    let mut stopped_by_time = false;
    while step < config.steps {
        let started = Instant::now();
        let mut rng = TensorRng::new(step_seed(config.seed, step));
        let picked: Vec<EncodedInput> =
            (0..config.batch).map(|_| train[(rng.next_u64() % train.len() as u64) as usize].clone()).collect();
        let masked = mask_inputs(&picked, vocab, &config.masking, &mut rng, &device)?;
        let lr = schedule.lr(step);
        optimizer.set_lr(lr);
        optimizer.zero_grad();
        let hidden = bert.encode_with(&masked.batch, Some(rng.next_u64()))?;
        let logits = bert.mlm_logits(&hidden, Some(&masked.rows))?;
        let loss = cross_entropy(&logits, &masked.labels, CrossEntropy::default())?;
        loss.backward()?;
        if config.clip > 0.0 {
            clip_grad_norm(&leaves, config.clip)?;
        }
        optimizer.step()?;
        loss_sum += loss.value().to_scalar()?;
        losses += 1;
        step += 1;
        trained += started.elapsed();
        if let Some(bar) = &bar {
            bar.set(step as u64, format!("loss {:.3}, lr {lr:.2e}", loss_sum / losses as f64));
        }
        stopped_by_time = config.time_limit.is_some_and(|limit| trained >= limit) && step < config.steps;
        if step % config.eval_every.max(1) == 0 || step == config.steps || stopped_by_time {
            let held = evaluate_masked(bert, &eval_batches)?;
            let best = history.iter().all(|e| held.accuracy > e.held_out.accuracy);
            let report = EvalReport {
                step,
                train_loss: loss_sum / losses.max(1) as f64,
                held_out: held,
                lr,
                seconds: trained.as_secs_f64(),
                best,
            };
            (loss_sum, losses) = (0.0, 0);
            history.push(report);
            if let Some(out) = out {
                if best {
                    save_bert(&out.join("best"), bert, vocab)?;
                }
                LossPlot::new("BERT masked-LM held-out accuracy")
                    .x_label("step")
                    .y_label("masked-token accuracy")
                    .series("held out", history.iter().map(|e| (e.step as f64, e.held_out.accuracy)))
                    .write(&out.join("accuracy.svg"))?;
            }
            on_eval(&report);
            if stopped_by_time {
                break;
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(PretrainOutcome { history, steps: step, stopped_by_time })
}
