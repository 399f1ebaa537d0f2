//! Fused scaled dot-product attention, FlashAttention-style: the forward tiles over the keys
//! with an online softmax and the backward recomputes each score tile from the saved
//! log-sum-exp, so neither holds the `Tq x Tk` score matrix; memory is the inputs' size plus
//! one tile per thread. Work runs on rayon's pool: the forward one unit per (batch, head, block
//! of 64 query rows), the backward one per (batch, head) or, when there are fewer heads than
//! threads, per range of keys of a head (each range then sums into its own `dQ`, added up
//! afterwards). Tile products run on [`crate::small_gemm`] for f32 on AVX-512, on the `gemm`
//! crate otherwise. A call with at most [`decode::DECODE_ROWS`] query rows (a decoding step)
//! skips the tiles and reads the keys and values in place through their views.
//!
//! Empty problems (any size 0) take the default bodies, which handle them without tiles.

mod decode;
#[cfg(target_arch = "x86_64")]
mod decode_x86;
mod kernels;
mod tile;

use std::borrow::Cow;

use rayon::prelude::*;
use tensor_core::{AttentionInputs, HostBuffer, Layout, Result, Storage, View};

use crate::storage::{contiguous, cpu, floats_only, gather_view, wrap};
use kernels::{Head, HeadGrads};
use tile::{AttnFloat, QUERY_BLOCK};

/// The sizes of one call, `[B·H, Tq, Tk, d, dv]`, with the batch entry of each (b, h) and the
/// visible-key counts of every batch entry's query rows.
struct Plan {
    heads: usize,
    per_batch: usize,
    sizes: [usize; 4],
    /// `ends[b]`: how many leading keys each query row of batch entry `b` sees.
    ends: Vec<Vec<usize>>,
}

impl Plan {
    /// `None` when a size is 0 (the default bodies handle those).
    fn new(inputs: &AttentionInputs<'_>) -> Option<Plan> {
        let [b, h, tq, tk, d, dv] = inputs.sizes();
        if [b, h, tq, tk, d, dv].contains(&0) {
            return None;
        }
        let ends = (0..b).map(|batch| (0..tq).map(|i| inputs.mask.visible_keys(batch, i, tq, tk)).collect()).collect();
        Some(Plan { heads: b * h, per_batch: h, sizes: [tq, tk, d, dv], ends })
    }

    /// The operands of head `bh` (flattened batch and head).
    fn head<'a, F: AttnFloat>(&'a self, bh: usize, q: &'a [F], kt: &'a [F], v: &'a [F], scale: F) -> Head<'a, F> {
        let [tq, tk, d, dv] = self.sizes;
        Head {
            sizes: self.sizes,
            q: &q[bh * tq * d..][..tq * d],
            kt: &kt[bh * d * tk..][..d * tk],
            v: &v[bh * tk * dv..][..tk * dv],
            ends: &self.ends[bh / self.per_batch],
            scale,
        }
    }
}

/// The elements of a view, contiguous (borrowed when they already are).
fn elements<'a, F: AttnFloat>(op: &'static str, buffer: &'a HostBuffer, layout: &Layout) -> Result<Cow<'a, [F]>> {
    F::slice(buffer).map(|data| contiguous(data, layout)).ok_or_else(|| floats_only(op, buffer))
}

/// The `[.., T, w]` view transposed to `[.., w, T]`, contiguous.
fn transposed<F: AttnFloat>(op: &'static str, buffer: &HostBuffer, layout: &Layout) -> Result<Vec<F>> {
    let data = F::slice(buffer).ok_or_else(|| floats_only(op, buffer))?;
    Ok(gather_view(data, &layout.transpose(2, 3)?))
}

/// The decoding path's operands, when the call has few query rows and every input's rows
/// are contiguous.
fn decode_call<'a, F: AttnFloat>(
    inputs: &AttentionInputs<'_>,
    plan: &'a Plan,
    [qb, kb, vb]: [&'a HostBuffer; 3],
) -> Option<decode::Decode<'a, F>> {
    let [tq, tk, d, dv] = plan.sizes;
    if tq > decode::DECODE_ROWS {
        return None;
    }
    let rows = |buffer: &'a HostBuffer, layout: &Layout| decode::Rows::new(F::slice(buffer)?, layout);
    Some(decode::Decode {
        sizes: [plan.heads / plan.per_batch, plan.per_batch, tq, tk, d, dv],
        q: rows(qb, inputs.q.layout())?,
        k: rows(kb, inputs.k.layout())?,
        v: rows(vb, inputs.v.layout())?,
        ends: &plan.ends,
        scale: F::from_f64(inputs.scale),
    })
}

fn forward_typed<F: decode::DecodeFloat>(
    inputs: &AttentionInputs<'_>,
    plan: &Plan,
) -> Result<(HostBuffer, HostBuffer)> {
    let op = "attention";
    let (qb, kb, vb) = (cpu(inputs.q.storage()).read(), cpu(inputs.k.storage()).read(), cpu(inputs.v.storage()).read());
    if let Some(call) = decode_call::<F>(inputs, plan, [&qb, &kb, &vb]) {
        let (out, lse) = decode::forward(&call);
        return Ok((F::buffer(out), F::buffer(lse)));
    }
    let q = elements::<F>(op, &qb, inputs.q.layout())?;
    let kt = transposed::<F>(op, &kb, inputs.k.layout())?;
    let v = elements::<F>(op, &vb, inputs.v.layout())?;
    let [tq, _, _, dv] = plan.sizes;
    let scale = F::from_f64(inputs.scale);
    let blocks = tq.div_ceil(QUERY_BLOCK);
    let results: Vec<_> = (0..plan.heads * blocks)
        .into_par_iter()
        .map(|unit| {
            let (bh, block) = (unit / blocks, unit % blocks);
            let rows = block * QUERY_BLOCK..(tq.min((block + 1) * QUERY_BLOCK));
            kernels::forward(&plan.head(bh, &q, &kt, &v, scale), rows)
        })
        .collect();
    let mut out = Vec::with_capacity(plan.heads * tq * dv);
    let mut lse = Vec::with_capacity(plan.heads * tq);
    for (rows, row_lse) in results {
        out.extend_from_slice(&rows);
        lse.extend_from_slice(&row_lse);
    }
    Ok((F::buffer(out), F::buffer(lse)))
}

/// Native [`tensor_core::Device::attention`]; `None` for empty problems.
pub(crate) fn attention(inputs: AttentionInputs<'_>) -> Option<Result<(Storage, Storage)>> {
    let plan = Plan::new(&inputs)?;
    let buffers = match inputs.q.dtype() {
        tensor_core::DType::F32 => forward_typed::<f32>(&inputs, &plan),
        tensor_core::DType::F64 => forward_typed::<f64>(&inputs, &plan),
        _ => Err(floats_only("attention", &cpu(inputs.q.storage()).read())),
    };
    Some(buffers.map(|(out, lse)| (wrap(out), wrap(lse))))
}

/// `rowsum(dO ⊙ O)` per query row, `[B·H·Tq]`.
fn deltas<F: AttnFloat>(grad: &[F], out: &[F], dv: usize) -> Vec<F> {
    grad.chunks(dv)
        .zip(out.chunks(dv))
        .map(|(g, o)| g.iter().zip(o).fold(F::ZERO, |acc, (&g, &o)| acc + g * o))
        .collect()
}

/// The backward's operands besides the inputs, as views.
pub(crate) struct Saved<'a> {
    pub out: View<'a>,
    pub lse: View<'a>,
    pub grad: View<'a>,
}

fn backward_typed<'a, F: AttnFloat>(
    inputs: &AttentionInputs<'a>,
    saved: &Saved<'a>,
    plan: &Plan,
) -> Result<(HostBuffer, HostBuffer, HostBuffer)> {
    let op = "attention_backward";
    let read = |view: View<'a>| cpu(view.storage()).read();
    let (qb, kb, vb) = (read(inputs.q), read(inputs.k), read(inputs.v));
    let (ob, lb, gb) = (read(saved.out), read(saved.lse), read(saved.grad));
    let q = elements::<F>(op, &qb, inputs.q.layout())?;
    let k = elements::<F>(op, &kb, inputs.k.layout())?;
    let kt = transposed::<F>(op, &kb, inputs.k.layout())?;
    let v = elements::<F>(op, &vb, inputs.v.layout())?;
    let vt = transposed::<F>(op, &vb, inputs.v.layout())?;
    let grad = elements::<F>(op, &gb, saved.grad.layout())?;
    let lse = elements::<F>(op, &lb, saved.lse.layout())?;
    let delta = deltas(&grad, &elements::<F>(op, &ob, saved.out.layout())?, plan.sizes[3]);
    let [tq, tk, d, dv] = plan.sizes;
    let scale = F::from_f64(inputs.scale);
    // Split a head's keys when there are fewer heads than threads, into whole tiles.
    let tiles = tk.div_ceil(tile::KEY_TILE);
    let splits = rayon::current_num_threads().div_ceil(plan.heads).clamp(1, tiles);
    let per_split = tiles.div_ceil(splits) * tile::KEY_TILE;
    let splits = tk.div_ceil(per_split);
    let results: Vec<_> = (0..plan.heads * splits)
        .into_par_iter()
        .map(|unit| {
            let (bh, split) = (unit / splits, unit % splits);
            let head = plan.head(bh, &q, &kt, &v, scale);
            let grads = HeadGrads {
                k: &k[bh * tk * d..][..tk * d],
                vt: &vt[bh * dv * tk..][..dv * tk],
                grad: &grad[bh * tq * dv..][..tq * dv],
                lse: &lse[bh * tq..][..tq],
                delta: &delta[bh * tq..][..tq],
            };
            kernels::backward(&head, &grads, split * per_split..tk.min((split + 1) * per_split))
        })
        .collect();
    let mut dq = vec![F::ZERO; plan.heads * tq * d];
    let (mut dk, mut dvs) = (Vec::with_capacity(plan.heads * tk * d), Vec::with_capacity(plan.heads * tk * dv));
    for (unit, (part_q, part_k, part_v)) in results.into_iter().enumerate() {
        let head_dq = &mut dq[unit / splits * tq * d..][..tq * d];
        head_dq.iter_mut().zip(&part_q).for_each(|(sum, &x)| *sum += x);
        dk.extend_from_slice(&part_k);
        dvs.extend_from_slice(&part_v);
    }
    Ok((F::buffer(dq), F::buffer(dk), F::buffer(dvs)))
}

/// Native [`tensor_core::Device::attention_backward`]; `None` for empty problems.
pub(crate) fn attention_backward(
    inputs: AttentionInputs<'_>,
    saved: &Saved<'_>,
) -> Option<Result<(Storage, Storage, Storage)>> {
    let plan = Plan::new(&inputs)?;
    let buffers = match inputs.q.dtype() {
        tensor_core::DType::F32 => backward_typed::<f32>(&inputs, saved, &plan),
        tensor_core::DType::F64 => backward_typed::<f64>(&inputs, saved, &plan),
        _ => Err(floats_only("attention_backward", &cpu(inputs.q.storage()).read())),
    };
    Some(buffers.map(|(dq, dk, dv)| (wrap(dq), wrap(dk), wrap(dv))))
}
