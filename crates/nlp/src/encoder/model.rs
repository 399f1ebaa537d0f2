//! `Bert`: the encoder, its pooled sentence representation and its masked-LM head.

use std::sync::Arc;

use autograd::Var;
use nn_layers::layers::{LayerNorm, Linear};
use nn_layers::{Module, Param, join};
use tensor_core::{DType, Device, Tensor, TensorRng};

use super::layers::{BertEmbeddings, BertLayer, bert_linear};
use super::{BertBatch, BertConfig};
use crate::{NlpError, Result};

/// How a [`Bert`] sums up an input as one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// The `[CLS]` position's final state through `pooler.dense` and a tanh (BERT's pooled
    /// output, the input of its sentence-level heads).
    Cls,
    /// The mean of the final states over the row's real tokens (`[CLS]` and `[SEP]` included,
    /// padding excluded), as sentence-embedding models pool.
    Mean,
}

/// The masked-LM head (`cls.predictions`): a dense layer, the activation and a layer norm, then
/// the word embedding transposed (tied) plus a bias per id.
#[derive(Debug)]
struct MlmHead {
    dense: Linear,
    norm: LayerNorm,
    bias: Param,
}

/// A BERT-style bidirectional encoder with Hugging Face's parameter names: `bert.embeddings.*`,
/// `bert.encoder.layer.{i}.*`, `bert.pooler.dense`, `cls.predictions.transform.dense`,
/// `cls.predictions.transform.LayerNorm` and `cls.predictions.bias`; the masked-LM decoder is
/// `bert.embeddings.word_embeddings.weight` itself, stored once (as Hugging Face's checkpoints
/// store it).
#[derive(Debug)]
pub struct Bert {
    config: BertConfig,
    embeddings: BertEmbeddings,
    layers: Vec<BertLayer>,
    pooler: Linear,
    head: MlmHead,
}

impl Bert {
    /// The `architecture` value of its model folders' `config.json`.
    pub const ARCHITECTURE: &'static str = "bert";

    /// A model initialised as BERT: weights and embeddings N(0, 0.02), zero biases, unit
    /// layer-norm scales.
    pub fn new(config: BertConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Bert> {
        config.validate()?;
        let embeddings = BertEmbeddings::new(&config, rng, device)?;
        let layers = (0..config.layers).map(|_| BertLayer::new(&config, rng, device)).collect::<Result<Vec<_>>>()?;
        let pooler = bert_linear(config.width, config.width, rng, device)?;
        let head = MlmHead {
            dense: bert_linear(config.width, config.width, rng, device)?,
            norm: LayerNorm::new(config.width, config.layer_norm_eps, device)?,
            bias: Param::new(Tensor::zeros([config.vocab_size], DType::F32, device)?),
        };
        Ok(Bert { config, embeddings, layers, pooler, head })
    }

    /// The sizes.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The device its parameters live on.
    pub fn device(&self) -> Arc<dyn Device> {
        self.embeddings.word_embeddings.weight.value().device().clone()
    }

    /// The final states `[B, T, width]` of `batch`, without dropout (evaluation, features for
    /// a downstream model). Padded positions get states too; they read only the real tokens
    /// and no real token reads them.
    pub fn encode(&self, batch: &BertBatch) -> Result<Var> {
        self.encode_with(batch, None)
    }

    /// [`Bert::encode`], with dropout masks drawn from `dropout_seed` when given (training).
    pub fn encode_with(&self, batch: &BertBatch, dropout_seed: Option<u64>) -> Result<Var> {
        let steps = batch.steps();
        if steps > self.config.positions {
            return Err(NlpError::ContextTooLong { tokens: steps, context: self.config.positions });
        }
        let mut masks = dropout_seed.filter(|_| self.config.dropout > 0.0).map(TensorRng::new);
        let mut x = self.embeddings.forward_with(&batch.ids, &batch.segments, masks.as_mut())?;
        for layer in &self.layers {
            x = layer.forward_with(&x, &batch.lengths, masks.as_mut())?;
        }
        Ok(x)
    }

    /// One vector `[B, width]` per row of `batch`, pooled from its final states `hidden`
    /// (`[B, T, width]`, from [`Bert::encode`]).
    pub fn pooled(&self, batch: &BertBatch, hidden: &Var, pooling: Pooling) -> Result<Var> {
        let dims = hidden.dims();
        if dims.len() != 3 || dims[0] != batch.rows() || dims[1] != batch.steps() || dims[2] != self.config.width {
            return Err(NlpError::Invalid(format!(
                "pooling expects states [{}, {}, {}] for this batch, got {dims:?}",
                batch.rows(),
                batch.steps(),
                self.config.width
            )));
        }
        let (rows, steps, width) = (dims[0], dims[1], dims[2]);
        Ok(match pooling {
            Pooling::Cls => self.pooler.forward(&hidden.narrow(1, 0, 1)?.reshape([rows, width])?)?.tanh()?,
            Pooling::Mean => {
                let device = hidden.value().device().clone();
                let mut keep = vec![0.0f32; rows * steps];
                for (row, &length) in batch.lengths.iter().enumerate() {
                    keep[row * steps..row * steps + length].fill(1.0);
                }
                let keep = Var::constant(Tensor::from_vec(keep, [rows, steps, 1], &device)?);
                let counts: Vec<f32> = batch.lengths.iter().map(|&n| n as f32).collect();
                let counts = Var::constant(Tensor::from_vec(counts, [rows, 1], &device)?);
                hidden.mul(&keep)?.sum(&[1], false)?.div(&counts)?
            }
        })
    }

    /// [`Bert::encode`] then [`Bert::pooled`]: the sentence representation a classifier
    /// fine-tunes on.
    pub fn pool(&self, batch: &BertBatch, pooling: Pooling) -> Result<Var> {
        self.pooled(batch, &self.encode(batch)?, pooling)
    }

    /// Masked-LM logits `[N, vocab]` from final states `hidden` `[B, T, width]`: of every
    /// position (`N = B·T`, row `b·T + t`), or only of the flat positions `rows` (i64 `[N]`),
    /// which is all a masked-LM loss needs.
    pub fn mlm_logits(&self, hidden: &Var, rows: Option<&Tensor>) -> Result<Var> {
        let dims = hidden.dims();
        if dims.len() != 3 || dims[2] != self.config.width {
            return Err(NlpError::Invalid(format!(
                "the masked-LM head expects states [B, T, {}], got {dims:?}",
                self.config.width
            )));
        }
        let flat = hidden.reshape([dims[0] * dims[1], dims[2]])?;
        let picked = match rows {
            Some(rows) => flat.index_select(0, rows)?,
            None => flat,
        };
        let h = self.head.norm.forward(&self.config.activation.forward(&self.head.dense.forward(&picked)?)?)?;
        let decoder = self.embeddings.word_embeddings.weight.var();
        Ok(h.linear(&decoder, Some(&self.head.bias.var()))?)
    }

    /// The word embedding `[vocab, width]`, also the masked-LM decoder.
    pub fn word_embeddings(&self) -> &Param {
        &self.embeddings.word_embeddings.weight
    }
}

impl Module for Bert {
    /// Masked-LM logits `[B, T, vocab]` for ids `[B, T]` (one segment, no padding, no dropout).
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        let wrap = |e: NlpError| tensor_core::TensorError::invalid("bert", e.to_string());
        let ids = input.value();
        let dims = ids.dims().to_vec();
        let segments = ids.try_zeros_like()?;
        let lengths = vec![dims.get(1).copied().unwrap_or(0); dims.first().copied().unwrap_or(0)];
        let batch = BertBatch::new(ids, segments, lengths).map_err(wrap)?;
        let hidden = self.encode(&batch).map_err(wrap)?;
        let logits = self.mlm_logits(&hidden, None).map_err(wrap)?;
        logits.reshape([dims[0], dims[1], self.config.vocab_size])
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        let bert = join(prefix, "bert");
        self.embeddings.visit(&join(&bert, "embeddings"), visit);
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit(&join(&bert, &format!("encoder.layer.{i}")), visit);
        }
        self.pooler.visit_params(&join(&bert, "pooler.dense"), visit);
        let predictions = join(prefix, "cls.predictions");
        visit(&join(&predictions, "bias"), &self.head.bias);
        self.head.dense.visit_params(&join(&predictions, "transform.dense"), visit);
        self.head.norm.visit_params(&join(&predictions, "transform.LayerNorm"), visit);
    }
}
