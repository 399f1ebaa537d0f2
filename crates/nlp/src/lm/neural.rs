//! A neural language model with its vocabulary: any [`LmNetwork`] (an [`RnnLm`], a [`super::Gpt`])
//! answering the [`LanguageModel`] questions. A document is scored as one stream in windows
//! over parallel streams, with the state carried across windows and sentences for a network
//! that has one, never token by token.

use std::sync::Arc;

use autograd::no_grad;
use tensor_core::{Device, Tensor};

use super::{
    BpttBatches, LanguageModel, LmNetwork, LmReader, LmState, NeuralVocab, RnnLm, TokenStream, Vocabulary, WordScore,
};
use crate::{NlpError, Result};

/// A network and the vocabulary its ids come from.
pub struct NeuralLm<M: LmNetwork = RnnLm> {
    model: M,
    vocab: NeuralVocab,
    device: Arc<dyn Device>,
    /// Parallel streams when scoring a document (1 reads it as one stream, as Zaremba's
    /// test numbers do; more is faster, each stream starting from a zero state).
    pub eval_streams: usize,
    /// Steps per window when scoring (a transformer's context at most).
    pub eval_window: usize,
}

impl<M: LmNetwork> NeuralLm<M> {
    /// Pairs a model with its vocabulary; their sizes must agree.
    pub fn new(model: M, vocab: NeuralVocab) -> Result<NeuralLm<M>> {
        if model.vocab_size() != vocab.size() {
            return Err(NlpError::Invalid(format!(
                "the model has {} outputs but its vocabulary {} ids",
                model.vocab_size(),
                vocab.size()
            )));
        }
        let device = model.device();
        let eval_window = model.context().unwrap_or(64);
        Ok(NeuralLm { model, vocab, device, eval_streams: 1, eval_window })
    }

    /// The network.
    pub fn model(&self) -> &M {
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
        let mut scores = vec![(0.0, 0); stream.predicted()];
        self.score_windows(stream, streams, None, &mut |at, ln_prob, step| scores[at] = (ln_prob, step + 1))?;
        Ok(scores)
    }

    /// Scores `stream` window by window, handing each predicted token (its index, natural-log
    /// probability and step within its parallel stream) to `found`. With `sample`, only that
    /// many windows, evenly spaced, are scored: only for a network that carries no state
    /// across windows (a transformer), where any window may be read on its own.
    fn score_windows(
        &self,
        stream: &TokenStream,
        streams: usize,
        sample: Option<usize>,
        found: &mut dyn FnMut(usize, f64, usize),
    ) -> Result<()> {
        let length = self.model.context().map_or(self.eval_window, |c| self.eval_window.min(c)).max(1);
        let batches = BpttBatches::covering(stream, streams, length)?;
        let picked: Vec<usize> = match sample {
            Some(count) if count < batches.len() => (0..count).map(|i| i * batches.len() / count.max(1)).collect(),
            _ => (0..batches.len()).collect(),
        };
        no_grad(|| -> Result<()> {
            let mut state: Option<LmState> = None;
            for index in picked {
                let window = batches.window(index);
                let (steps, streams) = (window.steps, window.streams);
                let inputs = Tensor::from_vec(window.inputs, [steps, streams], &self.device)?;
                let (logits, next) = self.model.forward_window(&inputs, state.as_ref(), None)?;
                let targets = Tensor::from_vec(window.targets, [steps * streams, 1], &self.device)?;
                let picked = logits.value().try_log_softmax(-1)?.try_gather(1, &targets)?.to_vec::<f32>()?;
                for (position, ln_prob) in window.positions.iter().zip(picked) {
                    if let Some((at, step)) = *position {
                        // A network without carried state sees the window's tokens only.
                        let seen = if self.model.context().is_some() { step % length } else { step };
                        found(at, ln_prob as f64, seen);
                    }
                }
                state = Some(next);
            }
            Ok(())
        })
    }

    /// Perplexity of `stream` (exp of the mean negative log-likelihood over its predicted
    /// tokens), read in up to `streams` parallel streams.
    pub fn stream_perplexity(&self, stream: &TokenStream, streams: usize) -> Result<f64> {
        self.sampled_perplexity(stream, streams, None)
    }

    /// Perplexity of `stream` over at most `windows` evenly spaced windows of `streams`
    /// parallel streams (all of them for `None`, or for a network that carries state across
    /// windows, which must read them all in order).
    pub fn sampled_perplexity(&self, stream: &TokenStream, streams: usize, windows: Option<usize>) -> Result<f64> {
        let sample = windows.filter(|_| self.model.context().is_some());
        let (mut total, mut count) = (0.0, 0usize);
        self.score_windows(stream, streams, sample, &mut |_, ln_prob, _| {
            total += ln_prob;
            count += 1;
        })?;
        Ok((-total / count.max(1) as f64).exp())
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        match ids.iter().find(|&&id| id as usize >= self.vocab.size()) {
            Some(bad) => {
                Err(NlpError::Invalid(format!("token id {bad} is outside the vocabulary of {}", self.vocab.size())))
            }
            None => Ok(()),
        }
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

impl<M: LmNetwork> LanguageModel for NeuralLm<M> {
    fn vocabulary(&self) -> &dyn Vocabulary {
        &self.vocab
    }

    fn describe(&self) -> String {
        self.model.describe()
    }

    fn reader(&self, history: &[u32]) -> Result<Box<dyn LmReader + '_>> {
        let mut ids = vec![self.vocab.end_id()];
        ids.extend_from_slice(history);
        self.check_ids(&ids)?;
        let (logits, state) = self.model.decode_start(&ids)?;
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

/// A neural model's position in a document: its decoding state and the next distribution, as
/// raw logits and as log-probabilities.
struct NeuralReader<'a, M: LmNetwork> {
    lm: &'a NeuralLm<M>,
    state: M::Decoding,
    logits: Vec<f32>,
    log_probs: Vec<f32>,
}

impl<M: LmNetwork> LmReader for NeuralReader<'_, M> {
    fn log_probs(&self) -> &[f32] {
        &self.log_probs
    }

    fn logits(&self) -> &[f32] {
        &self.logits
    }

    fn push(&mut self, id: u32) -> Result<()> {
        self.lm.check_ids(&[id])?;
        self.logits = self.lm.model.decode_push(&mut self.state, id)?;
        self.log_probs = log_softmax(&self.logits);
        Ok(())
    }
}
