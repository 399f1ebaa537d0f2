//! The tagger: word + suffix embeddings, a (bidirectional) LSTM, a linear layer per token.

use std::sync::Arc;

use autograd::{Var, clip_grad_norm, no_grad};
use nn_layers::layers::{Dropout, Embedding, Linear, Recurrent, RecurrentConfig};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::Optimizer;
use nn_layers::train::{Mean, Progress};
use nn_layers::{Module, ModuleExt, Param, join};
use tensor_core::{DType, Device, Result, TensorRng};

use super::data::{IGNORE, TaggedBatch, TaggingData, TaggingVocab};

/// Sizes of a [`Tagger`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TaggerConfig {
    /// Word vocabulary size.
    pub words: usize,
    /// Suffix vocabulary size.
    pub suffixes: usize,
    /// Number of tags.
    pub tags: usize,
    /// Word embedding width.
    pub word_dim: usize,
    /// Suffix embedding width.
    pub suffix_dim: usize,
    /// LSTM hidden units per direction.
    pub hidden: usize,
    /// Read the sentence backwards too.
    pub bidirectional: bool,
    /// Dropout on the embeddings and the LSTM outputs.
    pub dropout: f64,
}

impl TaggerConfig {
    /// The tagger recipe's sizes for `vocab`: 100-wide word and 32-wide suffix embeddings,
    /// `hidden` LSTM units per direction, dropout 0.3.
    pub fn for_vocab(vocab: &TaggingVocab, hidden: usize, bidirectional: bool) -> TaggerConfig {
        TaggerConfig {
            words: vocab.words.len(),
            suffixes: vocab.suffixes.len(),
            tags: vocab.tags.len(),
            word_dim: 100,
            suffix_dim: 32,
            hidden,
            bidirectional,
            dropout: 0.3,
        }
    }
}

/// Word and suffix embeddings -> LSTM -> per-token logits. Parameters: `words.weight`,
/// `suffixes.weight`, `lstm.*` (PyTorch's LSTM names), `head.weight|bias`.
pub struct Tagger {
    words: Embedding,
    suffixes: Embedding,
    lstm: Recurrent,
    dropout: Dropout,
    head: Linear,
}

impl Tagger {
    /// A randomly initialised tagger.
    pub fn new(config: &TaggerConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        let table = |rows: usize, dim: usize, rng: &mut TensorRng| -> Result<Embedding> {
            Ok(Embedding { weight: Param::new(rng.uniform([rows, dim], -0.1, 0.1, DType::F32, device)?) })
        };
        let lstm_config = RecurrentConfig {
            batch_first: true,
            bidirectional: config.bidirectional,
            ..RecurrentConfig::new(config.word_dim + config.suffix_dim, config.hidden)
        };
        let lstm = Recurrent::lstm(lstm_config, rng, device)?;
        lstm.init_forget_bias(1.0)?;
        let directions = if config.bidirectional { 2 } else { 1 };
        Ok(Tagger {
            words: table(config.words, config.word_dim, rng)?,
            suffixes: table(config.suffixes, config.suffix_dim, rng)?,
            lstm,
            dropout: Dropout::new(config.dropout, rng.next_u64())?,
            head: Linear::new(directions * config.hidden, config.tags, rng, device)?,
        })
    }

    /// Logits `[N, T, tags]` for a padded batch.
    pub fn logits(&self, batch: &TaggedBatch) -> Result<Var> {
        let words = self.words.lookup(&batch.words)?;
        let suffixes = self.suffixes.lookup(&batch.suffixes)?;
        let features = self.dropout.forward(&Var::cat(&[&words, &suffixes], 2)?)?;
        let (states, _) = self.lstm.forward_with(&features, Some(&batch.lengths), None)?;
        self.head.forward(&self.dropout.forward(&states)?)
    }

    /// Mean cross-entropy over the real tokens of `batch`.
    pub fn loss(&self, batch: &TaggedBatch) -> Result<(Var, Var)> {
        let logits = self.logits(batch)?;
        let dims = logits.dims();
        let flat = logits.reshape([dims[0] * dims[1], dims[2]])?;
        let labels = batch.tags.try_reshape([dims[0] * dims[1]])?;
        let loss =
            cross_entropy(&flat, &labels, CrossEntropy { ignore_index: Some(IGNORE), ..CrossEntropy::default() })?;
        Ok((loss, flat))
    }
}

impl Module for Tagger {
    /// Not used directly: a tagger reads words and suffixes (see [`Tagger::logits`]); this
    /// runs the word ids alone through with every suffix id 0.
    fn forward(&self, input: &Var) -> Result<Var> {
        let ids = input.value();
        let n = ids.dims()[0];
        let t = ids.dims().get(1).copied().unwrap_or(0);
        let batch = TaggedBatch {
            suffixes: ids.try_zeros_like()?,
            tags: ids.try_zeros_like()?,
            words: ids,
            lengths: vec![t; n],
        };
        self.logits(&batch)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.words.visit_params(&join(prefix, "words"), visit);
        self.suffixes.visit_params(&join(prefix, "suffixes"), visit);
        self.lstm.visit_params(&join(prefix, "lstm"), visit);
        self.head.visit_params(&join(prefix, "head"), visit);
    }

    fn set_training(&self, training: bool) {
        self.lstm.set_training(training);
        self.dropout.set_training(training);
    }
}

/// (correct, counted) predictions over the real tokens of a batch's flattened logits.
fn hits(flat_logits: &Var, batch: &TaggedBatch) -> Result<(usize, usize)> {
    let predicted = flat_logits.value().try_arg_reduce(tensor_core::ArgReduceOp::ArgMax, -1, false)?.to_vec::<i64>()?;
    let gold = batch.tags.to_vec::<i64>()?;
    let counted = gold.iter().filter(|&&g| g != IGNORE).count();
    let correct = predicted.iter().zip(&gold).filter(|(p, g)| **g != IGNORE && p == g).count();
    Ok((correct, counted))
}

/// One pass over `data` in length-sorted batches, clipping the gradient norm to 5; returns the
/// mean loss and the token accuracy while training. A non-finite loss or gradient stops it
/// with [`nn_layers::NnError::NonFinite`] naming the step and the parameter.
pub fn train_tagger_epoch(
    tagger: &Tagger,
    optimizer: &mut dyn Optimizer,
    data: &TaggingData,
    batch_size: usize,
    seed: u64,
    device: &Arc<dyn Device>,
    progress: bool,
) -> crate::Result<(f64, f64)> {
    let run = TaggerEpoch { batch_size, seed, progress, start: EpochStart::default(), after_step: &mut |_, _| Ok(()) };
    run_tagger_epoch(tagger, optimizer, data, device, run)
}

/// Where an epoch starts: the batches already applied and their running loss and token
/// accuracy (all zero for a fresh epoch; a resumed run's training checkpoint holds them).
#[derive(Clone, Debug, Default)]
pub struct EpochStart {
    /// Batches of the epoch already applied.
    pub batches_done: usize,
    /// Their running mean loss (weighted by tokens).
    pub loss: Mean,
    /// Their running token accuracy.
    pub hits: Mean,
}

/// How one tagger epoch runs.
pub struct TaggerEpoch<'a> {
    /// Sentences per step.
    pub batch_size: usize,
    /// The epoch's seed: the batch order, and each step's dropout masks with the step's index.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// Where the epoch starts.
    pub start: EpochStart,
    /// Called after each optimizer step with the optimizer and where the epoch stands (e.g. to
    /// write a training checkpoint).
    pub after_step: &'a mut dyn FnMut(&dyn Optimizer, &EpochStart) -> nn_layers::Result<()>,
}

/// [`train_tagger_epoch`] with a starting point and a hook after each step. Dropout is
/// reseeded from the epoch's seed and the step's index before each step, so the masks depend
/// on the position alone and a resumed epoch trains exactly as an uninterrupted one.
pub fn run_tagger_epoch(
    tagger: &Tagger,
    optimizer: &mut dyn Optimizer,
    data: &TaggingData,
    device: &Arc<dyn Device>,
    run: TaggerEpoch<'_>,
) -> crate::Result<(f64, f64)> {
    tagger.train();
    let named = tagger.parameters();
    let params: Vec<Var> = named.iter().map(|(_, p)| p.leaf().clone()).collect();
    let batches = data.length_batches(run.batch_size, Some(run.seed));
    let bar = run.progress.then(|| Progress::new(batches.len() as u64, "tagger"));
    let mut at = run.start;
    for (step, indices) in batches.into_iter().enumerate() {
        if step < at.batches_done {
            if let Some(bar) = &bar {
                bar.step(String::new());
            }
            continue;
        }
        tagger.dropout.reseed(nn_layers::train::dropout_seed(run.seed, step));
        let batch = data.batch(&indices, device)?;
        optimizer.zero_grad();
        let (loss, flat) = tagger.loss(&batch)?;
        loss.backward()?;
        // A NaN or inf stops the epoch at its first bad step (counted from 1 within the epoch).
        nn_layers::train::check_step(step + 1, &loss.value(), &named, nn_layers::train::NonFinitePolicy::Stop)?;
        clip_grad_norm(&params, 5.0)?;
        optimizer.step()?;
        let (c, n) = hits(&flat, &batch)?;
        at.loss.add(loss.value().to_scalar()?, n as f64);
        at.hits.add(c as f64 / n.max(1) as f64, n as f64);
        at.batches_done = step + 1;
        (run.after_step)(optimizer, &at)?;
        if let Some(bar) = &bar {
            bar.step(format!("loss {:.4}", at.loss.value()));
        }
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok((at.loss.value(), at.hits.value()))
}

/// Token accuracy of `tagger` on `data`, in eval mode, without a graph.
pub fn evaluate_tagger(tagger: &Tagger, data: &TaggingData, device: &Arc<dyn Device>) -> crate::Result<f64> {
    tagger.eval();
    let (mut correct, mut counted) = (0, 0);
    no_grad(|| -> crate::Result<()> {
        for indices in data.length_batches(256, None) {
            let batch = data.batch(&indices, device)?;
            let logits = tagger.logits(&batch)?;
            let dims = logits.dims();
            let (c, n) = hits(&logits.reshape([dims[0] * dims[1], dims[2]])?, &batch)?;
            correct += c;
            counted += n;
        }
        Ok(())
    })?;
    Ok(correct as f64 / counted.max(1) as f64)
}
