//! Scaled dot-product attention: one graph node, running as one device op forward
//! ([`tensor_core::Tensor::try_attention`]) and one backward
//! ([`tensor_core::Tensor::try_attention_backward`], which recomputes the probabilities from the
//! saved log-sum-exp rather than keeping the `T x T` matrix alive in the graph).

use tensor_core::{AttentionMask, Result, default_attention_scale};

use crate::Var;

impl Var {
    /// `softmax(scale · q kᵀ) v` over the keys `mask` lets each query see, with `q` =
    /// `[B, H, Tq, d]`, `k` = `[B, H, Tk, d]` and `v` = `[B, H, Tk, dv]`; returns
    /// `[B, H, Tq, dv]`. `scale` defaults to `1 / sqrt(d)`. A query that sees no key outputs
    /// zeros (and passes no gradient).
    pub fn attention(q: &Var, k: &Var, v: &Var, mask: &AttentionMask, scale: Option<f64>) -> Result<Var> {
        let (queries, keys, values) = (q.value(), k.value(), v.value());
        let scale = scale.unwrap_or_else(|| default_attention_scale(queries.dims().last().copied().unwrap_or(0)));
        let forward = queries.try_attention(&keys, &values, mask, scale)?;
        let mask = mask.clone();
        Ok(Var::from_op(forward.out.clone(), &[q, k, v], move |grad| {
            let (dq, dk, dv) = queries.try_attention_backward(&keys, &values, &forward, grad, &mask, scale)?;
            Ok(vec![Some(dq), Some(dk), Some(dv)])
        }))
    }
}
