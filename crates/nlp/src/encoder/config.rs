//! The sizes and options of a [`super::Bert`], and their `config.json` form.

use std::path::Path;

use nn_layers::layers::{Activation, BlockConfig};
use serde_json::{Value, json};

use crate::{NlpError, Result};

/// Sizes and options of a [`super::Bert`] (Hugging Face's `BertConfig`, under Tessera's names:
/// `width` is `hidden_size`, `intermediate` is `intermediate_size`, `positions` is
/// `max_position_embeddings`, `segments` is `type_vocab_size`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BertConfig {
    /// Token ids (rows of the word embedding, outputs of the masked-LM head).
    pub vocab_size: usize,
    /// Positions: the longest input the model reads, `[CLS]` and `[SEP]` included.
    pub positions: usize,
    /// Segment (token type) ids: 2 for single sentences and sentence pairs.
    pub segments: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads per layer.
    pub heads: usize,
    /// Features per position (a multiple of `heads`).
    pub width: usize,
    /// Width of the feed-forward layer inside each block (4 x `width` in BERT).
    pub intermediate: usize,
    /// Dropout on the embeddings and after each residual branch's projection (training only;
    /// Tessera's fused attention has no dropout on the attention probabilities).
    pub dropout: f64,
    /// The layer norms' epsilon (BERT's 1e-12).
    pub layer_norm_eps: f64,
    /// The feed-forward nonlinearity: [`Activation::Gelu`] (BERT's exact `gelu`) or
    /// [`Activation::GeluTanh`].
    pub activation: Activation,
}

impl BertConfig {
    /// A BERT of `layers` x `heads` x `width` over `vocab_size` ids and `positions` positions,
    /// with BERT's other settings (4 x wide feed-forward layer, two segments, exact GELU, layer
    /// norm epsilon 1e-12) and no dropout.
    pub fn new(vocab_size: usize, positions: usize, layers: usize, heads: usize, width: usize) -> BertConfig {
        BertConfig {
            vocab_size,
            positions,
            segments: 2,
            layers,
            heads,
            width,
            intermediate: 4 * width,
            dropout: 0.0,
            layer_norm_eps: 1e-12,
            activation: Activation::Gelu,
        }
    }

    /// Checks sizes and options.
    pub fn validate(&self) -> Result<()> {
        let sizes = [self.vocab_size, self.positions, self.segments, self.intermediate];
        if sizes.contains(&0) {
            return Err(NlpError::Invalid(format!("BERT sizes must be positive: {self:?}")));
        }
        if !matches!(self.activation, Activation::Gelu | Activation::GeluTanh) {
            return Err(NlpError::Invalid(format!("BERT's feed-forward layer uses a GELU, not {:?}", self.activation)));
        }
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 {
            return Err(NlpError::Invalid(format!("layer_norm_eps must be positive, got {}", self.layer_norm_eps)));
        }
        let block = BlockConfig {
            width: self.width,
            heads: self.heads,
            causal: false,
            bias: true,
            dropout: self.dropout,
            activation: self.activation,
            layers: self.layers,
        };
        block.validate()?;
        Ok(())
    }

    /// Features per head.
    pub fn head_width(&self) -> usize {
        self.width / self.heads.max(1)
    }

    /// The config as `config.json` keys (`architecture` included).
    pub fn to_json(&self) -> Value {
        json!({
            "architecture": super::Bert::ARCHITECTURE,
            "vocab_size": self.vocab_size,
            "positions": self.positions,
            "segments": self.segments,
            "layers": self.layers,
            "heads": self.heads,
            "width": self.width,
            "intermediate": self.intermediate,
            "dropout": self.dropout,
            "layer_norm_eps": self.layer_norm_eps,
            "activation": if self.activation == Activation::GeluTanh { "gelu_tanh" } else { "gelu" },
        })
    }

    /// The config read from a model folder's `config.json` (`path`, named in errors).
    pub fn from_json(doc: &Value, path: &Path) -> Result<BertConfig> {
        let bad = |msg: String| NlpError::Parse { path: path.to_path_buf(), line: 0, msg };
        if doc["architecture"] != super::Bert::ARCHITECTURE {
            return Err(bad(format!("architecture must be \"bert\", found {}", doc["architecture"])));
        }
        let size = |key: &str| {
            doc[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("`{key}` must be a whole number")))
        };
        let number = |key: &str| doc[key].as_f64().ok_or_else(|| bad(format!("`{key}` must be a number")));
        let activation = match doc["activation"].as_str() {
            Some("gelu") => Activation::Gelu,
            Some("gelu_tanh") => Activation::GeluTanh,
            _ => return Err(bad(format!("`activation` must be gelu or gelu_tanh, found {}", doc["activation"]))),
        };
        let config = BertConfig {
            vocab_size: size("vocab_size")?,
            positions: size("positions")?,
            segments: size("segments")?,
            layers: size("layers")?,
            heads: size("heads")?,
            width: size("width")?,
            intermediate: size("intermediate")?,
            dropout: number("dropout")?,
            layer_norm_eps: number("layer_norm_eps")?,
            activation,
        };
        config.validate().map_err(|e| bad(e.to_string()))?;
        Ok(config)
    }
}
