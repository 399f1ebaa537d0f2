//! Cross-attention, the encoder-decoder attention of Vaswani et al. (2017): queries from the
//! decoder, keys and values from the encoder's output (the *memory*), whose padded positions
//! no query sees.
//!
//! The memory's keys and values do not change while a sentence is decoded, so they are
//! projected once ([`CrossAttention::memory`]) and every step reuses them; beam search
//! reorders them with [`MemoryKv::select`].

use std::sync::Arc;

use autograd::Var;
use tensor_core::{AttentionMask, Device, Result, Tensor, TensorError, TensorRng};

use crate::layers::Projection;
use crate::{Module, Param, module::join};

/// An encoder memory projected to one cross-attention layer's keys and values, with the real
/// length of each batch row (the positions after it are padding).
#[derive(Clone, Debug)]
pub struct MemoryKv {
    /// Keys `[B, H, S, head_dim]`.
    pub keys: Var,
    /// Values `[B, H, S, head_dim]`.
    pub values: Var,
    /// Real memory positions per batch row (each at most `S`).
    pub lengths: Vec<usize>,
}

impl MemoryKv {
    /// Batch rows.
    pub fn rows(&self) -> usize {
        self.lengths.len()
    }

    /// The memory of rows `rows`, in that order (rows may repeat): beam search expands each
    /// sentence into its hypotheses and keeps the survivors of each step.
    pub fn select(&self, rows: &[usize]) -> Result<MemoryKv> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.rows()) {
            return Err(TensorError::invalid(
                "cross-attention",
                format!("row {bad} selected from a memory of {} rows", self.rows()),
            ));
        }
        let index = row_index(rows, self.keys.value().device())?;
        Ok(MemoryKv {
            keys: self.keys.index_select(0, &index)?,
            values: self.values.index_select(0, &index)?,
            lengths: rows.iter().map(|&r| self.lengths[r]).collect(),
        })
    }
}

/// `rows` as the i64 index vector that `index_select` takes.
pub(crate) fn row_index(rows: &[usize], device: &Arc<dyn Device>) -> Result<Tensor> {
    Tensor::from_vec(rows.iter().map(|&r| r as i64).collect::<Vec<_>>(), [rows.len()], device)
}

/// Multi-head cross-attention: `q_proj` `[width, width]` makes the queries from the decoder,
/// `kv_proj` `[width, 2·width]` the keys and values from the memory in one product, and
/// `c_proj` `[width, width]` mixes the heads (weights stored `[in, out]`, as
/// [`Projection`] does).
#[derive(Debug)]
pub struct CrossAttention {
    /// The query projection.
    pub q_proj: Projection,
    /// The fused key/value projection of the memory.
    pub kv_proj: Projection,
    /// The output projection.
    pub c_proj: Projection,
    heads: usize,
}

impl CrossAttention {
    /// `heads` heads over `width` features, initialised as the self-attention is: N(0, 0.02)
    /// for the input projections, N(0, `proj_std`) for `c_proj`, zero biases.
    pub fn new(
        width: usize,
        heads: usize,
        bias: bool,
        proj_std: f64,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        if heads == 0 || width == 0 || !width.is_multiple_of(heads) {
            return Err(TensorError::invalid(
                "cross-attention",
                format!("width {width} must be a multiple of heads {heads}"),
            ));
        }
        Ok(CrossAttention {
            q_proj: Projection::normal(width, width, 0.02, bias, rng, device)?,
            kv_proj: Projection::normal(width, 2 * width, 0.02, bias, rng, device)?,
            c_proj: Projection::normal(width, width, proj_std, bias, rng, device)?,
            heads,
        })
    }

    /// Heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    fn width(&self) -> usize {
        self.q_proj.weight.value().dims()[0]
    }

    /// `[B, T, width]` to `[B, H, T, head_dim]`.
    fn split_heads(&self, x: &Var) -> Result<Var> {
        let dims = x.dims();
        x.reshape([dims[0], dims[1], self.heads, dims[2] / self.heads])?.permute(&[0, 2, 1, 3])
    }

    /// The keys and values of `memory` `[B, S, width]`, whose row `b` has `lengths[b]` real
    /// positions. In a graph when `memory` is (training); computed once per batch of sentences
    /// when decoding.
    pub fn memory(&self, memory: &Var, lengths: &[usize]) -> Result<MemoryKv> {
        let dims = memory.dims();
        if dims.len() != 3 || dims[2] != self.width() {
            return Err(TensorError::invalid(
                "cross-attention",
                format!("expects memory [B, S, {}], got {dims:?}", self.width()),
            ));
        }
        if lengths.len() != dims[0] || lengths.iter().any(|&len| len > dims[1]) {
            return Err(TensorError::invalid(
                "cross-attention",
                format!("memory lengths {lengths:?} do not fit a memory {dims:?}"),
            ));
        }
        let width = dims[2];
        let kv = self.kv_proj.forward(memory)?;
        Ok(MemoryKv {
            keys: self.split_heads(&kv.narrow(-1, 0, width)?)?,
            values: self.split_heads(&kv.narrow(-1, width, width)?)?,
            lengths: lengths.to_vec(),
        })
    }

    /// Queries `x` `[B, T, width]` attending to a projected memory of the same `B` rows:
    /// `[B, T, width]`.
    pub fn forward_memory(&self, x: &Var, memory: &MemoryKv) -> Result<Var> {
        let dims = x.dims();
        if dims.len() != 3 || dims[2] != self.width() || dims[0] != memory.rows() {
            return Err(TensorError::invalid(
                "cross-attention",
                format!("expects x [{}, T, {}], got {dims:?}", memory.rows(), self.width()),
            ));
        }
        let (batch, steps, width) = (dims[0], dims[1], dims[2]);
        let q = self.split_heads(&self.q_proj.forward(x)?)?;
        let mask = AttentionMask { causal: false, key_lengths: Some(memory.lengths.clone()) };
        let head_dim = width / self.heads;
        let y = Var::attention(&q, &memory.keys, &memory.values, &mask, Some(1.0 / (head_dim as f64).sqrt()))?;
        self.c_proj.forward(&y.permute(&[0, 2, 1, 3])?.reshape([batch, steps, width])?)
    }

    /// Queries `x` `[B, T, width]` attending to `memory` `[B, S, width]`, row `b` of which has
    /// `memory_lengths[b]` real positions: [`CrossAttention::memory`] then
    /// [`CrossAttention::forward_memory`].
    pub fn forward_cross(&self, x: &Var, memory: &Var, memory_lengths: &[usize]) -> Result<Var> {
        self.forward_memory(x, &self.memory(memory, memory_lengths)?)
    }
}

impl Module for CrossAttention {
    /// `input` `[B, T, width]` attending to itself as the memory, unpadded: self-attention
    /// through the cross-attention's own projections.
    fn forward(&self, input: &Var) -> Result<Var> {
        let dims = input.dims();
        let lengths = vec![dims.get(1).copied().unwrap_or(0); dims.first().copied().unwrap_or(0)];
        self.forward_cross(input, input, &lengths)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.q_proj.visit_params(&join(prefix, "q_proj"), visit);
        self.kv_proj.visit_params(&join(prefix, "kv_proj"), visit);
        self.c_proj.visit_params(&join(prefix, "c_proj"), visit);
    }
}
