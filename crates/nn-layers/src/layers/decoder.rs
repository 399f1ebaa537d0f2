//! The decoder block of an encoder-decoder transformer, pre-LayerNorm like
//! [`TransformerBlock`](super::TransformerBlock): `x + self_attn(ln_1(x))` (causal, with a
//! key-value cache when decoding), `x + cross(ln_cross(x), memory)`, then `x + mlp(ln_2(x))`,
//! dropout on the three residual branches.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{Device, Result, TensorRng};

use super::transformer::residual_dropout;
use super::{AttentionConfig, CrossAttention, LayerKv, LayerNorm, MemoryKv, Mlp, MultiHeadAttention, Rotary};
use crate::layers::BlockConfig;
use crate::{Module, Param, module::join};

/// One pre-LayerNorm decoder block: causal self-attention, cross-attention to the encoder's
/// memory, and the MLP.
#[derive(Debug)]
pub struct DecoderBlock {
    /// Normalises the self-attention's input.
    pub ln_1: LayerNorm,
    /// Causal self-attention over the target.
    pub attn: MultiHeadAttention,
    /// Normalises the cross-attention's input.
    pub ln_cross: LayerNorm,
    /// Attention to the encoder's memory.
    pub cross: CrossAttention,
    /// Normalises the MLP's input.
    pub ln_2: LayerNorm,
    /// The feed-forward network.
    pub mlp: Mlp,
    dropout: f64,
}

impl DecoderBlock {
    /// A block of `config` (its `causal` is ignored: a decoder is causal) with an MLP `ff`
    /// wide inside, initialised as [`TransformerBlock`](super::TransformerBlock) is; `rotary`
    /// turns the self-attention's queries and keys (never the cross-attention's).
    pub fn new(
        config: &BlockConfig,
        ff: usize,
        rotary: Option<Rotary>,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        config.validate()?;
        let BlockConfig { width, heads, bias, .. } = *config;
        let proj_std = 0.02 / (2.0 * config.layers as f64).sqrt();
        Ok(DecoderBlock {
            ln_1: LayerNorm::with_bias(width, 1e-5, bias, device)?,
            attn: MultiHeadAttention::new(
                AttentionConfig { width, heads, causal: true, bias, proj_std, rotary },
                rng,
                device,
            )?,
            ln_cross: LayerNorm::with_bias(width, 1e-5, bias, device)?,
            cross: CrossAttention::new(width, heads, bias, proj_std, rng, device)?,
            ln_2: LayerNorm::with_bias(width, 1e-5, bias, device)?,
            mlp: Mlp::for_block(config, ff, rng, device)?,
            dropout: config.dropout,
        })
    }

    /// The encoder's output `[B, S, width]` (row `b` with `lengths[b]` real positions)
    /// projected to this block's cross-attention keys and values.
    pub fn memory(&self, memory: &Var, lengths: &[usize]) -> Result<MemoryKv> {
        self.cross.memory(memory, lengths)
    }

    /// `x` `[B, T, width]` through the block, attending to `memory` (from
    /// [`DecoderBlock::memory`]). With `cache`, the step's self-attention keys and values are
    /// appended to it and `x` holds the positions after the cached ones (decoding); with
    /// `masks`, dropout on the residual branches draws from it (training).
    pub fn forward_with(
        &self,
        x: &Var,
        memory: &MemoryKv,
        cache: Option<&mut LayerKv>,
        mut masks: Option<&mut TensorRng>,
    ) -> Result<Var> {
        let attended = self.attn.forward_with(&self.ln_1.forward(x)?, None, cache)?;
        let x = x.add(&residual_dropout(attended, self.dropout, masks.as_deref_mut())?)?;
        let read = self.cross.forward_memory(&self.ln_cross.forward(&x)?, memory)?;
        let x = x.add(&residual_dropout(read, self.dropout, masks.as_deref_mut())?)?;
        let fed = self.mlp.forward(&self.ln_2.forward(&x)?)?;
        x.add(&residual_dropout(fed, self.dropout, masks)?)
    }
}

impl Module for DecoderBlock {
    /// The block reading its own input `[B, T, width]` as the memory (unpadded), without
    /// cache or dropout.
    fn forward(&self, input: &Var) -> Result<Var> {
        let dims = input.dims();
        let lengths = vec![dims.get(1).copied().unwrap_or(0); dims.first().copied().unwrap_or(0)];
        self.forward_with(input, &self.memory(input, &lengths)?, None, None)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.ln_1.visit_params(&join(prefix, "ln_1"), visit);
        self.attn.visit_params(&join(prefix, "attn"), visit);
        self.ln_cross.visit_params(&join(prefix, "ln_cross"), visit);
        self.cross.visit_params(&join(prefix, "cross"), visit);
        self.ln_2.visit_params(&join(prefix, "ln_2"), visit);
        self.mlp.visit_params(&join(prefix, "mlp"), visit);
    }
}
