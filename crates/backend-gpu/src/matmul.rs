//! Batched matrix products over strided operands, in two kernels picked per shape: a simple
//! one (one thread per output element, for thin products such as matrix-vector) and a tiled
//! one (64x64 output tiles through workgroup memory, a 4x4 block per thread).

use tensor_core::{DType, Layout, Result, Storage};

use crate::GpuDevice;
use crate::context::groups_for;
use crate::shader::{PRELUDE, binding, offset_word, stride_word, word};
use crate::storage::{buffer_of, check_dtype};

/// Products with fewer rows or columns than this use the simple kernel.
const TILED_FROM: usize = 32;

/// Finds the storage offsets of batch `b` in both operands (see [`matmul_info`]).
const BATCH_OFFSETS: &str = r#"
fn m_rows() -> u32 { return info_u(1u); }
fn n_cols() -> u32 { return info_u(2u); }
fn k_len() -> u32 { return info_u(3u); }
fn lhs_at(offset: i32, row: u32, col: u32) -> u32 { return u32(offset + i32(row) * info[7] + i32(col) * info[8]); }
fn rhs_at(offset: i32, row: u32, col: u32) -> u32 { return u32(offset + i32(row) * info[9] + i32(col) * info[10]); }
fn batch_offsets(b: u32) -> vec2<i32> {
    let br = info_u(4u);
    var rest = b;
    var lo = info[5];
    var ro = info[6];
    for (var d = br; d > 0u; d--) {
        let dim = info_u(10u + d);
        let c = i32(rest % dim);
        rest /= dim;
        lo += c * info[10u + br + d];
        ro += c * info[10u + 2u * br + d];
    }
    return vec2<i32>(lo, ro);
}
"#;

const SIMPLE: &str = r#"
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    let per_batch = m_rows() * n_cols();
    if i >= info_u(0u) * per_batch { return; }
    let b = i / per_batch;
    let row = (i % per_batch) / n_cols();
    let col = i % n_cols();
    let offsets = batch_offsets(b);
    var acc = 0.0;
    for (var k = 0u; k < k_len(); k++) {
        acc += lhs[lhs_at(offsets.x, row, k)] * rhs[rhs_at(offsets.y, k, col)];
    }
    out[i] = acc;
}
"#;

const TILED: &str = r#"
var<workgroup> tile_a: array<f32, 1024>;
var<workgroup> tile_b: array<f32, 1024>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>) {
    let m = m_rows();
    let n = n_cols();
    let k = k_len();
    let tiles_m = (m + 63u) / 64u;
    let tiles_n = (n + 63u) / 64u;
    let group = wid.x + wid.y * groups.x;
    let b = group / (tiles_m * tiles_n);
    if b >= info_u(0u) { return; }
    let tile = group % (tiles_m * tiles_n);
    let row0 = (tile / tiles_n) * 64u;
    let col0 = (tile % tiles_n) * 64u;
    let offsets = batch_offsets(b);
    let lid = local.y * 16u + local.x;
    var acc: array<f32, 16>;
    for (var s = 0u; s < 16u; s++) { acc[s] = 0.0; }
    for (var k0 = 0u; k0 < k; k0 += 16u) {
        for (var e = 0u; e < 4u; e++) {
            let at = lid + e * 256u;
            let r = row0 + at / 16u;
            let c = k0 + at % 16u;
            var v = 0.0;
            if r < m && c < k { v = lhs[lhs_at(offsets.x, r, c)]; }
            tile_a[at] = v;
            let kr = k0 + at / 64u;
            let nc = col0 + at % 64u;
            var w = 0.0;
            if kr < k && nc < n { w = rhs[rhs_at(offsets.y, kr, nc)]; }
            tile_b[at] = w;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk++) {
            var a: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var s = 0u; s < 4u; s++) {
                a[s] = tile_a[(local.y * 4u + s) * 16u + kk];
                bv[s] = tile_b[kk * 64u + local.x * 4u + s];
            }
            for (var r = 0u; r < 4u; r++) {
                for (var c = 0u; c < 4u; c++) {
                    acc[r * 4u + c] = fma(a[r], bv[c], acc[r * 4u + c]);
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let row = row0 + local.y * 4u + r;
        for (var c = 0u; c < 4u; c++) {
            let col = col0 + local.x * 4u + c;
            if row < m && col < n { out[(b * m + row) * n + col] = acc[r * 4u + c]; }
        }
    }
}
"#;

/// The `info` words of a batched product: `[batches, m, n, k, batch rank, lhs offset, rhs
/// offset, lhs row and k strides, rhs k and column strides, batch dims, lhs batch strides, rhs
/// batch strides]`.
fn matmul_info(lhs: &Layout, rhs: &Layout) -> (Vec<i32>, usize, usize, usize, usize) {
    let rank = lhs.rank();
    let (m, k, n) = (lhs.dims()[rank - 2], lhs.dims()[rank - 1], rhs.dims()[rank - 1]);
    let batch_dims = &lhs.dims()[..rank - 2];
    let batches: usize = batch_dims.iter().product();
    let (ls, rs) = (lhs.strides(), rhs.strides());
    let mut words = vec![word(batches), word(m), word(n), word(k), word(rank - 2)];
    words.extend([offset_word(lhs), offset_word(rhs)]);
    words.extend([
        stride_word(m, ls[rank - 2]),
        stride_word(k, ls[rank - 1]),
        stride_word(k, rs[rank - 2]),
        stride_word(n, rs[rank - 1]),
    ]);
    words.extend(batch_dims.iter().map(|&d| word(d)));
    words.extend(batch_dims.iter().zip(&ls[..rank - 2]).map(|(&d, &s)| stride_word(d, s)));
    words.extend(batch_dims.iter().zip(&rs[..rank - 2]).map(|(&d, &s)| stride_word(d, s)));
    (words, batches, m, n, k)
}

impl GpuDevice {
    pub(crate) fn matmul_op(
        &self,
        lhs: &Storage,
        lhs_layout: &Layout,
        rhs: &Storage,
        rhs_layout: &Layout,
    ) -> Result<Storage> {
        check_dtype("matmul", lhs.dtype())?;
        let (info, batches, m, n, _) = matmul_info(lhs_layout, rhs_layout);
        let tiled = m >= TILED_FROM && n >= TILED_FROM;
        let (key, body) = if tiled { ("matmul:tiled", TILED) } else { ("matmul:simple", SIMPLE) };
        let pipeline = self.gpu.pipeline(key, || {
            let bindings = [
                binding(1, "out", DType::F32, true),
                binding(2, "lhs", DType::F32, false),
                binding(3, "rhs", DType::F32, false),
            ];
            format!("{PRELUDE}{}{BATCH_OFFSETS}{body}", bindings.concat())
        });
        let out = self.alloc(DType::F32, batches * m * n)?;
        let groups =
            if tiled { word(batches * m.div_ceil(64) * n.div_ceil(64)) as u32 } else { groups_for(batches * m * n) };
        let buffers = [&buffer_of(&out).buffer, &buffer_of(lhs).buffer, &buffer_of(rhs).buffer];
        self.gpu.dispatch(&pipeline, &info, &buffers, groups);
        Ok(out)
    }
}
