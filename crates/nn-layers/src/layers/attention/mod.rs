//! Multi-head self-attention with a fused query/key/value projection, an optional key-value
//! cache for incremental decoding, and the position schemes of transformers.
//!
//! The attention itself is the device op [`autograd::Var::attention`] (causal masks aligned
//! bottom-right, key padding per batch row): a fused kernel where the backend has one, which
//! never holds the `T x T` score matrix.

mod positions;

pub use positions::{Positions, Rotary, sinusoidal_table};
pub use tensor_core::AttentionMask;

use std::sync::Arc;

use autograd::Var;
use tensor_core::{Device, Result, Tensor, TensorError, TensorRng};

use super::Projection;
use crate::{Module, Param, module::join};

/// The keys and values one attention layer has seen so far, `[B, H, T, head_dim]` each.
#[derive(Clone, Debug, Default)]
pub struct LayerKv {
    /// Keys (already turned by rotary embeddings, if any).
    pub keys: Option<Tensor>,
    /// Values.
    pub values: Option<Tensor>,
}

impl LayerKv {
    /// Positions cached.
    pub fn len(&self) -> usize {
        self.keys.as_ref().map_or(0, |k| k.dims()[2])
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A key-value cache for incremental decoding: per layer, the keys and values of every position
/// read so far, appended at each step, so that a new token attends to the past without
/// recomputing it.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    /// One entry per layer.
    pub layers: Vec<LayerKv>,
}

impl KvCache {
    /// An empty cache for `layers` layers.
    pub fn new(layers: usize) -> KvCache {
        KvCache { layers: vec![LayerKv::default(); layers] }
    }

    /// Positions cached (those of the first layer; every layer holds as many).
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, LayerKv::len)
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Multi-head self-attention, Hugging Face GPT-2's layout: `c_attn` `[width, 3·width]` makes
/// queries, keys and values in one product, `c_proj` `[width, width]` mixes the heads.
#[derive(Debug)]
pub struct MultiHeadAttention {
    /// The fused query/key/value projection.
    pub c_attn: Projection,
    /// The output projection.
    pub c_proj: Projection,
    heads: usize,
    causal: bool,
    rotary: Option<Rotary>,
}

impl MultiHeadAttention {
    /// `heads` heads over `width` features (`width` a multiple of `heads`), initialised as
    /// GPT-2: N(0, 0.02) for `c_attn`, N(0, `proj_std`) for `c_proj`, zero biases. With
    /// `rotary`, queries and keys turn with their positions.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        width: usize,
        heads: usize,
        causal: bool,
        bias: bool,
        proj_std: f64,
        rotary: Option<Rotary>,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        if heads == 0 || width == 0 || !width.is_multiple_of(heads) {
            return Err(TensorError::invalid(
                "attention",
                format!("width {width} must be a multiple of heads {heads}"),
            ));
        }
        Ok(MultiHeadAttention {
            c_attn: Projection::normal(width, 3 * width, 0.02, bias, rng, device)?,
            c_proj: Projection::normal(width, width, proj_std, bias, rng, device)?,
            heads,
            causal,
            rotary,
        })
    }

    /// Heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// `x` `[B, T, width]` to `[B, T, width]`. `key_lengths` marks padded keys per batch row
    /// (of every key, the cached ones included). With `cache`, the step's keys and values are
    /// appended to it and the queries attend to everything cached (their positions start
    /// after the cached ones).
    pub fn forward_with(&self, x: &Var, key_lengths: Option<&[usize]>, cache: Option<&mut LayerKv>) -> Result<Var> {
        let dims = x.dims();
        if dims.len() != 3 {
            return Err(TensorError::invalid("attention", format!("expects x [B, T, width], got {dims:?}")));
        }
        let (batch, steps, width) = (dims[0], dims[1], dims[2]);
        let head_dim = width / self.heads;
        let qkv = self.c_attn.forward(x)?;
        // [B, T, 3·width] -> three [B, H, T, head_dim] views.
        let split = |part: usize| -> Result<Var> {
            qkv.narrow(-1, part * width, width)?.reshape([batch, steps, self.heads, head_dim])?.permute(&[0, 2, 1, 3])
        };
        let (mut q, mut k, v) = (split(0)?, split(1)?, split(2)?);
        let offset = cache.as_ref().map_or(0, |c| c.len());
        if let Some(rotary) = &self.rotary {
            q = rotary.apply(&q, offset)?;
            k = rotary.apply(&k, offset)?;
        }
        let (k, v) = match cache {
            None => (k, v),
            Some(cache) => {
                let (k, v) = match (&cache.keys, &cache.values) {
                    (Some(pk), Some(pv)) => {
                        let (pk, pv) = (Var::constant(pk.clone()), Var::constant(pv.clone()));
                        (Var::cat(&[&pk, &k], 2)?, Var::cat(&[&pv, &v], 2)?)
                    }
                    _ => (k, v),
                };
                cache.keys = Some(k.value().try_contiguous()?);
                cache.values = Some(v.value().try_contiguous()?);
                (k, v)
            }
        };
        let mask = AttentionMask { causal: self.causal, key_lengths: key_lengths.map(<[usize]>::to_vec) };
        let y = Var::attention(&q, &k, &v, &mask, Some(1.0 / (head_dim as f64).sqrt()))?;
        self.c_proj.forward(&y.permute(&[0, 2, 1, 3])?.reshape([batch, steps, width])?)
    }
}

impl Module for MultiHeadAttention {
    /// Self-attention over `[B, T, width]`, no padding, no cache.
    fn forward(&self, input: &Var) -> Result<Var> {
        self.forward_with(input, None, None)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.c_attn.visit_params(&join(prefix, "c_attn"), visit);
        self.c_proj.visit_params(&join(prefix, "c_proj"), visit);
    }
}
