//! What a network must answer to sit behind a [`super::NeuralLm`]: logits for windows of ids
//! over parallel streams (training and scoring), token-by-token decoding (generation and
//! readers), and its config as the JSON of a model folder. [`super::RnnLm`] and
//! [`super::Gpt`] implement it, so both train with the same trainer, score with the same
//! code and load from the same kind of folder.

use std::path::Path;
use std::sync::Arc;

use autograd::Var;
use nn_layers::Module;
use serde_json::Value;
use tensor_core::{Device, Tensor};

use super::LmState;
use crate::Result;

/// A network that predicts the next token.
pub trait LmNetwork: Module + Sized {
    /// What decoding keeps between tokens (a recurrent state, a key-value cache).
    type Decoding;

    /// The `architecture` value of its model folders' `config.json`.
    const ARCHITECTURE: &'static str;

    /// Ids it predicts over.
    fn vocab_size(&self) -> usize;

    /// The device its parameters live on.
    fn device(&self) -> Arc<dyn Device>;

    /// One line about it (kind and size).
    fn describe(&self) -> String;

    /// Its config as JSON keys (`architecture` included), written into `config.json`.
    fn config_json(&self) -> Value;

    /// A randomly initialised network from a `config.json` read from `path` (named in errors).
    fn from_config_json(doc: &Value, path: &Path, device: &Arc<dyn Device>) -> Result<Self>;

    /// The tensors of a checkpoint whose first axis is the vocabulary.
    fn vocab_tensors(&self) -> &'static [&'static str];

    /// The longest window it reads at once (a transformer's context); `None`: any length.
    fn context(&self) -> Option<usize>;

    /// Logits `[T·N, vocab]` (row `t·N + n` is stream `n` at step `t`) for i64 ids `[T, N]`,
    /// after `carried` (the state the previous window left; `None`: a fresh start), and the
    /// state to carry into the next window. With `dropout_seed`, dropout masks are drawn from
    /// it (training); without, there is no dropout.
    fn forward_window(
        &self,
        ids: &Tensor,
        carried: Option<&LmState>,
        dropout_seed: Option<u64>,
    ) -> Result<(Var, LmState)>;

    /// The carried state saved in a training checkpoint (see [`LmState::to_tensors`]).
    fn carried_from_tensors(&self, tensors: &[(String, Tensor)]) -> Option<LmState>;

    /// Reads `ids` (at least one) from a fresh start: the raw (unnormalised) logits of the
    /// next id, and the decoding state after them.
    fn decode_start(&self, ids: &[u32]) -> Result<(Vec<f32>, Self::Decoding)>;

    /// Reads one more id: the raw logits of the next.
    fn decode_push(&self, state: &mut Self::Decoding, id: u32) -> Result<Vec<f32>>;
}
