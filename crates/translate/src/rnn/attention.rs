//! The decoder's attention over the encoder's outputs: Luong's multiplicative score on the fused
//! attention op, or Bahdanau's additive score with an explicit masked softmax.

use std::sync::Arc;

use autograd::Var;
use nn_layers::layers::Linear;
use nn_layers::{Module, Param, join};
use tensor_core::{AttentionMask, Device, Tensor, TensorRng};

use super::config::Attention;
use crate::Result;

/// The encoder's outputs prepared for attention, one row per hypothesis.
#[derive(Clone, Debug)]
pub struct Memory {
    /// Encoder outputs `[B, S, 2·hidden]` (the values).
    pub values: Var,
    /// Projected outputs: `W k` `[B, S, hidden]` (Luong) or `U k` `[B, S, hidden]` (Bahdanau).
    pub keys: Var,
    /// Real source positions per row.
    pub lengths: Vec<usize>,
    /// Bahdanau only: 0 on real positions and -1e9 on padding, `[B, S]`.
    pub padding_bias: Option<Tensor>,
}

impl Memory {
    /// Rows `rows` of the memory, in that order.
    pub fn select(&self, rows: &[usize]) -> Result<Memory> {
        let index = row_index(rows, &self.values.value())?;
        Ok(Memory {
            values: Var::constant(self.values.value().try_index_select(0, &index)?),
            keys: Var::constant(self.keys.value().try_index_select(0, &index)?),
            lengths: rows.iter().map(|&r| self.lengths[r]).collect(),
            padding_bias: self.padding_bias.as_ref().map(|b| b.try_index_select(0, &index)).transpose()?,
        })
    }
}

/// An i64 index tensor of `rows` on the device of `like`.
pub(super) fn row_index(rows: &[usize], like: &Tensor) -> Result<Tensor> {
    Ok(Tensor::from_vec(rows.iter().map(|&r| r as i64).collect::<Vec<i64>>(), [rows.len()], like.device())?)
}

/// The attention layer's weights.
#[derive(Debug)]
pub struct AttentionLayer {
    kind: Attention,
    hidden: usize,
    /// Keys' projection from the encoder width `2·hidden` to `hidden` (Luong's `W`, Bahdanau's `U`).
    key: Linear,
    /// Bahdanau: the query projection `W` and the score vector `v`.
    additive: Option<(Linear, Linear)>,
}

impl AttentionLayer {
    /// Fresh weights for a decoder of `hidden` units over an encoder of `2·hidden`.
    pub fn new(kind: Attention, hidden: usize, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        let key = Linear::new(2 * hidden, hidden, rng, device)?;
        let additive = match kind {
            Attention::Luong => None,
            Attention::Bahdanau => {
                Some((Linear::new(hidden, hidden, rng, device)?, Linear::new(hidden, 1, rng, device)?))
            }
        };
        Ok(AttentionLayer { kind, hidden, key, additive })
    }

    /// Prepares encoder outputs `[B, S, 2·hidden]` with `lengths` real positions.
    pub fn memory(&self, values: Var, lengths: Vec<usize>) -> Result<Memory> {
        let keys = self.key.forward(&values)?;
        let padding_bias = match self.kind {
            Attention::Luong => None,
            Attention::Bahdanau => {
                let (batch, steps) = (values.dims()[0], values.dims()[1]);
                let bias: Vec<f32> =
                    (0..batch * steps).map(|i| if i % steps < lengths[i / steps] { 0.0 } else { -1e9 }).collect();
                Some(
                    Tensor::from_vec(bias, [batch, steps], values.value().device())?
                        .try_cast(values.value().dtype())?,
                )
            }
        };
        Ok(Memory { values, keys, lengths, padding_bias })
    }

    /// The context vector `[B, 2·hidden]` for decoder outputs `query` `[B, hidden]`.
    pub fn context(&self, query: &Var, memory: &Memory) -> Result<Var> {
        let (batch, steps) = (memory.values.dims()[0], memory.values.dims()[1]);
        match &self.additive {
            None => {
                let q = query.reshape([batch, 1, 1, self.hidden])?;
                let k = memory.keys.unsqueeze(1)?;
                let v = memory.values.unsqueeze(1)?;
                let mask = AttentionMask::none().with_key_lengths(memory.lengths.clone());
                Ok(Var::attention(&q, &k, &v, &mask, None)?.reshape([batch, 2 * self.hidden])?)
            }
            Some((w, v)) => {
                let projected = w.forward(query)?.unsqueeze(1)?; // [B, 1, H]
                let energy = memory.keys.add(&projected)?.tanh()?; // [B, S, H]
                let scores = v.forward(&energy)?.reshape([batch, steps])?;
                let bias = memory.padding_bias.as_ref().map(|b| Var::constant(b.clone()));
                let scores = match bias {
                    Some(b) => scores.add(&b)?,
                    None => scores,
                };
                let weights = scores.softmax(-1)?.unsqueeze(1)?; // [B, 1, S]
                Ok(weights.matmul(&memory.values)?.reshape([batch, 2 * self.hidden])?)
            }
        }
    }

    /// Calls `visit` for each parameter.
    pub fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.key.visit_params(&join(prefix, "key"), visit);
        if let Some((w, v)) = &self.additive {
            w.visit_params(&join(prefix, "query"), visit);
            v.visit_params(&join(prefix, "score"), visit);
        }
    }
}
