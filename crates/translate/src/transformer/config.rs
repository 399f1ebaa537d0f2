//! The sizes and options of a [`super::TransformerSeq2Seq`].

use nn_layers::layers::{Activation, BlockConfig, Positions};
use serde_json::{Value, json};

use crate::{Result, TranslateError};

/// Sizes and options of the transformer encoder-decoder (Vaswani et al. 2017, pre-LayerNorm).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformerConfig {
    /// Source token ids (rows of the source embedding).
    pub source_vocab: usize,
    /// Target token ids (rows of the target embedding, outputs of the head).
    pub target_vocab: usize,
    /// Blocks in the encoder, and again in the decoder.
    pub layers: usize,
    /// Features per position (a multiple of `heads`).
    pub width: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width inside each block's MLP.
    pub ff: usize,
    /// Dropout on the embeddings and every residual branch (training only).
    pub dropout: f64,
    /// How positions are told apart.
    pub positions: Positions,
    /// One embedding table for source and target (a joint vocabulary: the sizes must agree).
    pub shared_embeddings: bool,
    /// The output head is the target embedding (transposed) rather than a matrix of its own.
    pub tied_output: bool,
    /// The longest source, and the most target positions decoded.
    pub max_positions: usize,
}

impl TransformerConfig {
    /// The scaled-down base recipe over one joint vocabulary of `vocab` ids: 3 + 3 layers,
    /// 256 wide, 4 heads, MLP 1024, dropout 0.1, sinusoidal positions, source, target and
    /// output embeddings one table, 256 positions.
    pub fn small(vocab: usize) -> TransformerConfig {
        TransformerConfig {
            source_vocab: vocab,
            target_vocab: vocab,
            layers: 3,
            width: 256,
            heads: 4,
            ff: 1024,
            dropout: 0.1,
            positions: Positions::Sinusoidal,
            shared_embeddings: true,
            tied_output: true,
            max_positions: 256,
        }
    }

    /// The blocks' shared options.
    pub(crate) fn block(&self, causal: bool) -> BlockConfig {
        BlockConfig {
            width: self.width,
            heads: self.heads,
            causal,
            bias: true,
            dropout: self.dropout,
            activation: Activation::Relu,
            layers: self.layers,
        }
    }

    /// Features per head.
    pub fn head_dim(&self) -> usize {
        self.width / self.heads.max(1)
    }

    /// Checks sizes and options.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(TranslateError::Invalid(format!("transformer config: {msg}")));
        if [self.source_vocab, self.target_vocab, self.layers, self.width, self.heads, self.ff, self.max_positions]
            .contains(&0)
        {
            return fail(format!("sizes must be positive: {self:?}"));
        }
        if !self.width.is_multiple_of(self.heads) {
            return fail(format!("width {} must be a multiple of heads {}", self.width, self.heads));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return fail(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        if self.shared_embeddings && self.source_vocab != self.target_vocab {
            return fail(format!(
                "shared embeddings need one vocabulary, got {} source and {} target ids",
                self.source_vocab, self.target_vocab
            ));
        }
        if self.positions == Positions::Rotary && !self.head_dim().is_multiple_of(2) {
            return fail(format!("rotary positions need an even head width, got {}", self.head_dim()));
        }
        Ok(())
    }

    /// The `model` entry of a model folder's `config.json`.
    pub fn to_json(&self) -> Value {
        json!({
            "arch": "transformer", "vocab_size": self.target_vocab, "source_vocab": self.source_vocab,
            "layers": self.layers, "width": self.width, "heads": self.heads, "ff": self.ff,
            "dropout": self.dropout, "positions": self.positions.name(),
            "shared_embeddings": self.shared_embeddings, "tied_output": self.tied_output,
            "max_positions": self.max_positions,
        })
    }

    /// Reads a document written by [`TransformerConfig::to_json`], and validates it.
    pub fn from_json(doc: &Value) -> Result<TransformerConfig> {
        let bad = |m: String| TranslateError::Invalid(format!("transformer config: {m}"));
        let size = |key: &str| {
            doc[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("`{key}` must be a whole number")))
        };
        let flag = |key: &str| doc[key].as_bool().ok_or_else(|| bad(format!("`{key}` must be true or false")));
        let positions = doc["positions"].as_str().unwrap_or_default();
        let config = TransformerConfig {
            source_vocab: size("source_vocab")?,
            target_vocab: size("vocab_size")?,
            layers: size("layers")?,
            width: size("width")?,
            heads: size("heads")?,
            ff: size("ff")?,
            dropout: doc["dropout"].as_f64().ok_or_else(|| bad("`dropout` must be a number".into()))?,
            positions: Positions::from_name(positions)
                .ok_or_else(|| bad(format!("unknown positions `{positions}` (learned, sinusoidal or rotary)")))?,
            shared_embeddings: flag("shared_embeddings")?,
            tied_output: flag("tied_output")?,
            max_positions: size("max_positions")?,
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_round_trips_through_json() {
        let config = TransformerConfig { positions: Positions::Rotary, ..TransformerConfig::small(500) };
        assert_eq!(TransformerConfig::from_json(&config.to_json()).unwrap(), config);
        let mut doc = config.to_json();
        doc["heads"] = json!(3);
        assert!(TransformerConfig::from_json(&doc).unwrap_err().to_string().contains("multiple of heads"));
    }
}
