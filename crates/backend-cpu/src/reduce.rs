//! Reductions, arg-reductions and the softmax family.

use ndarray::{ArrayD, ArrayViewMut1, Axis, IxDyn, Zip};
use rayon::prelude::*;
use tensor_core::{ArgReduceOp, Float, HostBuffer, Layout, ReduceOp, Result, Storage, View};

use crate::loss::log_sum_exp;
use crate::simd::{FastExp, multiversioned};
use crate::storage::{contiguous, cpu, gather_view, view, wrap};

/// Folds a contiguous run with eight independent accumulators, so sums vectorise (inlined, so
/// the AVX-512 builds that call it fold with wide vectors).
#[inline(always)]
pub(crate) fn fold_run<F: Float>(op: ReduceOp, run: &[F]) -> F {
    let mut lanes = [op.identity::<F>(); 8];
    let mut chunks = run.chunks_exact(8);
    for chunk in &mut chunks {
        for (acc, &x) in lanes.iter_mut().zip(chunk) {
            *acc = op.combine(*acc, x);
        }
    }
    let mut acc = op.identity::<F>();
    for &x in chunks.remainder().iter().chain(lanes.iter()) {
        acc = op.combine(acc, x);
    }
    acc
}

/// How many of `axes` (sorted) lead from axis 0 and how many trail to the last axis, when
/// those two runs are all of them (a reduction a contiguous layout folds without gathering).
fn prefix_and_suffix(axes: &[usize], rank: usize) -> Option<(usize, usize)> {
    let suffix = axes.iter().rev().enumerate().take_while(|&(i, &a)| a + 1 + i == rank).count();
    let prefix = axes[..axes.len() - suffix].iter().enumerate().take_while(|&(i, &a)| a == i).count();
    (prefix + suffix == axes.len()).then_some((prefix, suffix))
}

/// A reduction of contiguous `input` (`dims`) over its first `prefix` and last `suffix`
/// axes: each trailing run folds to one value, then the leading blocks combine elementwise.
fn reduce_prefix_suffix<F: Float>(
    op: ReduceOp,
    input: &[F],
    dims: &[usize],
    (prefix, suffix): (usize, usize),
) -> Vec<F> {
    let inner: usize = dims[dims.len() - suffix..].iter().product();
    let outer: usize = dims[..prefix].iter().product();
    let kept = input.len() / (inner * outer);
    let folded: std::borrow::Cow<'_, [F]> = if suffix == 0 {
        input.into()
    } else if crate::elementwise::parallel(input.len()) && input.len() > inner {
        input.par_chunks(inner).map(|run| fold_run(op, run)).collect::<Vec<F>>().into()
    } else {
        input.chunks(inner).map(|run| fold_run(op, run)).collect::<Vec<F>>().into()
    };
    let mut blocks = folded.chunks(kept);
    let mut out = blocks.next().map(<[F]>::to_vec).unwrap_or_default();
    for block in blocks {
        out.iter_mut().zip(block).for_each(|(acc, &x)| *acc = op.combine(*acc, x));
    }
    out
}

/// Number of outputs of a reduction over `axes`.
fn outputs(layout: &Layout, axes: &[usize]) -> usize {
    layout.dims().iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).product()
}

/// The selected elements as an owned standard-layout array (ndarray's `to_owned` keeps
/// broadcast strides, which later constructors reject).
fn owned<T: Copy>(data: &[T], layout: &Layout) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(layout.dims()), gather_view(data, layout)).expect("shape matches")
}

fn reduce_float<F: Float + Default>(op: ReduceOp, data: &[F], layout: &Layout, axes: &[usize]) -> Vec<F> {
    if axes.is_empty() {
        return gather_view(data, layout);
    }
    if layout.numel() == 0 {
        return vec![op.identity(); outputs(layout, axes)];
    }
    if layout.is_contiguous()
        && let Some(split) = prefix_and_suffix(axes, layout.rank())
    {
        return reduce_prefix_suffix(op, &contiguous(data, layout), layout.dims(), split);
    }
    let mut current = owned(data, layout);
    for &axis in axes.iter().rev() {
        current = current.map_axis(Axis(axis), |lane| lane.iter().fold(op.identity(), |acc, &x| op.combine(acc, x)));
    }
    current.iter().copied().collect()
}

fn reduce_i64(op: ReduceOp, data: &[i64], layout: &Layout, axes: &[usize]) -> Vec<i64> {
    if layout.numel() == 0 {
        return vec![op.identity_i64(); outputs(layout, axes)];
    }
    let mut current = owned(data, layout);
    for &axis in axes.iter().rev() {
        current =
            current.map_axis(Axis(axis), |lane| lane.iter().fold(op.identity_i64(), |acc, &x| op.combine_i64(acc, x)));
    }
    current.iter().copied().collect()
}

pub(crate) fn reduce(op: ReduceOp, x: View<'_>, axes: &[usize]) -> Result<Storage> {
    let (x, layout) = (x.storage(), x.layout());
    let buffer = cpu(x).read();
    Ok(wrap(match &*buffer {
        HostBuffer::F32(v) => HostBuffer::F32(reduce_float(op, v, layout, axes)),
        HostBuffer::F64(v) => HostBuffer::F64(reduce_float(op, v, layout, axes)),
        HostBuffer::I64(v) => HostBuffer::I64(reduce_i64(op, v, layout, axes)),
    }))
}

fn arg_lane<T: Copy>(lane: ndarray::ArrayView1<'_, T>, better: impl Fn(T, T) -> bool) -> i64 {
    let mut best = 0usize;
    for (i, &x) in lane.iter().enumerate().skip(1) {
        if better(x, lane[best]) {
            best = i;
        }
    }
    best as i64
}

pub(crate) fn arg_reduce(op: ArgReduceOp, x: View<'_>, axis: usize) -> Result<Storage> {
    let (x, layout) = (x.storage(), x.layout());
    if layout.numel() == 0 {
        return Ok(wrap(HostBuffer::I64(Vec::new())));
    }
    let buffer = cpu(x).read();
    let positions: ArrayD<i64> = match &*buffer {
        HostBuffer::F32(v) => view(v, layout).map_axis(Axis(axis), |lane| arg_lane(lane, |a, b| op.better(a, b))),
        HostBuffer::F64(v) => view(v, layout).map_axis(Axis(axis), |lane| arg_lane(lane, |a, b| op.better(a, b))),
        HostBuffer::I64(v) => view(v, layout).map_axis(Axis(axis), |lane| arg_lane(lane, |a, b| op.better_i64(a, b))),
    };
    Ok(wrap(HostBuffer::I64(positions.iter().copied().collect())))
}

/// Softmax (or log-softmax) of one run of values, in place.
#[inline(always)]
fn softmax_run<F: FastExp>(run: &mut [F], log: bool) {
    if log {
        let lse = log_sum_exp(run);
        run.iter_mut().for_each(|x| *x = *x - lse);
        return;
    }
    let max = fold_run(ReduceOp::Max, run);
    let shift = if max.abs() < F::INFINITY { max } else { F::ZERO };
    run.iter_mut().for_each(|x| *x = (*x - shift).fast_exp());
    let inv = F::ONE / fold_run(ReduceOp::Sum, run);
    run.iter_mut().for_each(|x| *x = *x * inv);
}

multiversioned!(
    /// Softmax (or log-softmax) of each `n`-wide run of `values`, in place.
    softmax_runs,
    softmax_runs_avx512,
    <F: FastExp>,
    (values: &mut [F], n: usize, log: bool),
    {
        values.chunks_mut(n).for_each(|run| softmax_run(run, log));
    }
);

fn softmax_lane<F: FastExp>(mut lane: ArrayViewMut1<'_, F>, log: bool) {
    let mut run: Vec<F> = lane.iter().copied().collect();
    softmax_run(&mut run, log);
    lane.iter_mut().zip(run).for_each(|(dst, v)| *dst = v);
}

fn softmax_float<F: FastExp + Default>(data: &[F], layout: &Layout, axis: usize, log: bool) -> Vec<F> {
    let mut values = gather_view(data, layout);
    let n = layout.dims()[axis];
    if n == 0 {
        return values;
    }
    if axis + 1 == layout.rank() {
        if crate::elementwise::parallel(values.len()) {
            // Short runs go several to a task, so each task has a few thousand values.
            values.par_chunks_mut(n * (4096 / n).max(1)).for_each(|runs| softmax_runs(runs, n, log));
        } else {
            softmax_runs(&mut values, n, log);
        }
        return values;
    }
    let mut array = ArrayD::from_shape_vec(IxDyn(layout.dims()), values).expect("shape matches");
    Zip::from(array.lanes_mut(Axis(axis))).for_each(|lane| softmax_lane(lane, log));
    array.into_raw_vec_and_offset().0
}

pub(crate) fn softmax(x: View<'_>, axis: usize, log: bool) -> Result<Storage> {
    let (x, layout) = (x.storage(), x.layout());
    let buffer = cpu(x).read();
    Ok(wrap(match &*buffer {
        HostBuffer::F32(v) => HostBuffer::F32(softmax_float(v, layout, axis, log)),
        HostBuffer::F64(v) => HostBuffer::F64(softmax_float(v, layout, axis, log)),
        HostBuffer::I64(_) => {
            return Err(tensor_core::TensorError::UnsupportedDType {
                op: "softmax",
                dtype: tensor_core::DType::I64,
                reason: "needs floats",
            });
        }
    }))
}
