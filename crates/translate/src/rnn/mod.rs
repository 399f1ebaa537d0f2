//! The recurrent encoder-decoder with attention (Bahdanau et al. 2015; Luong et al. 2015).
//!
//! - Encoder: the shared embedding, then a bidirectional GRU or LSTM stack over the source; its
//!   outputs `[B, S, 2·hidden]` are what the decoder attends to.
//! - Bridge: each decoder layer starts from `tanh(W [→h_last; ←h_first])` of the matching
//!   encoder layer (an LSTM's cell state starts at zero).
//! - Decoder, one step per target position: the recurrent stack reads `[embed(y_{t-1}); h̃_{t-1}]`
//!   (input feeding: the previous attentional vector), attends with its output `h_t` to get a
//!   context `c_t`, forms the attentional vector `h̃_t = tanh(W_c [c_t; h_t])`, and predicts
//!   `softmax(W_o h̃_t)`. Training feeds the reference (teacher forcing).
//!
//! Dropout (training only) falls on the embeddings and on `h̃_t`.

mod attention;
mod config;

use std::sync::Arc;

use autograd::{Var, no_grad};
use nn_layers::layers::{CellKind, Embedding, Linear, Recurrent, RecurrentConfig, RecurrentState};
use nn_layers::{Module, Param, join};
use tensor_core::{Device, Tensor, TensorRng};

pub use attention::Memory;
use attention::{AttentionLayer, row_index};
pub use config::{Attention, RnnConfig};

use crate::{Result, Seq2Seq, SourceBatch, TargetBatch};

/// A recurrent encoder-decoder with attention and input feeding.
#[derive(Debug)]
pub struct RnnSeq2Seq {
    config: RnnConfig,
    embed: Embedding,
    encoder: Recurrent,
    bridge: Linear,
    decoder: Recurrent,
    attention: AttentionLayer,
    combine: Linear,
    out: Linear,
}

/// What decoding carries between steps, one row per hypothesis.
#[derive(Clone, Debug)]
pub struct RnnState {
    /// The encoder's outputs, prepared for attention.
    pub memory: Memory,
    /// The decoder stack's state, `[layers, rows, hidden]`.
    pub decoder: RecurrentState,
    /// The last attentional vector `h̃`, `[rows, hidden]` (zeros before the first step).
    pub feed: Var,
}

/// Inverted dropout with masks from `rng`; the identity without one.
fn dropout(x: &Var, p: f64, rng: &mut Option<TensorRng>) -> Result<Var> {
    let Some(rng) = rng.as_mut().filter(|_| p > 0.0) else { return Ok(x.clone()) };
    let value = x.value();
    let mask = rng.bernoulli(value.shape().clone(), 1.0 - p, value.dtype(), value.device())?;
    Ok(x.mul(&Var::constant(mask))?.scale(1.0 / (1.0 - p))?)
}

impl RnnSeq2Seq {
    /// A model with fresh weights: every parameter uniform in ±0.1.
    pub fn new(config: RnnConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<RnnSeq2Seq> {
        config.validate()?;
        let (e, h, layers) = (config.embed, config.hidden, config.layers);
        let encoder_config =
            RecurrentConfig { layers, bidirectional: true, batch_first: true, ..RecurrentConfig::new(e, h) };
        let decoder_config = RecurrentConfig { layers, ..RecurrentConfig::new(e + h, h) };
        let model = RnnSeq2Seq {
            config,
            embed: Embedding::new(config.vocab_size, e, rng, device)?,
            encoder: Recurrent::new(config.cell, encoder_config, rng, device)?,
            bridge: Linear::new(2 * h, h, rng, device)?,
            decoder: Recurrent::new(config.cell, decoder_config, rng, device)?,
            attention: AttentionLayer::new(config.attention, h, rng, device)?,
            combine: Linear::new(3 * h, h, rng, device)?,
            out: Linear::new(h, config.vocab_size, rng, device)?,
        };
        let mut failure = None;
        model.visit_params("", &mut |_, p| {
            let value = p.value();
            let fresh = rng.uniform(value.shape().clone(), -0.1, 0.1, value.dtype(), value.device());
            if let Err(e) = fresh.and_then(|t| p.set_value(t)) {
                failure.get_or_insert(e);
            }
        });
        if let Some(e) = failure {
            return Err(e.into());
        }
        Ok(model)
    }

    /// The sizes and options.
    pub fn config(&self) -> &RnnConfig {
        &self.config
    }

    /// Runs the encoder; returns the attention memory and the decoder's initial state.
    fn encode_with(&self, source: &SourceBatch, rng: &mut Option<TensorRng>) -> Result<RnnState> {
        let embedded = dropout(&self.embed.lookup(&source.ids)?, self.config.dropout, rng)?;
        let (outputs, last) = self.encoder.forward_with(&embedded, Some(&source.lengths), None)?;
        let mut starts = Vec::with_capacity(self.config.layers);
        for layer in 0..self.config.layers {
            let both = Var::cat(&[&last.h.narrow(0, 2 * layer, 1)?, &last.h.narrow(0, 2 * layer + 1, 1)?], 2)?;
            starts.push(self.bridge.forward(&both)?.tanh()?);
        }
        let h = Var::cat(&starts.iter().collect::<Vec<_>>(), 0)?;
        let value = h.value();
        let zeros = || Tensor::zeros(value.dims().to_vec(), value.dtype(), value.device());
        let c = if self.config.cell == CellKind::Lstm { Some(Var::constant(zeros()?)) } else { None };
        let batch = source.lengths.len();
        let feed = Var::constant(Tensor::zeros([batch, self.config.hidden], value.dtype(), value.device())?);
        let memory = self.attention.memory(outputs, source.lengths.clone())?;
        Ok(RnnState { memory, decoder: RecurrentState { h, c }, feed })
    }

    /// One decoder step from embedded previous tokens `[rows, embed]`; returns the attentional
    /// vector `h̃` `[rows, hidden]` and advances `state`.
    fn step_with(&self, embedded: &Var, state: &mut RnnState, rng: &mut Option<TensorRng>) -> Result<Var> {
        let input = Var::cat(&[embedded, &state.feed], 1)?.unsqueeze(0)?;
        let (output, next) = self.decoder.forward_with(&input, None, Some(&state.decoder))?;
        let h = output.squeeze(0)?;
        let context = self.attention.context(&h, &state.memory)?;
        let attentional = self.combine.forward(&Var::cat(&[&context, &h], 1)?)?.tanh()?;
        let attentional = dropout(&attentional, self.config.dropout, rng)?;
        state.decoder = next;
        state.feed = attentional.clone();
        Ok(attentional)
    }
}

impl Module for RnnSeq2Seq {
    /// The encoder's outputs `[B, S, 2·hidden]` for source ids `[B, S]` without padding.
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        let (outputs, _) = self.encoder.forward_with(&self.embed.lookup(&input.value())?, None, None)?;
        Ok(outputs)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.embed.visit_params(&join(prefix, "embed"), visit);
        self.encoder.visit_params(&join(prefix, "encoder"), visit);
        self.bridge.visit_params(&join(prefix, "bridge"), visit);
        self.decoder.visit_params(&join(prefix, "decoder"), visit);
        self.attention.visit_params(&join(prefix, "attention"), visit);
        self.combine.visit_params(&join(prefix, "combine"), visit);
        self.out.visit_params(&join(prefix, "out"), visit);
    }
}

impl Seq2Seq for RnnSeq2Seq {
    type State = RnnState;

    fn logits(&self, source: &SourceBatch, target: &TargetBatch, dropout_seed: Option<u64>) -> Result<Var> {
        let mut rng = dropout_seed.map(TensorRng::new);
        let mut state = self.encode_with(source, &mut rng)?;
        let embedded = dropout(&self.embed.lookup(&target.input)?, self.config.dropout, &mut rng)?;
        let steps = target.input.dims()[1];
        let mut outputs = Vec::with_capacity(steps);
        for t in 0..steps {
            let attentional = self.step_with(&embedded.narrow(1, t, 1)?.squeeze(1)?, &mut state, &mut rng)?;
            outputs.push(attentional.unsqueeze(1)?);
        }
        Ok(self.out.forward(&Var::cat(&outputs.iter().collect::<Vec<_>>(), 1)?)?)
    }

    fn encode(&self, source: &SourceBatch) -> Result<RnnState> {
        no_grad(|| self.encode_with(source, &mut None))
    }

    fn step(&self, state: &mut RnnState, previous: &[u32]) -> Result<Tensor> {
        no_grad(|| {
            let ids: Vec<i64> = previous.iter().map(|&id| id as i64).collect();
            let ids = Tensor::from_vec(ids, [previous.len()], state.feed.value().device())?;
            let attentional = self.step_with(&self.embed.lookup(&ids)?, state, &mut None)?;
            Ok(self.out.forward(&attentional)?.value().try_log_softmax(-1)?)
        })
    }

    fn select(&self, state: &RnnState, rows: &[usize]) -> Result<RnnState> {
        let feed = state.feed.value();
        let index = row_index(rows, &feed)?;
        let pick =
            |v: &Var, axis: isize| -> Result<Var> { Ok(Var::constant(v.value().try_index_select(axis, &index)?)) };
        Ok(RnnState {
            memory: state.memory.select(rows)?,
            decoder: RecurrentState {
                h: pick(&state.decoder.h, 1)?,
                c: state.decoder.c.as_ref().map(|c| pick(c, 1)).transpose()?,
            },
            feed: pick(&state.feed, 0)?,
        })
    }

    fn max_target_positions(&self) -> usize {
        usize::MAX
    }
}
