//! The transformer encoder-decoder of Vaswani et al. (2017), scaled down and pre-LayerNorm:
//! an encoder of self-attention blocks over the source (padded positions masked), a decoder of
//! causal self-attention, cross-attention to the encoder's output and an MLP, a final layer
//! norm on each side, and the output head tied to the target embedding.
//!
//! Embeddings are drawn N(0, width^-½) and multiplied by √width before the positions are
//! added, so tokens and sinusoids start at the same scale; every other weight starts as
//! GPT-2's (N(0, 0.02), residual projections N(0, 0.02/√(2·layers))). Decoding projects the
//! encoder's output to each decoder layer's keys and values once, and keeps the decoder's own
//! keys and values in a [`KvCache`]; [`TransformerSeq2Seq::step_recompute`] is the same step
//! without the cache, re-reading every earlier output.
//!
//! Parameter names: `embed.weight` (shared) or `encoder.embed.weight` and
//! `decoder.embed.weight`; `{encoder,decoder}.positions` (learned positions only);
//! `encoder.layers.{i}` ([`TransformerBlock`]), `decoder.layers.{i}` ([`DecoderBlock`]),
//! `{encoder,decoder}.ln_f`; `output.weight` `[width, target_vocab]` when untied.

mod config;
mod loss;
mod recipe;
mod state;

pub use config::TransformerConfig;
pub use loss::label_smoothed_loss;
pub use recipe::{TransformerRecipe, TransformerTrainer};
pub use state::TransformerState;

use std::sync::Arc;

use autograd::Var;
use nn_layers::layers::{
    DecoderBlock, Dropout, Embedding, KvCache, LayerNorm, MemoryKv, Positions, Projection, Rotary, TransformerBlock,
    sinusoidal_table,
};
use nn_layers::{Module, Param, join};
use tensor_core::{DType, Device, Tensor, TensorRng};

use crate::{Result, SourceBatch, TranslateError};

/// Position information added to one side's embeddings.
#[derive(Debug)]
enum Added {
    Learned(Param),
    Fixed(Tensor),
    None,
}

/// The transformer encoder-decoder; see the module documentation.
#[derive(Debug)]
pub struct TransformerSeq2Seq {
    config: TransformerConfig,
    /// The source embedding; `None` when shared with the target's.
    source_embed: Option<Embedding>,
    target_embed: Embedding,
    source_positions: Added,
    target_positions: Added,
    encoder: Vec<TransformerBlock>,
    encoder_ln: LayerNorm,
    decoder: Vec<DecoderBlock>,
    decoder_ln: LayerNorm,
    /// The output head when it is not tied to the target embedding.
    output: Option<Projection>,
}

impl TransformerSeq2Seq {
    /// A model of `config`, its weights drawn from `rng` (see the module documentation).
    pub fn new(config: TransformerConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        config.validate()?;
        let TransformerConfig { width, max_positions, .. } = config;
        let std = (width as f64).powf(-0.5);
        let embedding = |vocab: usize, rng: &mut TensorRng| -> Result<Embedding> {
            Ok(Embedding { weight: Param::new(rng.normal([vocab, width], 0.0, std, DType::F32, device)?) })
        };
        let target_embed = embedding(config.target_vocab, rng)?;
        let source_embed = if config.shared_embeddings { None } else { Some(embedding(config.source_vocab, rng)?) };
        let mut positions = || -> Result<Added> {
            Ok(match config.positions {
                Positions::Learned => {
                    Added::Learned(Param::new(rng.normal([max_positions, width], 0.0, std, DType::F32, device)?))
                }
                Positions::Sinusoidal => Added::Fixed(sinusoidal_table(max_positions, width, device)?),
                Positions::Rotary => Added::None,
            })
        };
        let (source_positions, target_positions) = (positions()?, positions()?);
        let rotary = || -> Result<Option<Rotary>> {
            Ok(match config.positions {
                Positions::Rotary => Some(Rotary::new(max_positions, config.head_dim(), device)?),
                _ => None,
            })
        };
        let encoder = (0..config.layers)
            .map(|_| Ok(TransformerBlock::with_ff(&config.block(false), config.ff, rotary()?, rng, device)?))
            .collect::<Result<Vec<_>>>()?;
        let decoder = (0..config.layers)
            .map(|_| Ok(DecoderBlock::new(&config.block(true), config.ff, rotary()?, rng, device)?))
            .collect::<Result<Vec<_>>>()?;
        let output = if config.tied_output {
            None
        } else {
            Some(Projection::normal(width, config.target_vocab, std, false, rng, device)?)
        };
        Ok(TransformerSeq2Seq {
            config,
            source_embed,
            target_embed,
            source_positions,
            target_positions,
            encoder,
            encoder_ln: LayerNorm::new(width, 1e-5, device)?,
            decoder,
            decoder_ln: LayerNorm::new(width, 1e-5, device)?,
            output,
        })
    }

    /// The sizes and options.
    pub fn config(&self) -> &TransformerConfig {
        &self.config
    }

    /// `ids` `[B, T]` embedded at positions `offset..offset + T`, times √width plus the
    /// positions, with dropout when `masks` is given.
    fn embed(
        &self,
        table: &Embedding,
        positions: &Added,
        ids: &Tensor,
        offset: usize,
        masks: Option<&mut TensorRng>,
    ) -> Result<Var> {
        let steps = ids.dims()[1];
        if offset + steps > self.config.max_positions {
            return Err(TranslateError::Invalid(format!(
                "{} positions exceed the transformer's {} (shorten the input: nothing is truncated)",
                offset + steps,
                self.config.max_positions
            )));
        }
        let mut x = table.lookup(ids)?.scale((self.config.width as f64).sqrt())?;
        x = match positions {
            Added::Learned(table) => x.add(&table.var().narrow(0, offset, steps)?)?,
            Added::Fixed(table) => x.add(&Var::constant(table.try_narrow(0, offset, steps)?))?,
            Added::None => x,
        };
        match masks {
            Some(rng) if self.config.dropout > 0.0 => {
                Ok(Dropout::new(self.config.dropout, rng.next_u64())?.forward(&x)?)
            }
            _ => Ok(x),
        }
    }

    /// The encoder's output `[B, S, width]` for `source`.
    pub fn encoder_output(&self, source: &SourceBatch, mut masks: Option<&mut TensorRng>) -> Result<Var> {
        let dims = source.ids.dims();
        if dims.len() != 2 || source.lengths.len() != dims[0] || source.lengths.iter().any(|&l| l == 0 || l > dims[1]) {
            return Err(TranslateError::Invalid(format!(
                "a source batch needs ids [B, S] and B lengths in 1..=S, got {} and {:?}",
                source.ids.shape(),
                source.lengths
            )));
        }
        let table = self.source_embed.as_ref().unwrap_or(&self.target_embed);
        let mut x = self.embed(table, &self.source_positions, &source.ids, 0, masks.as_deref_mut())?;
        for block in &self.encoder {
            x = block.forward_with(&x, Some(&source.lengths), None, masks.as_deref_mut())?;
        }
        Ok(self.encoder_ln.forward(&x)?)
    }

    /// The encoder's output projected to every decoder layer's cross-attention keys and values.
    pub fn memories(&self, encoded: &Var, lengths: &[usize]) -> Result<Vec<MemoryKv>> {
        self.decoder.iter().map(|block| Ok(block.memory(encoded, lengths)?)).collect()
    }

    /// Logits `[B, T, target_vocab]` of the decoder reading `ids` `[B, T]` at positions
    /// `offset..`, attending to `memories`; with `cache`, the positions before `offset` are
    /// read from it and the new ones appended.
    pub fn decoder_logits(
        &self,
        ids: &Tensor,
        memories: &[MemoryKv],
        cache: Option<&mut KvCache>,
        mut masks: Option<&mut TensorRng>,
    ) -> Result<Var> {
        let offset = cache.as_ref().map_or(0, |c| c.len());
        let mut x = self.embed(&self.target_embed, &self.target_positions, ids, offset, masks.as_deref_mut())?;
        match cache {
            Some(cache) => {
                if cache.layers.len() != self.decoder.len() {
                    *cache = KvCache::new(self.decoder.len());
                }
                for ((block, memory), kv) in self.decoder.iter().zip(memories).zip(cache.layers.iter_mut()) {
                    x = block.forward_with(&x, memory, Some(kv), masks.as_deref_mut())?;
                }
            }
            None => {
                for (block, memory) in self.decoder.iter().zip(memories) {
                    x = block.forward_with(&x, memory, None, masks.as_deref_mut())?;
                }
            }
        }
        let hidden = self.decoder_ln.forward(&x)?;
        Ok(match &self.output {
            Some(head) => head.forward(&hidden)?,
            None => hidden.linear(&self.target_embed.weight.var(), None)?,
        })
    }
}

impl Module for TransformerSeq2Seq {
    /// The encoder alone: `input` holds source ids `[B, S]` (an i64 constant), unpadded;
    /// returns its output `[B, S, width]`. Translation goes through [`crate::Seq2Seq`].
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        let ids = input.value();
        let dims = ids.dims().to_vec();
        let lengths = vec![dims.get(1).copied().unwrap_or(0); dims.first().copied().unwrap_or(0)];
        self.encoder_output(&SourceBatch { ids, lengths }, None)
            .map_err(|e| tensor_core::TensorError::invalid("transformer", e.to_string()))
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        match &self.source_embed {
            None => self.target_embed.visit_params(&join(prefix, "embed"), visit),
            Some(source) => {
                source.visit_params(&join(prefix, "encoder.embed"), visit);
                self.target_embed.visit_params(&join(prefix, "decoder.embed"), visit);
            }
        }
        for (side, positions) in [("encoder", &self.source_positions), ("decoder", &self.target_positions)] {
            if let Added::Learned(table) = positions {
                visit(&join(prefix, &format!("{side}.positions")), table);
            }
        }
        for (i, block) in self.encoder.iter().enumerate() {
            block.visit_params(&join(prefix, &format!("encoder.layers.{i}")), visit);
        }
        self.encoder_ln.visit_params(&join(prefix, "encoder.ln_f"), visit);
        for (i, block) in self.decoder.iter().enumerate() {
            block.visit_params(&join(prefix, &format!("decoder.layers.{i}")), visit);
        }
        self.decoder_ln.visit_params(&join(prefix, "decoder.ln_f"), visit);
        if let Some(head) = &self.output {
            head.visit_params(&join(prefix, "output"), visit);
        }
    }
}
