//! Scaled dot-product attention composed from autograd ops: the one place every attention in
//! `nn-layers` goes through. It has exactly the meaning of the `Var::attention` device op
//! (q, k, v `[B, H, T, d]`; causal masks aligned bottom-right; key padding per batch row), so
//! swapping in that op is a one-line change here.

use autograd::Var;
use tensor_core::{DType, Result, Tensor, TensorError};

/// Which keys each query may see.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttentionMask {
    /// Query `i` sees key `j` only if `j <= i + (Tk - Tq)` (aligned bottom-right, so the last
    /// query sees every key: what incremental decoding with a cache needs).
    pub causal: bool,
    /// Per batch row, how many keys are real; keys at or after that position are padding and
    /// seen by no query. `None`: every key is real.
    pub key_lengths: Option<Vec<usize>>,
}

impl AttentionMask {
    /// A causal mask without padding.
    pub fn causal() -> Self {
        AttentionMask { causal: true, key_lengths: None }
    }

    /// Whether any key is hidden from any query for these sizes.
    fn hides_any(&self, tq: usize, tk: usize) -> bool {
        (self.causal && tq > 1) || self.key_lengths.as_ref().is_some_and(|l| l.iter().any(|&n| n < tk))
    }

    /// `[B or 1, 1, Tq, Tk]`: 1 where the query sees the key, 0 where it does not.
    fn visible(&self, batch: usize, tq: usize, tk: usize, like: &Tensor) -> Result<Tensor> {
        let rows = if self.key_lengths.is_some() { batch } else { 1 };
        let mut data = vec![0.0f32; rows * tq * tk];
        for b in 0..rows {
            let len = self.key_lengths.as_ref().map_or(tk, |l| l[b].min(tk));
            for i in 0..tq {
                let last = if self.causal { (i + tk - tq).min(len.saturating_sub(1)) } else { len.saturating_sub(1) };
                if len == 0 {
                    continue;
                }
                for j in 0..=last {
                    data[(b * tq + i) * tk + j] = 1.0;
                }
            }
        }
        let mask = Tensor::from_vec(data, [rows, 1, tq, tk], like.device())?;
        if like.dtype() == DType::F32 { Ok(mask) } else { mask.try_cast(like.dtype()) }
    }
}

/// The score a hidden key gets before the softmax: far below any real score, yet finite, so a
/// row whose keys are all hidden gives a uniform (not NaN) distribution.
const HIDDEN: f64 = -1e30;

/// `softmax(q kᵀ · scale + mask) v` for q `[B, H, Tq, d]`, k and v `[B, H, Tk, d]`.
pub(crate) fn attention(q: &Var, k: &Var, v: &Var, mask: &AttentionMask, scale: f64) -> Result<Var> {
    let (qd, kd, vd) = (q.dims(), k.dims(), v.dims());
    let fail = |msg: String| Err(TensorError::invalid("attention", msg));
    if qd.len() != 4 || kd.len() != 4 || vd.len() != 4 {
        return fail(format!("expects q, k, v [B, H, T, d], got {qd:?}, {kd:?}, {vd:?}"));
    }
    if qd[..2] != kd[..2] || kd[..3] != vd[..3] || qd[3] != kd[3] {
        return fail(format!("q {qd:?}, k {kd:?} and v {vd:?} do not agree"));
    }
    let (batch, tq, tk) = (qd[0], qd[2], kd[2]);
    if mask.causal && tq > tk {
        return fail(format!("a causal mask needs at least as many keys as queries, got {tq} queries and {tk} keys"));
    }
    if let Some(lengths) = &mask.key_lengths
        && (lengths.len() != batch || lengths.iter().any(|&n| n > tk))
    {
        return fail(format!("key lengths {lengths:?} do not fit batch {batch} with {tk} keys"));
    }
    let scores = q.matmul(&k.transpose(-2, -1)?)?.scale(scale)?;
    let scores = if mask.hides_any(tq, tk) {
        let value = scores.value();
        let visible = mask.visible(batch, tq, tk, &value)?;
        let hidden = Var::constant(Tensor::full(HIDDEN, [1], value.dtype(), value.device())?);
        scores.where_select(&visible, &hidden)?
    } else {
        scores
    };
    scores.softmax(-1)?.matmul(v)
}
