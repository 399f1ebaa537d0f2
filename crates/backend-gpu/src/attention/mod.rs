//! Fused scaled dot-product attention, FlashAttention-2 style, in three WGSL kernels and a
//! per-row helper; none holds the `Tq x Tk` score matrix in global memory.
//!
//! - **Forward:** one workgroup of 64 threads per (batch·head, block of 64 query rows), a thread
//!   per row. Keys and values stream through workgroup memory a tile at a time; each row keeps
//!   its scaled query, its running maximum and sum and its output accumulator in private
//!   `vec4` arrays and folds the keys in one by one with the online softmax. Writes `out` and
//!   the row log-sum-exp.
//! - **Backward:** a pass writes each row's `(lse, rowsum(dO ⊙ O))` pair; the `dQ` pass is the
//!   forward's loop with the probabilities recomputed from `lse`; the `dK`/`dV` pass runs one
//!   workgroup per (batch·head, block of 64 keys), a thread per key, streaming tiles of query
//!   rows, so each key's gradients are summed by one thread: no atomics, no races.
//!
//! The mask is computed in the kernels from the causal flag and the key lengths (in `info`):
//! a row sees a prefix of the keys, which never shrinks down a head's rows, so a block walks
//! only the key tiles its last row sees, and the `dK`/`dV` pass skips query tiles that see
//! none of its keys. Inputs are read through their views' strides (heads split from
//! `[B, T, H, d]`, keys broadcast over the batch, flipped values) without copies.
//!
//! Kernels are specialised per head widths and tile height and cached. Empty problems and head
//! widths past [`MAX_WIDTH`] take the default bodies.

mod shaders;

use tensor_core::{AttentionInputs, DType, Layout, Result, Storage, View};

use crate::GpuDevice;
use crate::shader::{offset_word, stride_word, word};
use crate::storage::{buffer_of, check_dtype};
use shaders::{BLOCK, Widths};

/// The widest head (`d` or `dv`) the kernels take: each thread keeps a few vectors of that
/// width in registers. Wider heads run the default body.
pub(crate) const MAX_WIDTH: usize = 256;

/// Workgroup memory the kernels' tiles may use, at most (less when the adapter allows less).
const TILE_BYTES: u32 = 32 * 1024;

/// The backward's operands besides the inputs.
pub(crate) struct Saved<'a> {
    pub out: View<'a>,
    pub lse: View<'a>,
    pub grad: View<'a>,
}

/// The `info` words of one call (layout in [`shaders`]).
struct Info {
    words: Vec<i32>,
}

impl Info {
    fn new(inputs: &AttentionInputs<'_>, blocks: usize, saved: Option<&Saved<'_>>) -> Info {
        let [b, h, tq, tk, _, _] = inputs.sizes();
        let mask = inputs.mask;
        let mut words = vec![word(b), word(h), word(tq), word(tk)];
        words.push(i32::from(mask.causal));
        words.push(i32::from(mask.key_lengths.is_some()));
        words.push((inputs.scale as f32).to_bits() as i32);
        words.push(word(blocks));
        let (out, grad) = (saved.map(|s| s.out.layout()), saved.map(|s| s.grad.layout()));
        for layout in [Some(inputs.q.layout()), Some(inputs.k.layout()), Some(inputs.v.layout()), out, grad] {
            push_view(&mut words, layout, 4);
        }
        push_view(&mut words, saved.map(|s| s.lse.layout()), 3);
        words.push(0);
        debug_assert_eq!(words.len(), 38, "the key lengths start at word 38");
        words.extend(mask.key_lengths.iter().flatten().map(|&len| word(len)));
        Info { words }
    }
}

/// A view's offset and its `rank` strides (zeros when absent), padded to five words.
fn push_view(words: &mut Vec<i32>, layout: Option<&Layout>, rank: usize) {
    match layout {
        Some(layout) => {
            words.push(offset_word(layout));
            words.extend(layout.dims().iter().zip(layout.strides()).map(|(&dim, &stride)| stride_word(dim, stride)));
        }
        None => words.extend(std::iter::repeat_n(0, rank + 1)),
    }
}

impl GpuDevice {
    /// The kernels' specialisation for these inputs, or `None` when the default body runs
    /// instead: a size is 0, or a head is wider than [`MAX_WIDTH`].
    pub(crate) fn attention_widths(&self, inputs: &AttentionInputs<'_>) -> Option<Widths> {
        let [b, h, tq, tk, d, dv] = inputs.sizes();
        if [b, h, tq, tk, d, dv].contains(&0) || d.max(dv) > MAX_WIDTH {
            return None;
        }
        let budget = self.gpu.device.limits().max_compute_workgroup_storage_size.min(TILE_BYTES) as usize;
        let rows = budget / (4 * shaders::floats_per_tile_row(Widths { d, dv, tile: 0 }));
        // Two 256-wide heads take 2060 bytes a row: 7 rows fit the 16 KiB every adapter offers.
        (rows >= 1).then(|| Widths { d, dv, tile: rows.min(BLOCK) })
    }

    fn attention_pipeline(
        &self,
        kind: &str,
        w: Widths,
        source: fn(Widths) -> String,
    ) -> std::sync::Arc<wgpu::ComputePipeline> {
        self.gpu.pipeline(&format!("attention_{kind}:{}:{}:{}", w.d, w.dv, w.tile), || source(w))
    }

    /// Native forward for the sizes [`GpuDevice::attention_widths`] accepts.
    pub(crate) fn attention_op(&self, inputs: &AttentionInputs<'_>, w: Widths) -> Result<(Storage, Storage)> {
        check_dtype("attention", inputs.q.dtype())?;
        let [b, h, tq, _, _, dv] = inputs.sizes();
        let blocks = tq.div_ceil(BLOCK);
        let pipeline = self.attention_pipeline("forward", w, shaders::forward);
        let info = Info::new(inputs, blocks, None);
        let (out, lse) = (self.alloc(DType::F32, b * h * tq * dv)?, self.alloc(DType::F32, b * h * tq)?);
        let buffers = [
            &buffer_of(&out).buffer,
            &buffer_of(&lse).buffer,
            &buffer_of(inputs.q.storage()).buffer,
            &buffer_of(inputs.k.storage()).buffer,
            &buffer_of(inputs.v.storage()).buffer,
        ];
        self.gpu.dispatch(&pipeline, &info.words, &buffers, word(b * h * blocks) as u32);
        Ok((out, lse))
    }

    /// Native backward for the sizes [`GpuDevice::attention_widths`] accepts: the row
    /// statistics, then the `dQ` pass, then the `dK`/`dV` pass.
    pub(crate) fn attention_backward_op(
        &self,
        inputs: &AttentionInputs<'_>,
        saved: &Saved<'_>,
        w: Widths,
    ) -> Result<(Storage, Storage, Storage)> {
        check_dtype("attention_backward", inputs.q.dtype())?;
        let [b, h, tq, tk, d, dv] = inputs.sizes();
        let (q, k, v) = (buffer_of(inputs.q.storage()), buffer_of(inputs.k.storage()), buffer_of(inputs.v.storage()));
        let grad = buffer_of(saved.grad.storage());

        let rows = b * h * tq;
        let stats = self.alloc(DType::F32, 2 * rows)?;
        // The statistics depend on the value width alone.
        let pipeline = self.attention_pipeline("row_stats", Widths { d: 0, dv, tile: 0 }, shaders::row_stats);
        let info = Info::new(inputs, 0, Some(saved));
        let buffers = [
            &buffer_of(&stats).buffer,
            &buffer_of(saved.lse.storage()).buffer,
            &buffer_of(saved.out.storage()).buffer,
            &grad.buffer,
        ];
        self.gpu.dispatch(&pipeline, &info.words, &buffers, word(rows.div_ceil(BLOCK)) as u32);

        let query_blocks = tq.div_ceil(BLOCK);
        let grad_q = self.alloc(DType::F32, rows * d)?;
        let pipeline = self.attention_pipeline("grad_q", w, shaders::grad_q);
        let info = Info::new(inputs, query_blocks, Some(saved));
        let stats_buffer = &buffer_of(&stats).buffer;
        let buffers = [&buffer_of(&grad_q).buffer, &q.buffer, &k.buffer, &v.buffer, &grad.buffer, stats_buffer];
        self.gpu.dispatch(&pipeline, &info.words, &buffers, word(b * h * query_blocks) as u32);

        let key_blocks = tk.div_ceil(BLOCK);
        let (grad_k, grad_v) = (self.alloc(DType::F32, b * h * tk * d)?, self.alloc(DType::F32, b * h * tk * dv)?);
        let pipeline = self.attention_pipeline("grad_kv", w, shaders::grad_kv);
        let info = Info::new(inputs, key_blocks, Some(saved));
        let buffers = [
            &buffer_of(&grad_k).buffer,
            &buffer_of(&grad_v).buffer,
            &q.buffer,
            &k.buffer,
            &v.buffer,
            &grad.buffer,
            stats_buffer,
        ];
        self.gpu.dispatch(&pipeline, &info.words, &buffers, word(b * h * key_blocks) as u32);
        Ok((grad_q, grad_k, grad_v))
    }
}
