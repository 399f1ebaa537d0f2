//! Multi-head self-attention with a fused query/key/value projection, an optional key-value
//! cache for incremental decoding, and the position schemes of transformers.
//!
//! The attention itself is the device op [`autograd::Var::attention`] (causal masks aligned
//! bottom-right, key padding per batch row): a fused kernel where the backend has one, which
//! never holds the `T x T` score matrix.

mod cross;
mod positions;

pub use cross::{CrossAttention, MemoryKv};
pub use positions::{Positions, Rotary, sinusoidal_table};
pub use tensor_core::AttentionMask;

use std::sync::Arc;

use autograd::Var;
use tensor_core::{Device, Result, Tensor, TensorError, TensorRng};

use super::Projection;
use crate::{Module, Param, module::join};

/// The keys and values one attention layer has seen so far: `[B, H, capacity, head_dim]`
/// buffers whose first `len` positions are filled. A step writes only its own positions (the
/// buffers double when full), so the cost of a token does not grow with a copy of the past.
/// Filled positions are never written again, which is what lets a clone share them.
#[derive(Debug, Default)]
pub struct LayerKv {
    keys: Option<Tensor>,
    values: Option<Tensor>,
    len: usize,
}

impl Clone for LayerKv {
    /// Shares the filled positions and no free capacity, so the clone's next step moves to
    /// buffers of its own instead of writing where the original will.
    fn clone(&self) -> Self {
        let filled = |buffer: &Option<Tensor>| buffer.as_ref().and_then(|b| b.try_narrow(2, 0, self.len).ok());
        let (keys, values) = (filled(&self.keys), filled(&self.values));
        let len = if keys.is_some() && values.is_some() { self.len } else { 0 };
        LayerKv { keys, values, len }
    }
}

impl LayerKv {
    /// Positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a step's keys and values (`[B, H, T, head_dim]` each) and returns everything
    /// cached, the step included, as views.
    pub fn append(&mut self, keys: &Tensor, values: &Tensor) -> Result<(Tensor, Tensor)> {
        let steps = keys.dims().get(2).copied().unwrap_or(0);
        let capacity = self.keys.as_ref().map_or(0, |k| k.dims()[2]);
        let fits = |buffer: &Option<Tensor>, new: &Tensor| {
            buffer.as_ref().is_none_or(|b| b.dims()[..2] == new.dims()[..2] && b.dims()[3] == new.dims()[3])
        };
        if keys.rank() != 4 || values.rank() != 4 || !fits(&self.keys, keys) || !fits(&self.values, values) {
            return Err(TensorError::invalid(
                "kv-cache",
                format!("cannot append keys {} and values {} to this cache", keys.shape(), values.shape()),
            ));
        }
        let needed = self.len + steps;
        if needed > capacity {
            let grown = needed.max(2 * capacity).max(16);
            self.keys = Some(self.regrow(self.keys.as_ref(), keys, grown)?);
            self.values = Some(self.regrow(self.values.as_ref(), values, grown)?);
        }
        let (k_buffer, v_buffer) = match (&self.keys, &self.values) {
            (Some(k), Some(v)) => (k, v),
            _ => unreachable!("the buffers were just made"),
        };
        k_buffer.try_narrow(2, self.len, steps)?.try_assign(keys)?;
        v_buffer.try_narrow(2, self.len, steps)?.try_assign(values)?;
        self.len = needed;
        Ok((k_buffer.try_narrow(2, 0, needed)?, v_buffer.try_narrow(2, 0, needed)?))
    }

    /// The cache of batch rows `rows` (`[B, ..]` axis 0), in that order (rows may repeat): what
    /// beam search keeps of each step's hypotheses. The copy holds exactly the filled
    /// positions, so its next step grows buffers of its own.
    pub fn select(&self, rows: &[usize]) -> Result<LayerKv> {
        let (Some(keys), Some(values)) = (&self.keys, &self.values) else {
            return Ok(LayerKv::default());
        };
        if let Some(&bad) = rows.iter().find(|&&r| r >= keys.dims()[0]) {
            return Err(TensorError::invalid(
                "kv-cache",
                format!("row {bad} selected from a cache of {} rows", keys.dims()[0]),
            ));
        }
        let index = cross::row_index(rows, keys.device())?;
        let pick = |buffer: &Tensor| buffer.try_narrow(2, 0, self.len)?.try_index_select(0, &index);
        Ok(LayerKv { keys: Some(pick(keys)?), values: Some(pick(values)?), len: self.len })
    }

    /// A buffer of `capacity` positions shaped like `like`, holding the filled part of `old`.
    fn regrow(&self, old: Option<&Tensor>, like: &Tensor, capacity: usize) -> Result<Tensor> {
        let dims = like.dims();
        let fresh = Tensor::zeros([dims[0], dims[1], capacity, dims[3]], like.dtype(), like.device())?;
        if let Some(old) = old.filter(|_| self.len > 0) {
            fresh.try_narrow(2, 0, self.len)?.try_assign(&old.try_narrow(2, 0, self.len)?)?;
        }
        Ok(fresh)
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

    /// The cache of batch rows `rows`, in that order, in every layer (see [`LayerKv::select`]).
    pub fn select(&self, rows: &[usize]) -> Result<KvCache> {
        Ok(KvCache { layers: self.layers.iter().map(|l| l.select(rows)).collect::<Result<_>>()? })
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

/// The sizes and options of a [`MultiHeadAttention`].
#[derive(Clone, Debug)]
pub struct AttentionConfig {
    /// Features in and out (a multiple of `heads`).
    pub width: usize,
    /// Heads.
    pub heads: usize,
    /// Each position sees only itself and the past.
    pub causal: bool,
    /// Biases on the projections.
    pub bias: bool,
    /// Standard deviation of `c_proj`'s initial weights (GPT-2: 0.02/√(2·layers)).
    pub proj_std: f64,
    /// Rotary embeddings turning queries and keys with their positions.
    pub rotary: Option<Rotary>,
}

impl MultiHeadAttention {
    /// Attention as `config` says, initialised as GPT-2: N(0, 0.02) for `c_attn`,
    /// N(0, `proj_std`) for `c_proj`, zero biases.
    pub fn new(config: AttentionConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        let AttentionConfig { width, heads, causal, bias, proj_std, rotary } = config;
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
            // Decoding: the cache holds values, not a graph (a cached step is not trained).
            Some(cache) => {
                let (keys, values) = cache.append(&k.value(), &v.value())?;
                (Var::constant(keys), Var::constant(values))
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
