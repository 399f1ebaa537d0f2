//! Training and evaluating a tagger: epochs over length-sorted batches with Adam and gradient
//! clipping, entity scores on held-out sentences, and the best epoch kept by validation F1.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use autograd::{Var, clip_grad_norm};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use nn_layers::train::{
    EpochStats, Mean, NonFinitePolicy, Progress, TrainPosition, check_step, load_training, save_training,
};
use nn_layers::{Module, ModuleExt};
use tensor_core::Device;

use crate::conll::Sentence;
use crate::data::{Encoded, NerVocab};
use crate::error::Result;
use crate::metric::EntityScores;
use crate::model::NerTagger;

/// Settings of [`train`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training sentences (at most).
    pub epochs: usize,
    /// Sentences per batch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Inverse-time decay: epoch `e` (from 1) trains at `lr / (1 + lr_decay · (e - 1))`
    /// (Ma & Hovy's schedule; 0 keeps the rate constant).
    pub lr_decay: f64,
    /// Gradient-norm clip.
    pub clip: f64,
    /// Stop after the epoch during which this many seconds have passed, if set.
    pub time_limit: Option<f64>,
    /// Shuffling seed.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// Write a training checkpoint (weights, Adam's state, the data position) into this folder
    /// every so many steps and at each epoch's end.
    pub checkpoint: Option<(PathBuf, usize)>,
    /// Continue from the training checkpoint in this folder.
    pub resume: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 16,
            lr: 2e-3,
            lr_decay: 0.0,
            clip: 5.0,
            time_limit: None,
            seed: 1,
            progress: false,
            checkpoint: None,
            resume: None,
        }
    }
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss (per sentence for the CRF, per token for the softmax head).
    pub loss: f64,
    /// Validation entity F1 (0..1).
    pub valid_f1: f64,
    /// Seconds since training started, at the end of this epoch's validation.
    pub elapsed: f64,
}

/// One pass over `data`; returns the mean loss. A non-finite loss or gradient stops it.
pub fn train_epoch(
    tagger: &NerTagger,
    optimizer: &mut dyn Optimizer,
    data: &Encoded,
    config: &TrainConfig,
    epoch: usize,
    device: &Arc<dyn Device>,
) -> Result<f64> {
    train_epoch_from(tagger, optimizer, data, config, epoch, device, (0, Mean::default()), &mut |_, _, _| Ok(()))
}

/// [`train_epoch`] from `start` (batches already done, their loss), calling `after_step` with
/// the optimizer, the batches done and the loss so far after each step. Dropout is reseeded
/// before each step from the epoch's seed and the batch, so a resumed epoch draws the masks an
/// uninterrupted one does.
#[allow(clippy::too_many_arguments)]
fn train_epoch_from(
    tagger: &NerTagger,
    optimizer: &mut dyn Optimizer,
    data: &Encoded,
    config: &TrainConfig,
    epoch: usize,
    device: &Arc<dyn Device>,
    start: (usize, Mean),
    after_step: &mut dyn FnMut(&dyn Optimizer, usize, Mean) -> Result<()>,
) -> Result<f64> {
    tagger.train();
    let named = tagger.parameters();
    let params: Vec<Var> = named.iter().filter(|(_, p)| !p.is_frozen()).map(|(_, p)| p.leaf().clone()).collect();
    let batches = data.batches(config.batch_size, Some(config.seed.wrapping_add(epoch as u64)));
    let bar = config.progress.then(|| Progress::new(batches.len() as u64, &format!("epoch {epoch}")));
    let (done, mut loss_mean) = start;
    let shuffle = config.seed.wrapping_add(epoch as u64);
    for (step, indices) in batches.into_iter().enumerate().skip(done) {
        let batch = data.batch(&indices, device)?;
        tagger.reseed_dropout(nn_layers::train::dropout_seed(shuffle, step));
        optimizer.zero_grad();
        let loss = tagger.loss(&batch)?;
        loss.backward()?;
        check_step(step + 1, &loss.value(), &named, NonFinitePolicy::Stop)?;
        clip_grad_norm(&params, config.clip)?;
        optimizer.step()?;
        loss_mean.add(loss.value().to_scalar()?, indices.len() as f64);
        if let Some(bar) = &bar {
            bar.step(format!("loss {:.4}", loss_mean.value()));
        }
        after_step(&*optimizer, step + 1, loss_mean)?;
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(loss_mean.value())
}

/// The tagger's predicted tags for `sentences` (word sequences), in their order.
pub fn predict<S: AsRef<str>>(
    tagger: &NerTagger,
    vocab: &NerVocab,
    sentences: &[Vec<S>],
    device: &Arc<dyn Device>,
) -> Result<Vec<Vec<String>>> {
    let data = Encoded::unlabelled(sentences, vocab);
    let mut out = vec![Vec::new(); sentences.len()];
    for indices in data.batches(64, None) {
        let paths = tagger.predict(&data.batch(&indices, device)?)?;
        for (&i, path) in indices.iter().zip(paths) {
            out[i] = path.into_iter().map(|t| vocab.tags[t].clone()).collect();
        }
    }
    Ok(out)
}

/// Entity scores of the tagger on labelled sentences, and its predictions.
pub fn evaluate(
    tagger: &NerTagger,
    vocab: &NerVocab,
    sentences: &[Sentence],
    device: &Arc<dyn Device>,
) -> Result<(EntityScores, Vec<Vec<String>>)> {
    let words: Vec<Vec<&str>> = sentences.iter().map(|s| s.words.iter().map(String::as_str).collect()).collect();
    let predicted = predict(tagger, vocab, &words, device)?;
    let gold: Vec<&Vec<String>> = sentences.iter().map(|s| &s.tags).collect();
    let gold: Vec<Vec<String>> = gold.into_iter().cloned().collect();
    Ok((EntityScores::compute(&gold, &predicted), predicted))
}

/// Trains `tagger` on `train` with Adam, scoring `valid` after every epoch. `on_epoch` sees the
/// tagger and every epoch as it ends, with `true` when validation F1 is the best so far (the
/// moment to save it). Stops after `config.epochs` or at the time limit.
pub fn train(
    tagger: &NerTagger,
    vocab: &NerVocab,
    train: &[Sentence],
    valid: &[Sentence],
    config: &TrainConfig,
    device: &Arc<dyn Device>,
    on_epoch: &mut dyn FnMut(&NerTagger, &EpochReport, bool) -> Result<()>,
) -> Result<Vec<EpochReport>> {
    let data = Encoded::new(train, vocab)?;
    let mut optimizer = Adam::new(tagger.parameters(), AdamConfig::adam(config.lr));
    let mut position = match &config.resume {
        Some(dir) => load_training(dir, tagger, &mut optimizer)?,
        None => TrainPosition { epoch: 1, ..TrainPosition::default() },
    };
    let started = Instant::now();
    // Epochs before a resumed run's start, from its checkpoint (loss, validation F1, seconds).
    let mut epochs: Vec<EpochReport> = position
        .history
        .iter()
        .map(|e| EpochReport {
            epoch: e.epoch,
            loss: e.train_loss,
            valid_f1: e.eval.map_or(0.0, |(f1, _)| f1),
            elapsed: e.seconds,
        })
        .collect();
    if epochs.last().is_some_and(|e| config.time_limit.is_some_and(|limit| e.elapsed >= limit)) {
        return Ok(epochs);
    }
    let mut best = epochs.iter().map(|e| e.valid_f1).fold(f64::NEG_INFINITY, f64::max);
    let offset = epochs.last().map_or(0.0, |e| e.elapsed);
    for epoch in position.epoch..=config.epochs {
        optimizer.set_lr(config.lr / (1.0 + config.lr_decay * (epoch - 1) as f64));
        let start = if epoch == position.epoch { (position.batches_done, position.loss) } else { Default::default() };
        let mut save = |optimizer: &dyn Optimizer, done: usize, loss: Mean| -> Result<()> {
            let Some((dir, every)) = &config.checkpoint else { return Ok(()) };
            position.step += 1;
            if position.step.is_multiple_of((*every).max(1)) {
                (position.epoch, position.batches_done, position.loss) = (epoch, done, loss);
                save_training(dir, tagger, optimizer, &position)?;
            }
            Ok(())
        };
        let loss = train_epoch_from(tagger, &mut optimizer, &data, config, epoch, device, start, &mut save)?;
        let (scores, _) = evaluate(tagger, vocab, valid, device)?;
        let elapsed = offset + started.elapsed().as_secs_f64();
        let line = EpochReport { epoch, loss, valid_f1: scores.overall.f1(), elapsed };
        let improved = line.valid_f1 > best;
        best = best.max(line.valid_f1);
        on_epoch(tagger, &line, improved)?;
        let over = config.time_limit.is_some_and(|limit| line.elapsed >= limit);
        position.history.push(EpochStats {
            epoch,
            train_loss: loss,
            train_accuracy: f64::NAN,
            eval: Some((line.valid_f1, f64::NAN)),
            seconds: line.elapsed,
            skipped_steps: 0,
        });
        (position.epoch, position.batches_done, position.loss) = (epoch + 1, 0, Mean::default());
        if let Some((dir, _)) = &config.checkpoint {
            save_training(dir, tagger, &optimizer, &position)?;
        }
        epochs.push(line);
        if over {
            break;
        }
    }
    Ok(epochs)
}
