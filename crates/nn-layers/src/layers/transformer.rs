//! The pre-LayerNorm transformer block of GPT-2: `x + attn(ln_1(x))`, then
//! `x + mlp(ln_2(x))`, the MLP four times as wide with a GELU, dropout on both residual
//! branches. Parameter names follow Hugging Face's GPT-2 (`ln_1`, `attn.c_attn`,
//! `attn.c_proj`, `ln_2`, `mlp.c_fc`, `mlp.c_proj`).

use std::sync::Arc;

use autograd::Var;
use tensor_core::{Device, Result, TensorError, TensorRng};

use super::{Activation, AttentionConfig, Dropout, LayerKv, LayerNorm, MultiHeadAttention, Projection, Rotary};
use crate::{Module, Param, module::join};

/// Sizes and options of a [`TransformerBlock`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockConfig {
    /// Features per position.
    pub width: usize,
    /// Attention heads (`width` a multiple of it).
    pub heads: usize,
    /// Each position attends only to itself and earlier ones (a decoder).
    pub causal: bool,
    /// Biases in the projections and layer norms.
    pub bias: bool,
    /// Dropout on the residual branches (training only).
    pub dropout: f64,
    /// The MLP's nonlinearity: [`Activation::GeluTanh`] (GPT-2) or [`Activation::Gelu`].
    pub activation: Activation,
    /// Blocks in the whole stack: the residual projections start N(0, 0.02/√(2·layers)).
    pub layers: usize,
}

impl BlockConfig {
    /// Checks sizes and options.
    pub fn validate(&self) -> Result<()> {
        let fail = |msg: String| Err(TensorError::invalid("transformer", msg));
        if self.width == 0 || self.heads == 0 || self.layers == 0 {
            return fail(format!("sizes must be positive: {self:?}"));
        }
        if !self.width.is_multiple_of(self.heads) {
            return fail(format!("width {} must be a multiple of heads {}", self.width, self.heads));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return fail(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }
}

/// The feed-forward half of a block: `c_proj(act(c_fc(x)))`, `4·width` wide inside (or as
/// wide as [`TransformerBlock::with_ff`] says).
#[derive(Debug)]
pub struct Mlp {
    /// `[width, 4·width]`.
    pub c_fc: Projection,
    /// `[4·width, width]`.
    pub c_proj: Projection,
    activation: Activation,
}

impl Mlp {
    /// The MLP of a block of `config`, `ff` wide inside, initialised as GPT-2 (`c_fc`
    /// N(0, 0.02), `c_proj` N(0, 0.02/√(2·layers)), zero biases).
    pub(crate) fn for_block(
        config: &BlockConfig,
        ff: usize,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        if ff == 0 {
            return Err(TensorError::invalid("transformer", "the MLP's inner width must be positive"));
        }
        let proj_std = 0.02 / (2.0 * config.layers as f64).sqrt();
        Ok(Mlp {
            c_fc: Projection::normal(config.width, ff, 0.02, config.bias, rng, device)?,
            c_proj: Projection::normal(ff, config.width, proj_std, config.bias, rng, device)?,
            activation: config.activation,
        })
    }
}

impl Module for Mlp {
    fn forward(&self, input: &Var) -> Result<Var> {
        self.c_proj.forward(&self.activation.forward(&self.c_fc.forward(input)?)?)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.c_fc.visit_params(&join(prefix, "c_fc"), visit);
        self.c_proj.visit_params(&join(prefix, "c_proj"), visit);
    }
}

/// One pre-LayerNorm transformer block.
#[derive(Debug)]
pub struct TransformerBlock {
    /// Normalises the attention's input.
    pub ln_1: LayerNorm,
    /// Self-attention.
    pub attn: MultiHeadAttention,
    /// Normalises the MLP's input.
    pub ln_2: LayerNorm,
    /// The feed-forward network.
    pub mlp: Mlp,
    dropout: f64,
}

/// `x` with dropout `p` drawn from `masks`, or `x` itself without masks (evaluation).
pub(crate) fn residual_dropout(x: Var, p: f64, masks: Option<&mut TensorRng>) -> Result<Var> {
    match masks {
        Some(rng) if p > 0.0 => Dropout::new(p, rng.next_u64())?.forward(&x),
        _ => Ok(x),
    }
}

impl TransformerBlock {
    /// A block initialised as GPT-2 (weights N(0, 0.02), residual projections
    /// N(0, 0.02/√(2·layers)), zero biases, unit layer-norm scales).
    pub fn new(
        config: &BlockConfig,
        rotary: Option<Rotary>,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        Self::with_ff(config, 4 * config.width, rotary, rng, device)
    }

    /// A block as [`TransformerBlock::new`] makes it, with an MLP `ff` wide inside instead of
    /// `4·width` (the transformer of Vaswani et al. sets its own width).
    pub fn with_ff(
        config: &BlockConfig,
        ff: usize,
        rotary: Option<Rotary>,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        config.validate()?;
        let BlockConfig { width, heads, causal, bias, .. } = *config;
        let proj_std = 0.02 / (2.0 * config.layers as f64).sqrt();
        Ok(TransformerBlock {
            ln_1: LayerNorm::with_bias(width, 1e-5, bias, device)?,
            attn: MultiHeadAttention::new(
                AttentionConfig { width, heads, causal, bias, proj_std, rotary },
                rng,
                device,
            )?,
            ln_2: LayerNorm::with_bias(width, 1e-5, bias, device)?,
            mlp: Mlp::for_block(config, ff, rng, device)?,
            dropout: config.dropout,
        })
    }

    /// `x` `[B, T, width]` through the block. `key_lengths` and `cache` as in
    /// [`MultiHeadAttention::forward_with`]; with `masks`, dropout is applied to both residual
    /// branches with masks drawn from it (training), without, none is.
    pub fn forward_with(
        &self,
        x: &Var,
        key_lengths: Option<&[usize]>,
        cache: Option<&mut LayerKv>,
        mut masks: Option<&mut TensorRng>,
    ) -> Result<Var> {
        let attended = self.attn.forward_with(&self.ln_1.forward(x)?, key_lengths, cache)?;
        let x = x.add(&residual_dropout(attended, self.dropout, masks.as_deref_mut())?)?;
        let fed = self.mlp.forward(&self.ln_2.forward(&x)?)?;
        x.add(&residual_dropout(fed, self.dropout, masks)?)
    }
}

impl Module for TransformerBlock {
    /// The block without padding, cache or dropout.
    fn forward(&self, input: &Var) -> Result<Var> {
        self.forward_with(input, None, None, None)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.ln_1.visit_params(&join(prefix, "ln_1"), visit);
        self.attn.visit_params(&join(prefix, "attn"), visit);
        self.ln_2.visit_params(&join(prefix, "ln_2"), visit);
        self.mlp.visit_params(&join(prefix, "mlp"), visit);
    }
}
