//! Training the reader (Adam, gradient clipping, length-grouped batches) and answering with
//! it: the best span of at most [`MAX_ANSWER_TOKENS`] tokens mapped back to the passage text.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use autograd::{Var, clip_grad_norm, no_grad};
use nlp::vocab::Vocab;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::Optimizer;
use nn_layers::train::{Mean, NonFinitePolicy, Progress, check_step};
use nn_layers::{Module, ModuleExt};
use tensor_core::Device;

use crate::features::{Example, QaBatch, best_span, examples, length_batches};
use crate::model::Reader;
use crate::squad::SquadSet;
use crate::tokenize::{Token, char_slice, tokenize};
use crate::{QaError, Result};

/// The longest answer the reader proposes, in tokens.
pub const MAX_ANSWER_TOKENS: usize = 15;

/// What one training epoch did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// Mean loss (start plus end cross-entropy) over the questions.
    pub loss: f64,
    /// Questions trained on.
    pub questions: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl EpochStats {
    /// Training throughput.
    pub fn questions_per_second(&self) -> f64 {
        self.questions as f64 / self.seconds.max(1e-9)
    }
}

/// The loss of a batch: cross-entropy of the gold start plus that of the gold end.
pub fn batch_loss(reader: &Reader, batch: &QaBatch) -> Result<Var> {
    let (start, end) = reader.scores(batch)?;
    let start_loss = cross_entropy(&start, &batch.starts, CrossEntropy::default())?;
    let end_loss = cross_entropy(&end, &batch.ends, CrossEntropy::default())?;
    Ok(start_loss.add(&end_loss)?)
}

/// How one training epoch runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochOptions {
    /// Questions per step.
    pub batch_size: usize,
    /// Seed of this epoch's batch order.
    pub seed: u64,
    /// Show a progress bar.
    pub progress: bool,
    /// Stop after this many batches (benches).
    pub max_batches: Option<usize>,
    /// Stop at the first batch that would start after this instant (time-boxed runs).
    pub deadline: Option<Instant>,
}

impl EpochOptions {
    /// A whole epoch in batches of `batch_size`, order from `seed`, no progress bar.
    pub fn new(batch_size: usize, seed: u64) -> EpochOptions {
        EpochOptions { batch_size, seed, progress: false, max_batches: None, deadline: None }
    }
}

/// One pass over `train` (examples with spans) in shuffled, length-grouped batches, clipping
/// the gradient norm to 10, ended early by `options`' batch limit or deadline. A non-finite
/// loss or gradient stops it with [`nn_layers::NnError::NonFinite`].
pub fn train_epoch(
    reader: &Reader,
    optimizer: &mut dyn Optimizer,
    train: &[Example],
    options: &EpochOptions,
    device: &Arc<dyn Device>,
) -> Result<EpochStats> {
    train_epoch_from(reader, optimizer, train, options, device, (0, Mean::default()), &mut |_, _, _| Ok(()))
}

/// [`train_epoch`] from `start` (batches already done, their loss), calling `after_step` with
/// the optimizer, the batches done and the loss so far after each step: what a resumable run
/// needs. Dropout is reseeded before each step from the epoch's seed and the batch, so a
/// resumed epoch draws the masks an uninterrupted one does.
pub fn train_epoch_from(
    reader: &Reader,
    optimizer: &mut dyn Optimizer,
    train: &[Example],
    options: &EpochOptions,
    device: &Arc<dyn Device>,
    start: (usize, Mean),
    after_step: &mut dyn FnMut(&dyn Optimizer, usize, Mean) -> Result<()>,
) -> Result<EpochStats> {
    if train.iter().any(|e| e.span.is_none()) {
        return Err(QaError::Invalid("every training example needs an answer span".into()));
    }
    reader.train();
    let named = reader.parameters();
    let params: Vec<Var> = named.iter().filter(|(_, p)| !p.is_frozen()).map(|(_, p)| p.leaf().clone()).collect();
    let mut batches = length_batches(train, options.batch_size, Some(options.seed))?;
    batches.truncate(options.max_batches.unwrap_or(usize::MAX));
    let bar = options.progress.then(|| Progress::new(batches.len() as u64, "reader"));
    let (done, mut mean) = start;
    let (mut questions, clock) = (0, Instant::now());
    for (step, indices) in batches.iter().enumerate().skip(done) {
        if options.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let batch = QaBatch::new(train, indices, device)?;
        reader.reseed_dropout(nn_layers::train::dropout_seed(options.seed, step));
        optimizer.zero_grad();
        let loss = batch_loss(reader, &batch)?;
        loss.backward()?;
        check_step(step + 1, &loss.value(), &named, NonFinitePolicy::Stop)?;
        clip_grad_norm(&params, 10.0)?;
        optimizer.step()?;
        mean.add(loss.value().to_scalar()?, indices.len() as f64);
        questions += indices.len();
        if let Some(bar) = &bar {
            let rate = questions as f64 / clock.elapsed().as_secs_f64().max(1e-9);
            bar.step(format!("loss {:.3}, {rate:.0} questions/s", mean.value()));
        }
        after_step(&*optimizer, step + 1, mean)?;
    }
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(EpochStats { loss: mean.value(), questions, seconds: clock.elapsed().as_secs_f64() })
}

/// The best span `(start, end)` token indices of each example, in eval mode, without a graph.
pub fn predict_spans(
    reader: &Reader,
    items: &[Example],
    batch_size: usize,
    device: &Arc<dyn Device>,
) -> Result<Vec<(usize, usize)>> {
    reader.eval();
    let mut spans = vec![(0, 0); items.len()];
    no_grad(|| -> Result<()> {
        for indices in length_batches(items, batch_size, None)? {
            let batch = QaBatch::new(items, &indices, device)?;
            let (start, end) = reader.scores(&batch)?;
            let width = start.dims()[1];
            let (start, end) = (start.value().to_vec::<f32>()?, end.value().to_vec::<f32>()?);
            for (row, &i) in indices.iter().enumerate() {
                let range = row * width..(row + 1) * width;
                let (s, e, _) =
                    best_span(&start[range.clone()], &end[range], items[i].passage.len(), MAX_ANSWER_TOKENS);
                spans[i] = (s, e);
            }
        }
        Ok(())
    })?;
    Ok(spans)
}

/// The passage text of a token span: from the first token's first character to the last
/// token's last, exactly as written.
pub fn span_text<'a>(context: &'a str, tokens: &[Token], (start, end): (usize, usize)) -> &'a str {
    match (tokens.get(start), tokens.get(end)) {
        (Some(a), Some(b)) => char_slice(context, a.start, b.end),
        _ => "",
    }
}

/// An answer to every question of `set`: question id → answer text.
pub fn predict_set(
    reader: &Reader,
    vocab: &Vocab,
    set: &SquadSet,
    batch_size: usize,
    device: &Arc<dyn Device>,
) -> Result<HashMap<String, String>> {
    let items = examples(set, vocab, None);
    let spans = predict_spans(reader, &items, batch_size, device)?;
    Ok(items
        .iter()
        .zip(spans)
        .map(|(e, span)| {
            let p = &set.paragraphs[e.paragraph];
            (e.id.clone(), span_text(&p.context, &p.tokens, span).to_string())
        })
        .collect())
}

/// The answer to one question about one passage, with its character span in the passage.
#[derive(Clone, Debug, PartialEq)]
pub struct Answered {
    /// The answer, exactly as written in the passage.
    pub text: String,
    /// Character offset of its first character.
    pub start: usize,
    /// Character offset one past its last character.
    pub end: usize,
    /// Start plus end score of the span (higher is surer).
    pub score: f32,
}

/// Answers `question` about `context`. An empty context or question is an error.
pub fn answer(
    reader: &Reader,
    vocab: &Vocab,
    context: &str,
    question: &str,
    device: &Arc<dyn Device>,
) -> Result<Answered> {
    let passage = tokenize(context);
    let asked = tokenize(question);
    if passage.is_empty() {
        return Err(QaError::Invalid("the context is empty".into()));
    }
    if asked.is_empty() {
        return Err(QaError::Invalid("the question is empty".into()));
    }
    let example = [Example::new(vocab, 0, "question", &passage, &asked, None, None)];
    reader.eval();
    no_grad(|| -> Result<Answered> {
        let batch = QaBatch::new(&example, &[0], device)?;
        let (start, end) = reader.scores(&batch)?;
        let (start, end) = (start.value().to_vec::<f32>()?, end.value().to_vec::<f32>()?);
        let (s, e, score) = best_span(&start, &end, passage.len(), MAX_ANSWER_TOKENS);
        let (from, to) = (passage[s].start, passage[e].end);
        Ok(Answered { text: char_slice(context, from, to).to_string(), start: from, end: to, score })
    })
}
