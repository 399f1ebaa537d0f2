//! Default bodies of the attention composites, written only with primitives.
//!
//! They hold the whole score matrix `[B, H, Tq, Tk]` (a few buffers of it), which is what a
//! fused kernel avoids; but every backend gets correct attention from them, and on the TPU
//! simulator its four products run on the systolic array. The mask is one `[B, Tq, Tk]` buffer
//! of 1 and 0 uploaded from the host and read over the heads with stride 0.
//!
//! Rows that see no key: their scores all reduce to a maximum of `-inf`, so `s - max` is `+inf`
//! (never NaN, as every score is finite) and the mask's select turns its `exp` into 0; the sum
//! is 0, so the output divides by `max(sum, 1)` (a row that sees a key sums to at least 1: its
//! largest term is `e^0`) and is 0, and the log-sum-exp is `-inf + ln 0 = -inf`.

use super::Device;
use crate::{AttentionInputs, BinaryOp, HostBuffer, Layout, ReduceOp, Result, Storage, UnaryOp, View};

/// The shapes of one attention call.
struct Plan {
    /// `[B, H, Tq, Tk]`, contiguous.
    scores: Layout,
    /// `[B, H, Tq, 1]` broadcast over the keys (a per-row value next to the scores).
    row_over_keys: Layout,
    /// `[B, H, Tq, 1]`, contiguous.
    rows: Layout,
    /// `[B, H, Tq, d]`, contiguous.
    queries: Layout,
}

impl Plan {
    fn new(inputs: &AttentionInputs<'_>) -> Result<Plan> {
        let [b, h, tq, tk, d, _] = inputs.sizes();
        let rows = Layout::contiguous([b, h, tq, 1]);
        Ok(Plan {
            scores: Layout::contiguous([b, h, tq, tk]),
            row_over_keys: rows.broadcast_to(&[b, h, tq, tk].into())?,
            rows,
            queries: Layout::contiguous([b, h, tq, d]),
        })
    }

    /// A per-row view `[B, H, Tq]` (any strides) broadcast over the keys.
    fn over_keys(&self, per_row: &Layout) -> Result<Layout> {
        let s = per_row.strides();
        Layout::from_parts(self.scores.dims().to_vec(), vec![s[0], s[1], s[2], 0], per_row.offset())
    }

    /// A per-row `[B, H, Tq, 1]` storage broadcast over `width` columns.
    fn row_over(&self, width: usize) -> Result<Layout> {
        let mut dims = self.rows.dims().to_vec();
        dims[3] = width;
        self.rows.broadcast_to(&dims.into())
    }
}

/// A one-element buffer of `value` seen as `layout`'s shape (stride 0 everywhere).
fn constant<D: Device + ?Sized>(dev: &D, like: View<'_>, value: f64, layout: &Layout) -> Result<(Storage, Layout)> {
    let storage = dev.full(like.dtype(), 1, value)?;
    Ok((storage, Layout::from_parts(layout.dims().to_vec(), vec![0; layout.rank()], 0)?))
}

/// The mask as 1 (visible) and 0, `[B, Tq, Tk]` read as `[B, H, Tq, Tk]`; `None` without one.
fn mask<D: Device + ?Sized>(dev: &D, inputs: &AttentionInputs<'_>) -> Result<Option<(Storage, Layout)>> {
    if inputs.mask.is_unmasked() {
        return Ok(None);
    }
    let [b, h, tq, tk, _, _] = inputs.sizes();
    let mut host = vec![0.0; b * tq * tk];
    for (row, keys) in host.chunks_mut(tk.max(1)).enumerate() {
        let visible = inputs.mask.visible_keys(row / tq, row % tq, tq, tk);
        keys[..visible].fill(1.0);
    }
    let storage = dev.upload(HostBuffer::from_f64(inputs.q.dtype(), &host))?;
    let layout = Layout::from_parts([b, h, tq, tk], vec![(tq * tk) as isize, 0, tk as isize, 1], 0)?;
    Ok(Some((storage, layout)))
}

/// `scale · q` (contiguous) and the scores `(scale · q) kᵀ`.
fn scores<D: Device + ?Sized>(dev: &D, inputs: &AttentionInputs<'_>, plan: &Plan) -> Result<(Storage, Storage)> {
    let scaled_q = dev.unary(UnaryOp::Affine { mul: inputs.scale, add: 0.0 }, inputs.q)?;
    let keys_t = inputs.k.layout().transpose(2, 3)?;
    let scores = dev.matmul(scaled_q.view(&plan.queries)?, inputs.k.with_layout(&keys_t)?)?;
    Ok((scaled_q, scores))
}

/// `exp(s - shift)` where the mask allows it, 0 elsewhere (the probabilities when `shift` is
/// the log-sum-exp, unnormalised when it is the row maximum).
fn masked_exp<D: Device + ?Sized>(
    dev: &D,
    scores: View<'_>,
    shift: View<'_>,
    mask: &Option<(Storage, Layout)>,
) -> Result<Storage> {
    let layout = scores.layout();
    let shifted = dev.binary(BinaryOp::Sub, scores, shift)?;
    let exp = dev.unary(UnaryOp::Exp, shifted.view(layout)?)?;
    match mask {
        None => Ok(exp),
        Some((mask, mask_layout)) => {
            let (zero, zero_layout) = constant(dev, scores, 0.0, layout)?;
            dev.where_select(mask.view(mask_layout)?, exp.view(layout)?, zero.view(&zero_layout)?)
        }
    }
}

/// Default [`Device::attention`].
pub fn attention<D: Device + ?Sized>(dev: &D, inputs: AttentionInputs<'_>) -> Result<(Storage, Storage)> {
    let plan = Plan::new(&inputs)?;
    let mask = mask(dev, &inputs)?;
    let (_, scores) = scores(dev, &inputs, &plan)?;
    let scores = scores.view(&plan.scores)?;
    let max = match &mask {
        None => dev.reduce(ReduceOp::Max, scores, &[3])?,
        Some((mask, mask_layout)) => {
            let (low, low_layout) = constant(dev, scores, f64::NEG_INFINITY, &plan.scores)?;
            let hidden = dev.where_select(mask.view(mask_layout)?, scores, low.view(&low_layout)?)?;
            dev.reduce(ReduceOp::Max, hidden.view(&plan.scores)?, &[3])?
        }
    };
    let weights = masked_exp(dev, scores, max.view(&plan.row_over_keys)?, &mask)?;
    let sum = dev.reduce(ReduceOp::Sum, weights.view(&plan.scores)?, &[3])?;
    let unnormalised = dev.matmul(weights.view(&plan.scores)?, inputs.v)?;
    let (one, one_layout) = constant(dev, scores, 1.0, &plan.rows)?;
    let divisor = dev.binary(BinaryOp::Maximum, sum.view(&plan.rows)?, one.view(&one_layout)?)?;
    let dv = inputs.v.dims()[3];
    let out_layout = Layout::contiguous([plan.rows.dims()[..3].to_vec(), vec![dv]].concat());
    let out = dev.binary(BinaryOp::Div, unnormalised.view(&out_layout)?, divisor.view(&plan.row_over(dv)?)?)?;
    let log_sum = dev.unary(UnaryOp::Log, sum.view(&plan.rows)?)?;
    let lse = dev.binary(BinaryOp::Add, max.view(&plan.rows)?, log_sum.view(&plan.rows)?)?;
    Ok((out, lse))
}

/// Default [`Device::attention_backward`]: FlashAttention-2's backward on whole matrices, with
/// the probabilities recomputed from the log-sum-exp: `P = exp(s - lse)` (masked),
/// `dV = Pᵀ dO`, `dP = dO Vᵀ`, `D = rowsum(dO ⊙ O)`, `dS = P ⊙ (dP - D)`,
/// `dQ = scale · dS K`, `dK = scale · dSᵀ Q`.
pub fn attention_backward<D: Device + ?Sized>(
    dev: &D,
    inputs: AttentionInputs<'_>,
    out: View<'_>,
    lse: View<'_>,
    grad_out: View<'_>,
) -> Result<(Storage, Storage, Storage)> {
    let plan = Plan::new(&inputs)?;
    let mask = mask(dev, &inputs)?;
    let (scaled_q, scores) = scores(dev, &inputs, &plan)?;
    let lse_layout = plan.over_keys(lse.layout())?;
    let probs = masked_exp(dev, scores.view(&plan.scores)?, lse.with_layout(&lse_layout)?, &mask)?;
    let probs_t = plan.scores.transpose(2, 3)?;
    let grad_v = dev.matmul(probs.view(&probs_t)?, grad_out)?;
    let values_t = inputs.v.layout().transpose(2, 3)?;
    let grad_probs = dev.matmul(grad_out, inputs.v.with_layout(&values_t)?)?;
    let out_grad = dev.binary(BinaryOp::Mul, grad_out, out)?;
    let out_grad_layout = Layout::contiguous(out.shape().clone());
    let delta = dev.reduce(ReduceOp::Sum, out_grad.view(&out_grad_layout)?, &[3])?;
    let centred = dev.binary(BinaryOp::Sub, grad_probs.view(&plan.scores)?, delta.view(&plan.row_over_keys)?)?;
    let grad_scores = dev.binary(BinaryOp::Mul, probs.view(&plan.scores)?, centred.view(&plan.scores)?)?;
    let unscaled_q = dev.matmul(grad_scores.view(&plan.scores)?, inputs.k)?;
    let grad_q = dev.unary(UnaryOp::Affine { mul: inputs.scale, add: 0.0 }, unscaled_q.view(&plan.queries)?)?;
    let grad_k = dev.matmul(grad_scores.view(&probs_t)?, scaled_q.view(&plan.queries)?)?;
    Ok((grad_q, grad_k, grad_v))
}
