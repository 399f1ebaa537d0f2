//! A neural language model with its vocabulary: an [`RnnLm`] answering the
//! [`LanguageModel`] questions. A document is scored as one stream in windows over parallel
//! streams with the state carried across windows and sentences, never token by token.

use std::sync::Arc;

use autograd::no_grad;
use nn_layers::layers::CellKind;
use tensor_core::{Device, Tensor};

use super::{BpttBatches, LanguageModel, LmReader, LmState, NeuralVocab, RnnLm, TokenStream, Vocabulary, WordScore};
use crate::{NlpError, Result};

/// An [`RnnLm`] and the vocabulary its ids come from.
pub struct NeuralLm {
    model: RnnLm,
    vocab: NeuralVocab,
    device: Arc<dyn Device>,
    /// Parallel streams when scoring a document (1 reads it as one stream, as Zaremba's
    /// test numbers do; more is faster, each stream starting from a zero state).
    pub eval_streams: usize,
    /// Steps per window when scoring.
    pub eval_window: usize,
}

impl NeuralLm {
    /// Pairs a model with its vocabulary; their sizes must agree.
    pub fn new(model: RnnLm, vocab: NeuralVocab) -> Result<NeuralLm> {
        if model.config().vocab_size != vocab.size() {
            return Err(NlpError::Invalid(format!(
                "the model has {} outputs but its vocabulary {} ids",
                model.config().vocab_size,
                vocab.size()
            )));
        }
        let device = model.encoder_weight().value().device().clone();
        Ok(NeuralLm { model, vocab, device, eval_streams: 1, eval_window: 64 })
    }

    /// The network.
    pub fn model(&self) -> &RnnLm {
        &self.model
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &NeuralVocab {
        &self.vocab
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Arc<dyn Device> {
        &self.device
    }

    /// Natural-log probability of every predicted token of `stream` and the step within its
    /// parallel stream, reading up to `streams` parallel streams at once.
    pub fn score_stream(&self, stream: &TokenStream, streams: usize) -> Result<Vec<(f64, usize)>> {
        let batches = BpttBatches::covering(stream, streams, self.eval_window)?;
        let mut scores = vec![(0.0, 0); stream.predicted()];
        no_grad(|| -> Result<()> {
            let mut state: Option<LmState> = None;
            for index in 0..batches.len() {
                let window = batches.window(index);
                let (steps, streams) = (window.steps, window.streams);
                let inputs = Tensor::from_vec(window.inputs, [steps, streams], &self.device)?;
                let (logits, next) = self.model.forward_ids(&inputs, state.as_ref(), None)?;
                let targets = Tensor::from_vec(window.targets, [steps * streams, 1], &self.device)?;
                let picked = logits.value().try_log_softmax(-1)?.try_gather(1, &targets)?.to_vec::<f32>()?;
                for (position, ln_prob) in window.positions.iter().zip(picked) {
                    if let Some((at, step)) = *position {
                        scores[at] = (ln_prob as f64, step + 1);
                    }
                }
                state = Some(next);
            }
            Ok(())
        })?;
        Ok(scores)
    }

    /// Perplexity of `stream` (exp of the mean negative log-likelihood over its predicted
    /// tokens), read in up to `streams` parallel streams.
    pub fn stream_perplexity(&self, stream: &TokenStream, streams: usize) -> Result<f64> {
        let scores = self.score_stream(stream, streams)?;
        let total: f64 = scores.iter().map(|(ln_prob, _)| ln_prob).sum();
        Ok((-total / scores.len().max(1) as f64).exp())
    }

    /// Runs `ids` `[T, 1]` from `state`; the raw logits after the last and the state.
    fn step(&self, ids: &[u32], state: Option<&LmState>) -> Result<(Vec<f32>, LmState)> {
        let values: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
        let inputs = Tensor::from_vec(values, [ids.len(), 1], &self.device)?;
        no_grad(|| {
            let (logits, next) = self.model.forward_ids(&inputs, state, None)?;
            let last = logits.value().try_narrow(0, ids.len() - 1, 1)?;
            Ok((last.to_vec::<f32>()?, next))
        })
    }
}

/// `logits - ln(sum(exp(logits)))`, accumulated in f64: one vector, read once from the device
/// with the logits it comes from.
fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let normaliser = f64::from(max) + sum.ln();
    logits.iter().map(|&l| (f64::from(l) - normaliser) as f32).collect()
}

impl LanguageModel for NeuralLm {
    fn vocabulary(&self) -> &dyn Vocabulary {
        &self.vocab
    }

    fn describe(&self) -> String {
        let c = self.model.config();
        format!(
            "{} LM {} x {} (embed {}, {} ids{}, dropout {})",
            match c.cell {
                CellKind::RnnTanh => "RNN (tanh)",
                CellKind::RnnRelu => "RNN (ReLU)",
                CellKind::Gru => "GRU",
                CellKind::Lstm => "LSTM",
            },
            c.layers,
            c.hidden,
            c.embed,
            c.vocab_size,
            if c.tie_weights { ", tied" } else { "" },
            c.dropout
        )
    }

    fn reader(&self, history: &[u32]) -> Result<Box<dyn LmReader + '_>> {
        let mut ids = vec![self.vocab.end_id()];
        ids.extend_from_slice(history);
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= self.vocab.size()) {
            return Err(NlpError::Invalid(format!(
                "token id {bad} is outside the vocabulary of {}",
                self.vocab.size()
            )));
        }
        let (logits, state) = self.step(&ids, None)?;
        Ok(Box::new(NeuralReader { lm: self, state, log_probs: log_softmax(&logits), logits }))
    }

    fn score_document(&self, sentences: &[Vec<u32>]) -> Result<Vec<WordScore>> {
        let stream = TokenStream::from_sentences(sentences, self.vocab.end_id());
        Ok(self
            .score_stream(&stream, self.eval_streams)?
            .into_iter()
            .map(|(ln_prob, order)| WordScore::from_ln(ln_prob, order))
            .collect())
    }
}

/// A neural model's position in a document: its recurrent state and the next distribution, as
/// raw logits and as log-probabilities.
struct NeuralReader<'a> {
    lm: &'a NeuralLm,
    state: LmState,
    logits: Vec<f32>,
    log_probs: Vec<f32>,
}

impl LmReader for NeuralReader<'_> {
    fn log_probs(&self) -> &[f32] {
        &self.log_probs
    }

    fn logits(&self) -> &[f32] {
        &self.logits
    }

    fn push(&mut self, id: u32) -> Result<()> {
        if id as usize >= self.lm.vocab.size() {
            return Err(NlpError::Invalid(format!(
                "token id {id} is outside the vocabulary of {}",
                self.lm.vocab.size()
            )));
        }
        let (logits, state) = self.lm.step(&[id], Some(&self.state))?;
        self.log_probs = log_softmax(&logits);
        self.logits = logits;
        self.state = state;
        Ok(())
    }
}
