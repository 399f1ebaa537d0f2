//! The one interface every encoder-decoder answers to.
//!
//! Token ids are `u32` on the host and `i64` tensors on the device. Every target sequence is
//! framed by the vocabulary's `<s>` (begin) and `</s>` (end) ids: the decoder reads
//! `<s> y1 .. yn` and is trained to predict `y1 .. yn </s>`.

use autograd::Var;
use nn_layers::Module;
use tensor_core::Tensor;

use crate::Result;

/// A batch of source sentences, right-padded.
#[derive(Clone, Debug)]
pub struct SourceBatch {
    /// Token ids `[B, S]` (i64), padding after each sentence's `lengths[b]` real tokens.
    pub ids: Tensor,
    /// Real tokens per sentence (each ≥ 1).
    pub lengths: Vec<usize>,
}

/// A batch of target sentences for teacher forcing, right-padded.
#[derive(Clone, Debug)]
pub struct TargetBatch {
    /// Decoder inputs `[B, T]` (i64): `<s> y1 .. yn`, then padding.
    pub input: Tensor,
    /// Decoder outputs `[B, T]` (i64): `y1 .. yn </s>`, then padding.
    pub output: Tensor,
    /// Real positions per sentence (`n + 1`; the padding after them carries no loss).
    pub lengths: Vec<usize>,
}

/// An encoder-decoder translation model.
///
/// Training calls [`Seq2Seq::logits`]. Decoding calls [`Seq2Seq::encode`] once per batch of
/// sources, then [`Seq2Seq::step`] once per output position; beam search reorders and
/// duplicates hypotheses with [`Seq2Seq::select`].
pub trait Seq2Seq: Module {
    /// What decoding carries between steps: the encoder's memory and the decoder's own
    /// state (recurrent state, or the self-attention key/value cache), one row per hypothesis.
    type State;

    /// Teacher-forced logits `[B, T, V]` (no softmax). `dropout_seed`: training mode, dropout
    /// masks drawn from this seed; `None`: evaluation.
    fn logits(&self, source: &SourceBatch, target: &TargetBatch, dropout_seed: Option<u64>) -> Result<Var>;

    /// Encodes a batch of sources (evaluation mode) into the state before the first output.
    fn encode(&self, source: &SourceBatch) -> Result<Self::State>;

    /// One decoding step: feeds `previous[r]` (the last token of row `r`; `<s>` at the first
    /// step) and returns log-probabilities `[rows, V]` of the next token, advancing `state`.
    fn step(&self, state: &mut Self::State, previous: &[u32]) -> Result<Tensor>;

    /// The state with rows `rows` of `state`, in that order (rows may repeat): beam search
    /// expands each source into its beams and keeps the survivors of each step.
    fn select(&self, state: &Self::State, rows: &[usize]) -> Result<Self::State>;

    /// The largest number of target positions the model can decode (positions table size for
    /// a transformer; `usize::MAX` for a recurrent model).
    fn max_target_positions(&self) -> usize;
}
