//! Training and evaluating a tagger: epochs over length-sorted batches with Adam and gradient
//! clipping, entity scores on held-out sentences, and the best epoch kept by validation F1.

use std::sync::Arc;
use std::time::Instant;

use autograd::{Var, clip_grad_norm};
use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use nn_layers::train::{Mean, NonFinitePolicy, Progress, check_step};
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
    tagger.train();
    let named = tagger.parameters();
    let params: Vec<Var> = named.iter().filter(|(_, p)| !p.is_frozen()).map(|(_, p)| p.leaf().clone()).collect();
    let batches = data.batches(config.batch_size, Some(config.seed.wrapping_add(epoch as u64)));
    let bar = config.progress.then(|| Progress::new(batches.len() as u64, &format!("epoch {epoch}")));
    let mut loss_mean = Mean::default();
    for (step, indices) in batches.into_iter().enumerate() {
        let batch = data.batch(&indices, device)?;
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
    let started = Instant::now();
    let mut epochs = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for epoch in 1..=config.epochs {
        optimizer.set_lr(config.lr / (1.0 + config.lr_decay * (epoch - 1) as f64));
        let loss = train_epoch(tagger, &mut optimizer, &data, config, epoch, device)?;
        let (scores, _) = evaluate(tagger, vocab, valid, device)?;
        let line = EpochReport { epoch, loss, valid_f1: scores.overall.f1(), elapsed: started.elapsed().as_secs_f64() };
        let improved = line.valid_f1 > best;
        best = best.max(line.valid_f1);
        on_epoch(tagger, &line, improved)?;
        let over = config.time_limit.is_some_and(|limit| line.elapsed >= limit);
        epochs.push(line);
        if over {
            break;
        }
    }
    Ok(epochs)
}
