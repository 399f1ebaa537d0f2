//! Decoding with the transformer: the state carried between steps, and the
//! [`Seq2Seq`] implementation.

use autograd::{Var, no_grad};
use nn_layers::layers::{KvCache, MemoryKv};
use tensor_core::Tensor;

use super::TransformerSeq2Seq;
use crate::{Result, Seq2Seq, SourceBatch, TargetBatch, TranslateError};

/// What the transformer carries between decoding steps, one row per hypothesis: each decoder
/// layer's projection of the encoder's output, the decoder's self-attention key-value cache,
/// and the tokens fed so far.
#[derive(Clone, Debug)]
pub struct TransformerState {
    /// Per decoder layer, the memory's cross-attention keys and values.
    pub memories: Vec<MemoryKv>,
    /// The decoder's self-attention keys and values of every position fed (empty when
    /// decoding by [`TransformerSeq2Seq::step_recompute`]).
    pub cache: KvCache,
    /// Per row, the tokens fed so far.
    pub fed: Vec<Vec<u32>>,
}

impl TransformerState {
    /// Hypotheses.
    pub fn rows(&self) -> usize {
        self.fed.len()
    }

    /// Positions fed so far.
    pub fn steps(&self) -> usize {
        self.fed.first().map_or(0, Vec::len)
    }
}

/// Log-probabilities `[rows, V]` of the last position of logits `[rows, T, V]`.
fn last_log_probs(logits: &Var) -> Result<Tensor> {
    let dims = logits.dims();
    let last = logits.narrow(1, dims[1] - 1, 1)?.reshape([dims[0], dims[2]])?;
    Ok(last.log_softmax(-1)?.value())
}

impl TransformerSeq2Seq {
    /// Records `previous` in `state` and returns the ids `[rows, T]` to feed.
    fn feed(&self, state: &mut TransformerState, previous: &[u32], all: bool) -> Result<Tensor> {
        if previous.len() != state.rows() {
            return Err(TranslateError::Invalid(format!(
                "{} previous tokens for {} hypotheses",
                previous.len(),
                state.rows()
            )));
        }
        if let Some(&bad) = previous.iter().find(|&&id| id as usize >= self.config.target_vocab) {
            return Err(TranslateError::Invalid(format!(
                "token {bad} is outside the target vocabulary of {}",
                self.config.target_vocab
            )));
        }
        if state.steps() >= self.config.max_positions {
            return Err(TranslateError::Invalid(format!(
                "the transformer decodes at most {} positions",
                self.config.max_positions
            )));
        }
        for (row, &id) in state.fed.iter_mut().zip(previous) {
            row.push(id);
        }
        let steps = if all { state.steps() } else { 1 };
        let ids: Vec<i64> =
            state.fed.iter().flat_map(|row| row[row.len() - steps..].iter().map(|&id| id as i64)).collect();
        let device = state.memories[0].keys.value().device().clone();
        Ok(Tensor::from_vec(ids, [previous.len(), steps], &device)?)
    }

    /// [`Seq2Seq::step`] without the key-value cache: the decoder re-reads every token fed so
    /// far and keeps the last position (the reference for the cache, and its benchmark's
    /// baseline). A state decodes either way throughout, not both.
    pub fn step_recompute(&self, state: &mut TransformerState, previous: &[u32]) -> Result<Tensor> {
        if !state.cache.is_empty() {
            return Err(TranslateError::Invalid("this state decodes with its key-value cache".into()));
        }
        let ids = self.feed(state, previous, true)?;
        no_grad(|| last_log_probs(&self.decoder_logits(&ids, &state.memories, None, None)?))
    }
}

impl Seq2Seq for TransformerSeq2Seq {
    type State = TransformerState;

    fn logits(&self, source: &SourceBatch, target: &TargetBatch, dropout_seed: Option<u64>) -> Result<Var> {
        let dims = target.input.dims();
        if dims.len() != 2 || dims[0] != source.lengths.len() || target.output.dims() != dims {
            return Err(TranslateError::Invalid(format!(
                "a target batch of {} rows needs input and output [B, T], got {} and {}",
                source.lengths.len(),
                target.input.shape(),
                target.output.shape()
            )));
        }
        let mut masks = dropout_seed.map(tensor_core::TensorRng::new);
        let encoded = self.encoder_output(source, masks.as_mut())?;
        let memories = self.memories(&encoded, &source.lengths)?;
        self.decoder_logits(&target.input, &memories, None, masks.as_mut())
    }

    fn encode(&self, source: &SourceBatch) -> Result<TransformerState> {
        no_grad(|| {
            let encoded = self.encoder_output(source, None)?;
            Ok(TransformerState {
                memories: self.memories(&encoded, &source.lengths)?,
                cache: KvCache::new(self.decoder.len()),
                fed: vec![Vec::new(); source.lengths.len()],
            })
        })
    }

    fn step(&self, state: &mut TransformerState, previous: &[u32]) -> Result<Tensor> {
        if state.cache.len() != state.steps() {
            return Err(TranslateError::Invalid("this state decodes by recomputation, without a cache".into()));
        }
        let ids = self.feed(state, previous, false)?;
        no_grad(|| last_log_probs(&self.decoder_logits(&ids, &state.memories, Some(&mut state.cache), None)?))
    }

    fn select(&self, state: &TransformerState, rows: &[usize]) -> Result<TransformerState> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= state.rows()) {
            return Err(TranslateError::Invalid(format!("row {bad} selected from {} hypotheses", state.rows())));
        }
        Ok(TransformerState {
            memories: state.memories.iter().map(|m| m.select(rows)).collect::<tensor_core::Result<_>>()?,
            cache: state.cache.select(rows)?,
            fed: rows.iter().map(|&r| state.fed[r].clone()).collect(),
        })
    }

    fn max_target_positions(&self) -> usize {
        self.config.max_positions
    }
}
