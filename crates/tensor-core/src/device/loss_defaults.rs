//! Default bodies of the fused softmax cross-entropy composites, written only with primitives.
//!
//! Cross-entropy over logits `[N, C]` needs one number per row, `lse = ln Σ_j exp x_j`; the
//! loss is `lse - x[label]` and its gradient `softmax(x) - onehot(label)`. These defaults
//! build that from reductions, a gather and a scatter, one buffer per step; a backend may do
//! the whole row in one pass and never hold the `[N, C]` log-probabilities.

use super::Device;
use crate::{BinaryOp, Layout, ReduceOp, Result, Shape, Storage, UnaryOp, View};

/// `[N]` seen as `[N, 1]`, then broadcast over `like` (`[N, C]`).
fn per_row(row: &Layout, like: &Shape) -> Result<Layout> {
    row.unsqueeze(1)?.broadcast_to(like)
}

/// Default [`Device::cross_entropy`]: `(loss, lse)`, both `[N]`.
pub fn cross_entropy<D: Device + ?Sized>(dev: &D, logits: View<'_>, labels: View<'_>) -> Result<(Storage, Storage)> {
    let rows = Layout::contiguous([logits.dims()[0]]);
    let max = dev.reduce(ReduceOp::Max, logits, &[1])?;
    // An all -inf row has max -inf; shift by 0 there so lse is -inf, not NaN.
    let finite_max = dev.unary(UnaryOp::Abs, max.view(&rows)?)?;
    let infinity = dev.full(logits.dtype(), rows.numel(), f64::INFINITY)?;
    let zeros = dev.full(logits.dtype(), rows.numel(), 0.0)?;
    let finite = dev.binary(BinaryOp::Lt, finite_max.view(&rows)?, infinity.view(&rows)?)?;
    let shift = dev.where_select(finite.view(&rows)?, max.view(&rows)?, zeros.view(&rows)?)?;
    let shifted = dev.binary(BinaryOp::Sub, logits, shift.view(&per_row(&rows, logits.shape())?)?)?;
    let full = Layout::contiguous(logits.shape().clone());
    let exp = dev.unary(UnaryOp::Exp, shifted.view(&full)?)?;
    let sum = dev.reduce(ReduceOp::Sum, exp.view(&full)?, &[1])?;
    let log_sum = dev.unary(UnaryOp::Log, sum.view(&rows)?)?;
    let lse = dev.binary(BinaryOp::Add, log_sum.view(&rows)?, shift.view(&rows)?)?;
    let label_column = labels.layout().unsqueeze(1)?;
    let picked = dev.gather(logits, 1, labels.with_layout(&label_column)?)?;
    let loss = dev.binary(BinaryOp::Sub, lse.view(&rows)?, picked.view(&rows)?)?;
    Ok((loss, lse))
}

/// Default [`Device::cross_entropy_backward`]: `grad ⊙ (softmax(x) - onehot(label))`, `[N, C]`.
pub fn cross_entropy_backward<D: Device + ?Sized>(
    dev: &D,
    logits: View<'_>,
    labels: View<'_>,
    lse: View<'_>,
    grad: View<'_>,
) -> Result<Storage> {
    let full = Layout::contiguous(logits.shape().clone());
    let shifted = dev.binary(BinaryOp::Sub, logits, lse.with_layout(&per_row(lse.layout(), logits.shape())?)?)?;
    let probs = dev.unary(UnaryOp::Exp, shifted.view(&full)?)?;
    let zeros = dev.full(logits.dtype(), full.numel(), 0.0)?;
    let column = Layout::contiguous([logits.dims()[0], 1]);
    let ones = dev.full(logits.dtype(), column.numel(), 1.0)?;
    let label_column = labels.layout().unsqueeze(1)?;
    let onehot = dev.scatter_add(zeros.view(&full)?, 1, labels.with_layout(&label_column)?, ones.view(&column)?)?;
    let diff = dev.binary(BinaryOp::Sub, probs.view(&full)?, onehot.view(&full)?)?;
    dev.binary(BinaryOp::Mul, diff.view(&full)?, grad.with_layout(&per_row(grad.layout(), logits.shape())?)?)
}
