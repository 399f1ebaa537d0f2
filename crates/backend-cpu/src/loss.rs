//! The fused softmax cross-entropy: one read of each row of logits gives its log-sum-exp and
//! loss (forward), and one pass writes its gradient (backward), instead of log-softmax,
//! gather and scatter each making an `[N, C]` buffer.

use rayon::prelude::*;
use tensor_core::{HostBuffer, ReduceOp, Result, Storage, TensorError, View};

use crate::elementwise::parallel;
use crate::reduce::fold_run;
use crate::simd::{FastExp, multiversioned};
use crate::storage::{contiguous, cpu, floats_only, wrap};

/// Rows per task when the work is split across threads.
const ROWS_PER_TASK: usize = 8;

/// Accumulator lanes: wide enough for the compiler to keep one vector register per lane group.
const LANES: usize = 16;

/// `ln Σ_j e^{x_j}` of one row, around its maximum (0 when that is infinite, so an all -inf
/// row gives -inf and a row holding +inf gives +inf, not NaN).
#[inline(always)]
pub(crate) fn log_sum_exp<F: FastExp>(row: &[F]) -> F {
    let max = fold_run(ReduceOp::Max, row);
    let shift = if max.abs() < F::INFINITY { max } else { F::ZERO };
    let mut sums = [F::ZERO; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (s, &x) in sums.iter_mut().zip(chunk) {
            *s = *s + (x - shift).fast_exp();
        }
    }
    let tail: F = chunks.remainder().iter().map(|&x| (x - shift).fast_exp()).sum();
    shift + (sums.iter().copied().sum::<F>() + tail).ln()
}

multiversioned!(
    /// Loss and log-sum-exp of each row of `x` (`classes` wide).
    forward_block,
    forward_block_avx512,
    <F: FastExp>,
    (x: &[F], labels: &[usize], classes: usize, loss: &mut [F], lse: &mut [F]),
    {
        for (r, (&label, (loss, lse))) in labels.iter().zip(loss.iter_mut().zip(lse.iter_mut())).enumerate() {
            let row = &x[r * classes..][..classes];
            *lse = log_sum_exp(row);
            *loss = *lse - row[label];
        }
    }
);

multiversioned!(
    /// The logits' gradient of each row: `g (e^{x_j - lse} - [j = label])`.
    backward_block,
    backward_block_avx512,
    <F: FastExp>,
    (x: &[F], labels: &[usize], lse: &[F], grad: &[F], out: &mut [F]),
    {
        let classes = x.len() / labels.len().max(1);
        for (r, row_out) in out.chunks_exact_mut(classes).enumerate() {
            let (row, shift, g) = (&x[r * classes..][..classes], lse[r], grad[r]);
            for (o, &v) in row_out.iter_mut().zip(row) {
                *o = g * (v - shift).fast_exp();
            }
            row_out[labels[r]] = row_out[labels[r]] - g;
        }
    }
);

/// The labels as row positions, each checked to be a class.
fn checked_labels(op: &'static str, labels: View<'_>, classes: usize) -> Result<Vec<usize>> {
    let buffer = cpu(labels.storage()).read();
    let HostBuffer::I64(data) = &*buffer else {
        return Err(TensorError::UnsupportedDType { op, dtype: buffer.dtype(), reason: "labels must be i64" });
    };
    contiguous(data, labels.layout())
        .iter()
        .map(|&raw| {
            if raw >= 0 && (raw as usize) < classes {
                Ok(raw as usize)
            } else {
                Err(TensorError::IndexOutOfRange { op, index: raw, axis: 1, size: classes })
            }
        })
        .collect()
}

fn forward<F: FastExp + Default>(x: &[F], labels: &[usize], classes: usize) -> (Vec<F>, Vec<F>) {
    let rows = labels.len();
    let (mut loss, mut lse) = (vec![F::ZERO; rows], vec![F::ZERO; rows]);
    if parallel(x.len()) {
        let tasks = loss.par_chunks_mut(ROWS_PER_TASK).zip(lse.par_chunks_mut(ROWS_PER_TASK));
        tasks.enumerate().for_each(|(t, (loss, lse))| {
            let first = t * ROWS_PER_TASK;
            let labels = &labels[first..first + loss.len()];
            forward_block(&x[first * classes..], labels, classes, loss, lse);
        });
    } else {
        forward_block(x, labels, classes, &mut loss, &mut lse);
    }
    (loss, lse)
}

fn backward<F: FastExp + Default>(x: &[F], labels: &[usize], lse: &[F], grad: &[F]) -> Vec<F> {
    let mut out = vec![F::ZERO; x.len()];
    let classes = x.len() / labels.len().max(1);
    if classes == 0 {
        return out;
    }
    if parallel(x.len()) {
        out.par_chunks_mut(ROWS_PER_TASK * classes).enumerate().for_each(|(t, out)| {
            let (first, rows) = (t * ROWS_PER_TASK, out.len() / classes);
            let span = first..first + rows;
            let x = &x[first * classes..][..rows * classes];
            backward_block(x, &labels[span.clone()], &lse[span.clone()], &grad[span], out);
        });
    } else {
        backward_block(x, labels, lse, grad, &mut out);
    }
    out
}

/// Native [`tensor_core::Device::cross_entropy`].
pub(crate) fn cross_entropy(logits: View<'_>, labels: View<'_>) -> Result<(Storage, Storage)> {
    let classes = logits.dims()[1];
    let labels = checked_labels("cross_entropy", labels, classes)?;
    let buffer = cpu(logits.storage()).read();
    let (loss, lse) = match &*buffer {
        HostBuffer::F32(data) => {
            let (loss, lse) = forward(&contiguous(data, logits.layout()), &labels, classes);
            (HostBuffer::F32(loss), HostBuffer::F32(lse))
        }
        HostBuffer::F64(data) => {
            let (loss, lse) = forward(&contiguous(data, logits.layout()), &labels, classes);
            (HostBuffer::F64(loss), HostBuffer::F64(lse))
        }
        other => return Err(floats_only("cross_entropy", other)),
    };
    Ok((wrap(loss), wrap(lse)))
}

/// Native [`tensor_core::Device::cross_entropy_backward`].
pub(crate) fn cross_entropy_backward(
    logits: View<'_>,
    labels: View<'_>,
    lse: View<'_>,
    grad: View<'_>,
) -> Result<Storage> {
    let op = "cross_entropy_backward";
    let labels = checked_labels(op, labels, logits.dims()[1])?;
    let (x, lse_buffer, grad_buffer) =
        (cpu(logits.storage()).read(), cpu(lse.storage()).read(), cpu(grad.storage()).read());
    Ok(wrap(match (&*x, &*lse_buffer, &*grad_buffer) {
        (HostBuffer::F32(x), HostBuffer::F32(l), HostBuffer::F32(g)) => HostBuffer::F32(backward(
            &contiguous(x, logits.layout()),
            &labels,
            &contiguous(l, lse.layout()),
            &contiguous(g, grad.layout()),
        )),
        (HostBuffer::F64(x), HostBuffer::F64(l), HostBuffer::F64(g)) => HostBuffer::F64(backward(
            &contiguous(x, logits.layout()),
            &labels,
            &contiguous(l, lse.layout()),
            &contiguous(g, grad.layout()),
        )),
        (other, _, _) => return Err(floats_only(op, other)),
    }))
}
