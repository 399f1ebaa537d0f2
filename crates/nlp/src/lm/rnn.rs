//! `RnnLm`: the recurrent language model of Zaremba et al. (2014) and PyTorch's
//! word_language_model example: embedding, stacked RNN/GRU/LSTM, a linear softmax head, with
//! dropout on the non-recurrent connections only and optional weight tying (Press & Wolf 2017).
//!
//! Parameters carry PyTorch's names, so a checkpoint exchanges with that example:
//! `encoder.weight` `[vocab, embed]`, `rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`,
//! `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}`, `decoder.weight` `[vocab, hidden]`, `decoder.bias`.
//! With tying, the decoder's weight *is* the encoder's: it is stored and trained once, as
//! `encoder.weight`.

use std::path::Path;
use std::sync::Arc;

use autograd::{Var, no_grad};
use nn_layers::layers::{CellKind, Dropout, Embedding, Linear, Recurrent, RecurrentConfig, RecurrentState};
use nn_layers::{Module, Param, join};
use serde_json::{Value, json};
use tensor_core::{DType, Device, Result, Tensor, TensorError, TensorRng};

use super::LmNetwork;
use crate::NlpError;

/// Sizes and regularisation of an [`RnnLm`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RnnLmConfig {
    /// The recurrent cell (tanh RNN, GRU or LSTM).
    pub cell: CellKind,
    /// Token ids (rows of the embedding, outputs of the head).
    pub vocab_size: usize,
    /// Embedding width.
    pub embed: usize,
    /// Hidden units per layer.
    pub hidden: usize,
    /// Stacked recurrent layers.
    pub layers: usize,
    /// Dropout on the embedding output, between layers and before the head (training only;
    /// never on the recurrent connections).
    pub dropout: f64,
    /// Use the embedding as the head's weight (needs `embed == hidden`).
    pub tie_weights: bool,
    /// Every parameter starts uniform in `[-init_range, init_range]` (Zaremba: 0.1); 0 keeps
    /// PyTorch's layer defaults.
    pub init_range: f64,
}

impl RnnLmConfig {
    /// Zaremba et al.'s "small" model over `vocab_size` ids: 2 x 200 LSTM, no dropout,
    /// untied, uniform ±0.1.
    pub fn zaremba_small(vocab_size: usize) -> RnnLmConfig {
        RnnLmConfig {
            cell: CellKind::Lstm,
            vocab_size,
            embed: 200,
            hidden: 200,
            layers: 2,
            dropout: 0.0,
            tie_weights: false,
            init_range: 0.1,
        }
    }

    /// Checks sizes and options.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(TensorError::invalid("rnn-lm", msg));
        if self.vocab_size == 0 || self.embed == 0 || self.hidden == 0 || self.layers == 0 {
            return fail(format!("sizes must be positive: {self:?}"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return fail(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        if self.tie_weights && self.embed != self.hidden {
            return fail(format!("tied weights need embed == hidden, got {} and {}", self.embed, self.hidden));
        }
        if !(self.init_range >= 0.0 && self.init_range.is_finite()) {
            return fail(format!("init range must be >= 0, got {}", self.init_range));
        }
        Ok(())
    }
}

/// The recurrent state of every layer, carried from one window of text to the next.
#[derive(Clone, Debug)]
pub struct LmState {
    /// One state per layer (`h`, and `c` for an LSTM, each `[1, N, hidden]`).
    pub layers: Vec<RecurrentState>,
}

impl LmState {
    /// The same values cut off from the graph (truncated back-propagation through time).
    pub fn detach(&self) -> LmState {
        LmState { layers: self.layers.iter().map(RecurrentState::detach).collect() }
    }

    /// The state as named tensors (`h.l0`, `c.l0`, ...), e.g. for a checkpoint.
    pub fn to_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            out.push((format!("h.l{k}"), layer.h.value()));
            if let Some(c) = &layer.c {
                out.push((format!("c.l{k}"), c.value()));
            }
        }
        out
    }

    /// A state from tensors written by [`LmState::to_tensors`]; `None` when a layer is missing.
    pub fn from_tensors(tensors: &[(String, Tensor)], layers: usize, cell: CellKind) -> Option<LmState> {
        let find = |name: String| tensors.iter().find(|(n, _)| *n == name).map(|(_, t)| Var::constant(t.clone()));
        let mut out = Vec::with_capacity(layers);
        for k in 0..layers {
            let h = find(format!("h.l{k}"))?;
            let c = if cell == CellKind::Lstm { Some(find(format!("c.l{k}"))?) } else { None };
            out.push(RecurrentState { h, c });
        }
        Some(LmState { layers: out })
    }
}

/// Embedding -> stacked recurrent layers -> linear head, over token ids.
#[derive(Debug)]
pub struct RnnLm {
    config: RnnLmConfig,
    encoder: Embedding,
    /// One single-layer stack per layer, so that dropout between layers is ours to seed.
    rnn: Vec<Recurrent>,
    decoder: Linear,
}

impl RnnLm {
    /// A randomly initialised model (see [`RnnLmConfig::init_range`]).
    pub fn new(config: RnnLmConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<RnnLm> {
        config.validate()?;
        let encoder = Embedding::new(config.vocab_size, config.embed, rng, device)?;
        let mut rnn = Vec::with_capacity(config.layers);
        for layer in 0..config.layers {
            let input = if layer == 0 { config.embed } else { config.hidden };
            rnn.push(Recurrent::new(config.cell, RecurrentConfig::new(input, config.hidden), rng, device)?);
        }
        let mut decoder = Linear::new(config.hidden, config.vocab_size, rng, device)?;
        if config.tie_weights {
            decoder.weight = encoder.weight.clone();
        }
        let model = RnnLm { config, encoder, rnn, decoder };
        if config.init_range > 0.0 {
            let r = config.init_range;
            model.visit_params("", &mut |_, p| {
                let value = p.value();
                let fresh = rng.uniform(value.shape().clone(), -r, r, value.dtype(), value.device());
                // Same shape, dtype and device: replacing the value cannot fail.
                if let Ok(fresh) = fresh {
                    let _ = p.set_value(fresh);
                }
            });
        }
        Ok(model)
    }

    /// The sizes.
    pub fn config(&self) -> &RnnLmConfig {
        &self.config
    }

    /// Whether the head's weight is the embedding (one shared parameter).
    pub fn head_is_tied(&self) -> bool {
        self.config.tie_weights
    }

    /// The head's weight `[vocab, hidden]`.
    pub fn decoder_weight(&self) -> &Param {
        &self.decoder.weight
    }

    /// The embedding `[vocab, embed]`.
    pub fn encoder_weight(&self) -> &Param {
        &self.encoder.weight
    }

    /// Zero states for `streams` parallel streams.
    pub fn zero_state(&self, streams: usize, device: &Arc<dyn Device>) -> Result<LmState> {
        let zeros = || Tensor::zeros([1, streams, self.config.hidden], DType::F32, device).map(Var::constant);
        let layers = (0..self.config.layers)
            .map(|_| {
                Ok(RecurrentState {
                    h: zeros()?,
                    c: if self.config.cell == CellKind::Lstm { Some(zeros()?) } else { None },
                })
            })
            .collect::<Result<_>>()?;
        Ok(LmState { layers })
    }

    /// Logits `[T·N, vocab]` (row `t·N + n` is stream `n` at step `t`) for i64 ids `[T, N]`,
    /// from `state` (zeros when `None`), and the state after the last step. With
    /// `dropout_seed`, dropout is applied with masks drawn from that seed (training); without,
    /// none is (evaluation).
    pub fn forward_ids(
        &self,
        ids: &Tensor,
        state: Option<&LmState>,
        dropout_seed: Option<u64>,
    ) -> Result<(Var, LmState)> {
        let (x, next) = self.hidden_states(ids, state, dropout_seed)?;
        let (steps, streams) = (ids.dims()[0], ids.dims()[1]);
        let logits = self.decoder.forward(&x.reshape([steps * streams, self.config.hidden])?)?;
        Ok((logits, next))
    }

    /// The last layer's states `[T, N, hidden]` for i64 ids `[T, N]` (what the head reads: the
    /// features a downstream task builds on), from `state` (zeros when `None`), and the state
    /// after the last step; dropout as in [`RnnLm::forward_ids`].
    pub fn hidden_states(
        &self,
        ids: &Tensor,
        state: Option<&LmState>,
        dropout_seed: Option<u64>,
    ) -> Result<(Var, LmState)> {
        let dims = ids.dims().to_vec();
        if dims.len() != 2 {
            return Err(TensorError::invalid("rnn-lm", format!("expects ids [T, N], got {}", ids.shape())));
        }
        let (steps, streams) = (dims[0], dims[1]);
        let mut masks = dropout_seed.filter(|_| self.config.dropout > 0.0).map(TensorRng::new);
        let mut drop = |x: Var| -> Result<Var> {
            match masks.as_mut() {
                Some(rng) => Dropout::new(self.config.dropout, rng.next_u64())?.forward(&x),
                None => Ok(x),
            }
        };
        let mut x = drop(self.encoder.lookup(ids)?)?;
        let mut next = Vec::with_capacity(self.rnn.len());
        for (k, layer) in self.rnn.iter().enumerate() {
            let (out, s) = layer.forward_with(&x, None, state.map(|s| &s.layers[k]))?;
            next.push(s);
            x = drop(out)?;
        }
        Ok((x.reshape([steps, streams, self.config.hidden])?, LmState { layers: next }))
    }
}

impl Module for RnnLm {
    /// Logits `[T·N, vocab]` for ids `[T, N]` from zero states, without dropout.
    fn forward(&self, input: &Var) -> Result<Var> {
        Ok(self.forward_ids(&input.value(), None, None)?.0)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.encoder.visit_params(&join(prefix, "encoder"), visit);
        for (k, layer) in self.rnn.iter().enumerate() {
            // Each layer is a one-layer stack named `..._l0`; ours is layer k of the model.
            layer.visit_params("", &mut |name, p| {
                let renamed = name.strip_suffix("_l0").map_or_else(|| name.to_string(), |n| format!("{n}_l{k}"));
                visit(&join(prefix, &join("rnn", &renamed)), p);
            });
        }
        if !self.head_is_tied() {
            self.decoder.visit_params(&join(prefix, "decoder"), visit);
        } else if let Some(bias) = &self.decoder.bias {
            visit(&join(prefix, "decoder.bias"), bias);
        }
    }
}

fn cell_name(cell: CellKind) -> &'static str {
    match cell {
        CellKind::RnnTanh => "rnn_tanh",
        CellKind::RnnRelu => "rnn_relu",
        CellKind::Gru => "gru",
        CellKind::Lstm => "lstm",
    }
}

fn cell_from_name(name: &str) -> Option<CellKind> {
    [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Gru, CellKind::Lstm].into_iter().find(|&c| cell_name(c) == name)
}

impl RnnLmConfig {
    /// The config read from a model folder's `config.json` (`path`, named in errors).
    pub fn from_json(doc: &Value, path: &Path) -> crate::Result<RnnLmConfig> {
        let bad = |msg: String| NlpError::Parse { path: path.to_path_buf(), line: 0, msg };
        let size = |key: &str| {
            doc[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("`{key}` must be a whole number")))
        };
        let number = |key: &str| doc[key].as_f64().ok_or_else(|| bad(format!("`{key}` must be a number")));
        let cell = doc["cell"]
            .as_str()
            .and_then(cell_from_name)
            .ok_or_else(|| bad(format!("`cell` must be rnn_tanh, rnn_relu, gru or lstm, found {}", doc["cell"])))?;
        let config = RnnLmConfig {
            cell,
            vocab_size: size("vocab_size")?,
            embed: size("embed")?,
            hidden: size("hidden")?,
            layers: size("layers")?,
            dropout: number("dropout")?,
            tie_weights: doc["tie_weights"]
                .as_bool()
                .ok_or_else(|| bad("`tie_weights` must be true or false".into()))?,
            init_range: number("init_range")?,
        };
        config.validate().map_err(|e| bad(e.to_string()))?;
        Ok(config)
    }
}

impl RnnLm {
    /// Runs `ids` `[T, 1]` from `state`; the raw logits after the last and the state.
    fn step(&self, ids: &[u32], state: Option<&LmState>) -> crate::Result<(Vec<f32>, LmState)> {
        let device = self.encoder.weight.value().device().clone();
        let values: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
        let inputs = Tensor::from_vec(values, [ids.len(), 1], &device)?;
        no_grad(|| {
            let (logits, next) = self.forward_ids(&inputs, state, None)?;
            let last = logits.value().try_narrow(0, ids.len() - 1, 1)?;
            Ok((last.to_vec::<f32>()?, next))
        })
    }
}

impl LmNetwork for RnnLm {
    type Decoding = LmState;
    const ARCHITECTURE: &'static str = "rnn-lm";

    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    fn device(&self) -> Arc<dyn Device> {
        self.encoder.weight.value().device().clone()
    }

    fn describe(&self) -> String {
        let c = &self.config;
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

    fn config_json(&self) -> Value {
        let c = &self.config;
        json!({
            "architecture": Self::ARCHITECTURE,
            "cell": cell_name(c.cell),
            "vocab_size": c.vocab_size,
            "embed": c.embed,
            "hidden": c.hidden,
            "layers": c.layers,
            "dropout": c.dropout,
            "tie_weights": c.tie_weights,
            "init_range": c.init_range,
        })
    }

    fn from_config_json(doc: &Value, path: &Path, device: &Arc<dyn Device>) -> crate::Result<Self> {
        Ok(RnnLm::new(RnnLmConfig::from_json(doc, path)?, &mut TensorRng::new(0), device)?)
    }

    fn vocab_tensors(&self) -> &'static [&'static str] {
        &["encoder.weight", "decoder.weight", "decoder.bias"]
    }

    fn context(&self) -> Option<usize> {
        None
    }

    fn forward_window(
        &self,
        ids: &Tensor,
        carried: Option<&LmState>,
        dropout_seed: Option<u64>,
    ) -> crate::Result<(Var, LmState)> {
        Ok(self.forward_ids(ids, carried, dropout_seed)?)
    }

    fn carried_from_tensors(&self, tensors: &[(String, Tensor)]) -> Option<LmState> {
        LmState::from_tensors(tensors, self.config.layers, self.config.cell)
    }

    fn decode_start(&self, ids: &[u32]) -> crate::Result<(Vec<f32>, LmState)> {
        if ids.is_empty() {
            return Err(NlpError::EmptyPrompt);
        }
        self.step(ids, None)
    }

    fn decode_push(&self, state: &mut LmState, id: u32) -> crate::Result<Vec<f32>> {
        let (logits, next) = self.step(&[id], Some(state))?;
        *state = next;
        Ok(logits)
    }
}
