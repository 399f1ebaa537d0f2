//! Sizes and options of the recurrent encoder-decoder, and their `config.json` form.

use nn_layers::layers::CellKind;
use serde_json::{Value, json};

use crate::{Result, TranslateError};

/// How the decoder scores the encoder's positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attention {
    /// Luong et al.'s (2015) multiplicative `general` score `hᵀ W k`, scaled by `1/√hidden`,
    /// on the fused attention op.
    Luong,
    /// Bahdanau et al.'s (2015) additive score `vᵀ tanh(W h + U k)`.
    Bahdanau,
}

/// Sizes and options of an [`RnnSeq2Seq`](super::RnnSeq2Seq).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RnnConfig {
    /// GRU or LSTM.
    pub cell: CellKind,
    /// Joint vocabulary size (source and target share the embedding).
    pub vocab_size: usize,
    /// Embedding width.
    pub embed: usize,
    /// Hidden units of the decoder, and of each direction of the encoder.
    pub hidden: usize,
    /// Stacked layers of the encoder and of the decoder.
    pub layers: usize,
    /// The attention score.
    pub attention: Attention,
    /// Dropout on embeddings and on the attentional vector (training only).
    pub dropout: f64,
}

impl RnnConfig {
    /// A small model: 1-layer GRU, 256 units, 256-wide embeddings, Luong attention, dropout 0.2.
    pub fn small(vocab_size: usize) -> RnnConfig {
        RnnConfig {
            cell: CellKind::Gru,
            vocab_size,
            embed: 256,
            hidden: 256,
            layers: 1,
            attention: Attention::Luong,
            dropout: 0.2,
        }
    }

    /// Checks sizes and options.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size < 4 || self.embed == 0 || self.hidden == 0 || self.layers == 0 {
            return Err(TranslateError::Invalid(format!("rnn: sizes must be positive: {self:?}")));
        }
        if !matches!(self.cell, CellKind::Gru | CellKind::Lstm) {
            return Err(TranslateError::Invalid(format!(
                "rnn: the cell must be a GRU or an LSTM, got {:?}",
                self.cell
            )));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(TranslateError::Invalid(format!("rnn: dropout must be in [0, 1), got {}", self.dropout)));
        }
        Ok(())
    }

    /// The `config.json` document.
    pub fn to_json(&self) -> Value {
        json!({
            "arch": "rnn",
            "cell": if self.cell == CellKind::Lstm { "lstm" } else { "gru" },
            "vocab_size": self.vocab_size,
            "embed": self.embed,
            "hidden": self.hidden,
            "layers": self.layers,
            "attention": if self.attention == Attention::Luong { "luong" } else { "bahdanau" },
            "dropout": self.dropout,
        })
    }

    /// Reads a document written by [`RnnConfig::to_json`].
    pub fn from_json(doc: &Value) -> Result<RnnConfig> {
        let bad = |m: String| TranslateError::Invalid(format!("rnn config: {m}"));
        let size = |key: &str| {
            doc[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("`{key}` must be a whole number")))
        };
        let text = |key: &str| doc[key].as_str().ok_or_else(|| bad(format!("`{key}` must be a string")));
        let cell = match text("cell")? {
            "gru" => CellKind::Gru,
            "lstm" => CellKind::Lstm,
            other => return Err(bad(format!("unknown cell `{other}` (gru or lstm)"))),
        };
        let attention = match text("attention")? {
            "luong" => Attention::Luong,
            "bahdanau" => Attention::Bahdanau,
            other => return Err(bad(format!("unknown attention `{other}` (luong or bahdanau)"))),
        };
        let config = RnnConfig {
            cell,
            vocab_size: size("vocab_size")?,
            embed: size("embed")?,
            hidden: size("hidden")?,
            layers: size("layers")?,
            attention,
            dropout: doc["dropout"].as_f64().ok_or_else(|| bad("`dropout` must be a number".into()))?,
        };
        config.validate()?;
        Ok(config)
    }
}
