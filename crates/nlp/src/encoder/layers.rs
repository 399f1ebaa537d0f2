//! BERT's pieces under Hugging Face's names: the embeddings (words, positions, segments, then a
//! layer norm), and the post-LayerNorm encoder layer (`x = LN(x + attention(x))`, then
//! `x = LN(x + ffn(x))`) whose attention has separate `query`, `key` and `value` projections
//! in PyTorch's `[out, in]` layout.

use std::sync::Arc;

use autograd::Var;
use nn_layers::layers::{Activation, AttentionMask, Dropout, Embedding, LayerNorm, Linear};
use nn_layers::{Module, Param, join};
use tensor_core::{DType, Device, Tensor, TensorRng};

use super::BertConfig;
use crate::Result;

/// A `[out, in]` linear layer initialised as BERT: weight N(0, 0.02), zero bias.
pub(crate) fn bert_linear(
    inputs: usize,
    outputs: usize,
    rng: &mut TensorRng,
    device: &Arc<dyn Device>,
) -> Result<Linear> {
    Ok(Linear {
        weight: Param::new(rng.normal([outputs, inputs], 0.0, 0.02, DType::F32, device)?),
        bias: Some(Param::new(Tensor::zeros([outputs], DType::F32, device)?)),
    })
}

/// An embedding table initialised as BERT: N(0, 0.02).
fn bert_embedding(rows: usize, width: usize, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Embedding> {
    Ok(Embedding { weight: Param::new(rng.normal([rows, width], 0.0, 0.02, DType::F32, device)?) })
}

/// `x` with dropout `p` drawn from `masks`, or `x` itself without masks (evaluation).
pub(crate) fn dropout(x: Var, p: f64, masks: Option<&mut TensorRng>) -> Result<Var> {
    Ok(match masks {
        Some(rng) if p > 0.0 => Dropout::new(p, rng.next_u64())?.forward(&x)?,
        _ => x,
    })
}

/// `word_embeddings[ids] + position_embeddings[t] + token_type_embeddings[segment]`, then a
/// layer norm and dropout.
#[derive(Debug)]
pub struct BertEmbeddings {
    /// `[vocab, width]`, also the masked-LM head's output weight.
    pub word_embeddings: Embedding,
    /// `[positions, width]`.
    pub position_embeddings: Embedding,
    /// `[segments, width]`.
    pub token_type_embeddings: Embedding,
    /// Normalises the sum.
    pub layer_norm: LayerNorm,
    dropout: f64,
}

impl BertEmbeddings {
    pub(crate) fn new(config: &BertConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        Ok(BertEmbeddings {
            word_embeddings: bert_embedding(config.vocab_size, config.width, rng, device)?,
            position_embeddings: bert_embedding(config.positions, config.width, rng, device)?,
            token_type_embeddings: bert_embedding(config.segments, config.width, rng, device)?,
            layer_norm: LayerNorm::new(config.width, config.layer_norm_eps, device)?,
            dropout: config.dropout,
        })
    }

    /// `[B, T, width]` for i64 `ids` and `segments` `[B, T]` (positions `0..T`).
    pub(crate) fn forward_with(&self, ids: &Tensor, segments: &Tensor, masks: Option<&mut TensorRng>) -> Result<Var> {
        let steps = ids.dims()[1];
        let words = self.word_embeddings.lookup(ids)?;
        let positions = self.position_embeddings.weight.var().narrow(0, 0, steps)?;
        let types = self.token_type_embeddings.lookup(segments)?;
        let x = self.layer_norm.forward(&words.add(&positions)?.add(&types)?)?;
        dropout(x, self.dropout, masks)
    }

    pub(crate) fn visit(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.word_embeddings.visit_params(&join(prefix, "word_embeddings"), visit);
        self.position_embeddings.visit_params(&join(prefix, "position_embeddings"), visit);
        self.token_type_embeddings.visit_params(&join(prefix, "token_type_embeddings"), visit);
        self.layer_norm.visit_params(&join(prefix, "LayerNorm"), visit);
    }
}

/// One post-LayerNorm encoder layer (Hugging Face's `BertLayer`).
#[derive(Debug)]
pub struct BertLayer {
    /// `attention.self.query`, `[width, width]`.
    pub query: Linear,
    /// `attention.self.key`.
    pub key: Linear,
    /// `attention.self.value`.
    pub value: Linear,
    /// `attention.output.dense`: mixes the heads.
    pub attention_dense: Linear,
    /// `attention.output.LayerNorm`: normalises `x + attention`.
    pub attention_norm: LayerNorm,
    /// `intermediate.dense`, `[intermediate, width]`.
    pub intermediate: Linear,
    /// `output.dense`, `[width, intermediate]`.
    pub output_dense: Linear,
    /// `output.LayerNorm`: normalises `x + ffn`.
    pub output_norm: LayerNorm,
    heads: usize,
    dropout: f64,
    activation: Activation,
}

impl BertLayer {
    pub(crate) fn new(config: &BertConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        let (w, i) = (config.width, config.intermediate);
        Ok(BertLayer {
            query: bert_linear(w, w, rng, device)?,
            key: bert_linear(w, w, rng, device)?,
            value: bert_linear(w, w, rng, device)?,
            attention_dense: bert_linear(w, w, rng, device)?,
            attention_norm: LayerNorm::new(w, config.layer_norm_eps, device)?,
            intermediate: bert_linear(w, i, rng, device)?,
            output_dense: bert_linear(i, w, rng, device)?,
            output_norm: LayerNorm::new(w, config.layer_norm_eps, device)?,
            heads: config.heads,
            dropout: config.dropout,
            activation: config.activation,
        })
    }

    /// `x` `[B, T, width]` through the layer; `lengths[b]` leading positions of row `b` are
    /// real (the keys after them are padding no query sees).
    pub(crate) fn forward_with(&self, x: &Var, lengths: &[usize], mut masks: Option<&mut TensorRng>) -> Result<Var> {
        let dims = x.dims();
        let (batch, steps, width) = (dims[0], dims[1], dims[2]);
        let head = width / self.heads;
        let split = |layer: &Linear| -> Result<Var> {
            Ok(layer.forward(x)?.reshape([batch, steps, self.heads, head])?.permute(&[0, 2, 1, 3])?)
        };
        let (q, k, v) = (split(&self.query)?, split(&self.key)?, split(&self.value)?);
        let padded = lengths.iter().any(|&n| n < steps);
        let mask = AttentionMask { causal: false, key_lengths: padded.then(|| lengths.to_vec()) };
        let context = Var::attention(&q, &k, &v, &mask, Some(1.0 / (head as f64).sqrt()))?;
        let context = context.permute(&[0, 2, 1, 3])?.reshape([batch, steps, width])?;
        let attended = dropout(self.attention_dense.forward(&context)?, self.dropout, masks.as_deref_mut())?;
        let x = self.attention_norm.forward(&x.add(&attended)?)?;
        let inner = self.activation.forward(&self.intermediate.forward(&x)?)?;
        let fed = dropout(self.output_dense.forward(&inner)?, self.dropout, masks)?;
        Ok(self.output_norm.forward(&x.add(&fed)?)?)
    }

    pub(crate) fn visit(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        let attention = join(prefix, "attention");
        let this = join(&attention, "self");
        self.query.visit_params(&join(&this, "query"), visit);
        self.key.visit_params(&join(&this, "key"), visit);
        self.value.visit_params(&join(&this, "value"), visit);
        self.attention_dense.visit_params(&join(&attention, "output.dense"), visit);
        self.attention_norm.visit_params(&join(&attention, "output.LayerNorm"), visit);
        self.intermediate.visit_params(&join(prefix, "intermediate.dense"), visit);
        self.output_dense.visit_params(&join(prefix, "output.dense"), visit);
        self.output_norm.visit_params(&join(prefix, "output.LayerNorm"), visit);
    }
}
