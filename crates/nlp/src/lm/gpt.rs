//! `Gpt`: a decoder-only transformer language model (GPT-2's architecture, nanoGPT's options):
//! token embedding plus positions, pre-LayerNorm blocks with causal self-attention and a GELU
//! MLP, a final layer norm, and the output head tied to the token embedding.
//!
//! Parameters carry Hugging Face GPT-2's names and layouts: `transformer.wte.weight`
//! `[vocab, width]`, `transformer.wpe.weight` `[context, width]` (learned positions only),
//! `transformer.h.{i}.ln_1`, `.attn.c_attn` (`[width, 3·width]`, Conv1D layout), `.attn.c_proj`,
//! `.ln_2`, `.mlp.c_fc`, `.mlp.c_proj`, `transformer.ln_f`; `lm_head.weight` is `wte` itself and
//! is stored once, as GPT-2's checkpoints do.

use std::path::Path;
use std::sync::Arc;

use autograd::{Var, no_grad};
use nn_layers::layers::{
    Activation, BlockConfig, Dropout, Embedding, KvCache, LayerNorm, Positions, Rotary, TransformerBlock,
    sinusoidal_table,
};
use nn_layers::{Module, Param, join};
use serde_json::{Value, json};
use tensor_core::{DType, Device, Tensor, TensorRng};

use super::{LmNetwork, LmState};
use crate::{NlpError, Result};

/// Sizes and options of a [`Gpt`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GptConfig {
    /// Token ids (rows of the embedding, outputs of the head).
    pub vocab_size: usize,
    /// Positions: the longest window the model reads.
    pub context: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads per block.
    pub heads: usize,
    /// Features per position (a multiple of `heads`).
    pub width: usize,
    /// Dropout on the embeddings and the residual branches (training only).
    pub dropout: f64,
    /// Biases in the projections and layer norms.
    pub bias: bool,
    /// How positions are told apart.
    pub positions: Positions,
    /// The MLP's GELU: [`Activation::GeluTanh`] (GPT-2) or [`Activation::Gelu`] (exact).
    pub activation: Activation,
}

impl GptConfig {
    /// nanoGPT's CPU Shakespeare model, the recipe of `gpt_jax.py`: 4 layers, 4 heads, 128
    /// wide, context 64, no dropout, no biases, learned positions, exact GELU.
    pub fn nano_shakespeare(vocab_size: usize) -> GptConfig {
        GptConfig {
            vocab_size,
            context: 64,
            layers: 4,
            heads: 4,
            width: 128,
            dropout: 0.0,
            bias: false,
            positions: Positions::Learned,
            activation: Activation::Gelu,
        }
    }

    fn block(&self) -> BlockConfig {
        BlockConfig {
            width: self.width,
            heads: self.heads,
            causal: true,
            bias: self.bias,
            dropout: self.dropout,
            activation: self.activation,
            layers: self.layers,
        }
    }

    /// Checks sizes and options.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size == 0 || self.context == 0 {
            return Err(NlpError::Invalid(format!("GPT sizes must be positive: {self:?}")));
        }
        if !matches!(self.activation, Activation::Gelu | Activation::GeluTanh) {
            return Err(NlpError::Invalid(format!("a GPT's MLP uses a GELU, not {:?}", self.activation)));
        }
        self.block().validate()?;
        if self.positions == Positions::Rotary && !(self.width / self.heads).is_multiple_of(2) {
            return Err(NlpError::Invalid(format!(
                "rotary positions need an even head width, got {} / {} heads",
                self.width, self.heads
            )));
        }
        Ok(())
    }

    fn to_json(self) -> Value {
        json!({
            "architecture": Gpt::ARCHITECTURE,
            "vocab_size": self.vocab_size,
            "context": self.context,
            "layers": self.layers,
            "heads": self.heads,
            "width": self.width,
            "dropout": self.dropout,
            "bias": self.bias,
            "positions": self.positions.name(),
            "activation": if self.activation == Activation::GeluTanh { "gelu_tanh" } else { "gelu" },
        })
    }

    /// The config read from a model folder's `config.json` (`path`, named in errors).
    pub fn from_json(doc: &Value, path: &Path) -> Result<GptConfig> {
        let bad = |msg: String| NlpError::Parse { path: path.to_path_buf(), line: 0, msg };
        let size = |key: &str| {
            doc[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("`{key}` must be a whole number")))
        };
        let positions = doc["positions"].as_str().and_then(Positions::from_name).ok_or_else(|| {
            bad(format!("`positions` must be learned, sinusoidal or rotary, found {}", doc["positions"]))
        })?;
        let activation = match doc["activation"].as_str() {
            Some("gelu") => Activation::Gelu,
            Some("gelu_tanh") => Activation::GeluTanh,
            _ => return Err(bad(format!("`activation` must be gelu or gelu_tanh, found {}", doc["activation"]))),
        };
        let config = GptConfig {
            vocab_size: size("vocab_size")?,
            context: size("context")?,
            layers: size("layers")?,
            heads: size("heads")?,
            width: size("width")?,
            dropout: doc["dropout"].as_f64().ok_or_else(|| bad("`dropout` must be a number".into()))?,
            bias: doc["bias"].as_bool().ok_or_else(|| bad("`bias` must be true or false".into()))?,
            positions,
            activation,
        };
        config.validate().map_err(|e| bad(e.to_string()))?;
        Ok(config)
    }
}

/// Where decoding stands: the key-value cache and the ids it holds.
#[derive(Clone, Debug)]
pub struct GptDecoding {
    /// Keys and values of every position read.
    pub cache: KvCache,
    /// The ids read since the cache was last started.
    pub ids: Vec<u32>,
}

/// A decoder-only transformer over token ids.
#[derive(Debug)]
pub struct Gpt {
    config: GptConfig,
    wte: Embedding,
    wpe: Option<Param>,
    sinusoids: Option<Tensor>,
    h: Vec<TransformerBlock>,
    ln_f: LayerNorm,
}

impl Gpt {
    /// A model initialised as GPT-2 (embeddings and weights N(0, 0.02), residual projections
    /// N(0, 0.02/√(2·layers)), zero biases).
    pub fn new(config: GptConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Gpt> {
        config.validate()?;
        let GptConfig { vocab_size, context, width, heads, .. } = config;
        let wte = Embedding { weight: Param::new(rng.normal([vocab_size, width], 0.0, 0.02, DType::F32, device)?) };
        let wpe = match config.positions {
            Positions::Learned => Some(Param::new(rng.normal([context, width], 0.0, 0.02, DType::F32, device)?)),
            _ => None,
        };
        let sinusoids = match config.positions {
            Positions::Sinusoidal => Some(sinusoidal_table(context, width, device)?),
            _ => None,
        };
        let mut h = Vec::with_capacity(config.layers);
        for _ in 0..config.layers {
            let rotary = match config.positions {
                Positions::Rotary => Some(Rotary::new(context, width / heads, device)?),
                _ => None,
            };
            h.push(TransformerBlock::new(&config.block(), rotary, rng, device)?);
        }
        let ln_f = LayerNorm::with_bias(width, 1e-5, config.bias, device)?;
        Ok(Gpt { config, wte, wpe, sinusoids, h, ln_f })
    }

    /// The sizes.
    pub fn config(&self) -> &GptConfig {
        &self.config
    }

    /// The token embedding `[vocab, width]`, also the output head.
    pub fn wte(&self) -> &Param {
        &self.wte.weight
    }

    /// The final hidden states `[B, T, width]` (after `ln_f`) for i64 ids `[B, T]`. With
    /// `cache`, the ids follow the cached positions and their keys and values are appended;
    /// with `dropout_seed`, dropout masks are drawn from it.
    pub fn hidden(&self, ids: &Tensor, cache: Option<&mut KvCache>, dropout_seed: Option<u64>) -> Result<Var> {
        let dims = ids.dims().to_vec();
        if dims.len() != 2 {
            return Err(NlpError::Invalid(format!("a GPT reads ids [B, T], got {}", ids.shape())));
        }
        let steps = dims[1];
        if steps == 0 {
            return Err(NlpError::EmptyPrompt);
        }
        let offset = cache.as_ref().map_or(0, |c| c.len());
        if offset + steps > self.config.context {
            return Err(NlpError::ContextTooLong { tokens: offset + steps, context: self.config.context });
        }
        let mut masks = dropout_seed.filter(|_| self.config.dropout > 0.0).map(TensorRng::new);
        let mut x = self.wte.lookup(ids)?;
        if let Some(wpe) = &self.wpe {
            x = x.add(&wpe.var().narrow(0, offset, steps)?)?;
        }
        if let Some(table) = &self.sinusoids {
            x = x.add(&Var::constant(table.try_narrow(0, offset, steps)?))?;
        }
        if let Some(rng) = masks.as_mut() {
            x = Dropout::new(self.config.dropout, rng.next_u64())?.forward(&x)?;
        }
        match cache {
            Some(cache) => {
                if cache.layers.len() != self.h.len() {
                    *cache = KvCache::new(self.h.len());
                }
                for (block, kv) in self.h.iter().zip(cache.layers.iter_mut()) {
                    x = block.forward_with(&x, None, Some(kv), masks.as_mut())?;
                }
            }
            None => {
                for block in &self.h {
                    x = block.forward_with(&x, None, None, masks.as_mut())?;
                }
            }
        }
        Ok(self.ln_f.forward(&x)?)
    }

    /// Logits `[B, T, vocab]` for i64 ids `[B, T]` (see [`Gpt::hidden`]).
    pub fn forward_ids(&self, ids: &Tensor, cache: Option<&mut KvCache>, dropout_seed: Option<u64>) -> Result<Var> {
        Ok(self.hidden(ids, cache, dropout_seed)?.linear(&self.wte.weight.var(), None)?)
    }

    /// The raw logits after the last of `ids`, read after `cache`.
    fn last_logits(&self, ids: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
        let device = self.wte.weight.value().device().clone();
        let values: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
        let inputs = Tensor::from_vec(values, [1, ids.len()], &device)?;
        no_grad(|| {
            let logits = self.forward_ids(&inputs, Some(cache), None)?.value();
            let last = logits.try_narrow(1, ids.len() - 1, 1)?.try_reshape([self.config.vocab_size])?;
            Ok(last.to_vec::<f32>()?)
        })
    }
}

impl LmNetwork for Gpt {
    type Decoding = GptDecoding;
    const ARCHITECTURE: &'static str = "gpt";

    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    fn device(&self) -> Arc<dyn Device> {
        self.wte.weight.value().device().clone()
    }

    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "GPT {} layers x {} heads, width {}, context {} ({} ids, {} positions{}, dropout {})",
            c.layers,
            c.heads,
            c.width,
            c.context,
            c.vocab_size,
            c.positions.name(),
            if c.bias { "" } else { ", no biases" },
            c.dropout
        )
    }

    fn config_json(&self) -> Value {
        self.config.to_json()
    }

    fn from_config_json(doc: &Value, path: &Path, device: &Arc<dyn Device>) -> Result<Self> {
        Gpt::new(GptConfig::from_json(doc, path)?, &mut TensorRng::new(0), device)
    }

    fn vocab_tensors(&self) -> &'static [&'static str] {
        &["transformer.wte.weight"]
    }

    fn context(&self) -> Option<usize> {
        Some(self.config.context)
    }

    /// Each window is read on its own: a transformer carries nothing from one to the next.
    fn forward_window(
        &self,
        ids: &Tensor,
        _carried: Option<&LmState>,
        dropout_seed: Option<u64>,
    ) -> Result<(Var, LmState)> {
        let dims = ids.dims().to_vec();
        if dims.len() != 2 {
            return Err(NlpError::Invalid(format!("expects ids [T, N], got {}", ids.shape())));
        }
        let (steps, streams) = (dims[0], dims[1]);
        let batch_first = ids.try_transpose(0, 1)?.try_contiguous()?;
        let hidden = self.hidden(&batch_first, None, dropout_seed)?;
        let time_first = hidden.permute(&[1, 0, 2])?.reshape([steps * streams, self.config.width])?;
        Ok((time_first.linear(&self.wte.weight.var(), None)?, LmState { layers: Vec::new() }))
    }

    fn carried_from_tensors(&self, _tensors: &[(String, Tensor)]) -> Option<LmState> {
        Some(LmState { layers: Vec::new() })
    }

    /// Reads the last `context` of `ids` (fewer positions than that are all it can see).
    fn decode_start(&self, ids: &[u32]) -> Result<(Vec<f32>, GptDecoding)> {
        if ids.is_empty() {
            return Err(NlpError::EmptyPrompt);
        }
        let kept = ids[ids.len().saturating_sub(self.config.context)..].to_vec();
        let mut cache = KvCache::new(self.h.len());
        let log_probs = self.last_logits(&kept, &mut cache)?;
        Ok((log_probs, GptDecoding { cache, ids: kept }))
    }

    /// One step with the cache; when the context is full, decoding starts again from the
    /// last half of it (so that the next half-context of steps are cached again).
    fn decode_push(&self, state: &mut GptDecoding, id: u32) -> Result<Vec<f32>> {
        if state.cache.len() >= self.config.context {
            let keep = self.config.context / 2;
            let mut ids = state.ids[state.ids.len().saturating_sub(keep.saturating_sub(1))..].to_vec();
            ids.push(id);
            let (logits, fresh) = self.decode_start(&ids)?;
            *state = fresh;
            return Ok(logits);
        }
        let logits = self.last_logits(&[id], &mut state.cache)?;
        state.ids.push(id);
        Ok(logits)
    }
}

impl Module for Gpt {
    /// Logits `[B, T, vocab]` for ids `[B, T]`, without cache or dropout.
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.forward_ids(&input.value(), None, None)
            .map_err(|e| tensor_core::TensorError::invalid("gpt", e.to_string()))
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        let t = join(prefix, "transformer");
        self.wte.visit_params(&join(&t, "wte"), visit);
        if let Some(wpe) = &self.wpe {
            visit(&join(&t, "wpe.weight"), wpe);
        }
        for (i, block) in self.h.iter().enumerate() {
            block.visit_params(&join(&t, &format!("h.{i}")), visit);
        }
        self.ln_f.visit_params(&join(&t, "ln_f"), visit);
    }
}
