//! The WGSL of the attention kernels, specialised per head widths `D` (queries and keys) and
//! `DV` (values) and per staged tile height, so every per-row vector is a fixed-size private
//! array and every inner loop has a constant bound.
//!
//! The `info` words (see [`super::Info`]): `[0..4]` `B, H, Tq, Tk`, `[4]` causal, `[5]` whether
//! key lengths follow, `[6]` the scale (f32 bits), `[7]` blocks per head; from word 8 the views
//! of `q`, `k`, `v`, `out` and `grad_out` (offset and four strides each), then `lse` (offset
//! and three strides, one spare word), and from word 38 one key length per batch entry.

use crate::shader::PRELUDE;

/// Threads per workgroup: the query rows of a block (forward, `dQ`) or the keys of a block
/// (`dK`, `dV`).
pub(super) const BLOCK: usize = 64;

/// Sizes a kernel is specialised for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Widths {
    /// Query and key width `d`.
    pub d: usize,
    /// Value width `dv`.
    pub dv: usize,
    /// Rows of the tile staged through workgroup memory (keys, or query rows for `dK`/`dV`).
    pub tile: usize,
}

/// Readers of `info`: the storage index of an element of each operand, and how many leading
/// keys a query row sees (the mask: causal bottom-right aligned, then the key length).
const COMMON: &str = r#"
// Storage index of element (b, h, t, c) of operand `k` (0 q, 1 k, 2 v, 3 out, 4 grad_out).
fn at(k: u32, b: u32, h: u32, t: u32, c: u32) -> u32 {
    let w = 8u + 5u * k;
    return u32(info[w] + i32(b) * info[w + 1u] + i32(h) * info[w + 2u] + i32(t) * info[w + 3u] + i32(c) * info[w + 4u]);
}

fn lse_at(b: u32, h: u32, t: u32) -> u32 {
    return u32(info[33] + i32(b) * info[34] + i32(h) * info[35] + i32(t) * info[36]);
}

// How many leading keys query `i` of batch entry `b` sees.
fn visible(b: u32, i: u32) -> u32 {
    let tq = info_u(2u);
    let tk = info_u(3u);
    var end = tk;
    if info[4] != 0 { end = min(tk, max(i + 1u + tk, tq) - tq); }
    if info[5] != 0 { end = min(end, info_u(38u + b)); }
    return end;
}

fn scale() -> f32 { return bitcast<f32>(info[6]); }
"#;

/// The entry of a block kernel: binds `b`, `h`, the flattened `bh`, the block's `first` row
/// (or key) and the thread's `lid`; returns past the last block.
const BLOCK_ENTRY: &str = r#"
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let group = wid.x + wid.y * groups.x;
    let blocks = info_u(7u);
    if group >= info_u(0u) * info_u(1u) * blocks { return; }
    let bh = group / blocks;
    let b = bh / info_u(1u);
    let h = bh % info_u(1u);
    let first = (group % blocks) * 64u;
    let tq = info_u(2u);
    let tk = info_u(3u);
"#;

/// Stages keys `j0 .. j0 + width` and their values in `keys` and `values` (between barriers,
/// which every thread of the block reaches: `width` is the same for all of them).
const STAGE_KEYS: &str = r#"
        workgroupBarrier();
        for (var e = lid; e < width * D; e += 64u) { keys[e] = k[at(1u, b, h, j0 + e / D, e % D)]; }
        for (var e = lid; e < width * DV; e += 64u) { values[e] = v[at(2u, b, h, j0 + e / DV, e % DV)]; }
        workgroupBarrier();
"#;

/// Per query row (one thread each): its scaled query in `q`, its key count `end`. The block's
/// last row sees the most keys (key counts never fall down the rows), so the block walks the
/// key tiles up to its `block_end`.
const QUERY_ROW: &str = r#"
    let i = first + lid;
    let live = i < tq;
    var end = 0u;
    var q: array<f32, D>;
    if live {
        end = visible(b, i);
        for (var c = 0u; c < D; c++) { q[c] = qs[at(0u, b, h, i, c)] * scale(); }
    }
    let block_end = visible(b, min(first + 63u, tq - 1u));
"#;

/// Forward: the online softmax over key tiles. A tile's scores are kept in `s`; when the tile
/// raises the row's maximum, the sum and the accumulated output are rescaled to it once.
const FORWARD: &str = r#"
    var acc: array<f32, DV>;
    var s: array<f32, TILE>;
    var m = bitcast<f32>(0xff800000u);
    var sum = 0.0;
    for (var j0 = 0u; j0 < block_end; j0 += TILE) {
        let width = min(TILE, block_end - j0);
STAGE_KEYS
        let valid = min(end - min(end, j0), width);
        if valid > 0u {
            var tile_max = bitcast<f32>(0xff800000u);
            for (var j = 0u; j < TILE; j++) {
                if j < valid {
                    var dot = 0.0;
                    for (var c = 0u; c < D; c++) { dot = fma(q[c], keys[j * D + c], dot); }
                    s[j] = dot;
                    tile_max = max(tile_max, dot);
                }
            }
            if tile_max > m {
                let rescale = exp(m - tile_max);
                sum *= rescale;
                for (var c = 0u; c < DV; c++) { acc[c] *= rescale; }
                m = tile_max;
            }
            for (var j = 0u; j < TILE; j++) {
                if j < valid {
                    let p = exp(s[j] - m);
                    sum += p;
                    for (var c = 0u; c < DV; c++) { acc[c] = fma(p, values[j * DV + c], acc[c]); }
                }
            }
        }
    }
    if live {
        let row = bh * tq + i;
        var inverse = 0.0;
        var row_lse = bitcast<f32>(0xff800000u);
        if sum > 0.0 {
            inverse = 1.0 / sum;
            row_lse = m + log(sum);
        }
        for (var c = 0u; c < DV; c++) { out[row * DV + c] = acc[c] * inverse; }
        lse_out[row] = row_lse;
    }
"#;

/// Per query row: its log-sum-exp (from the strided `lse` view) and `rowsum(dO ⊙ O)`, as one
/// contiguous pair, read by both backward passes.
const ROW_STATS: &str = r#"
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.x + gid.y * groups.x * 64u;
    let tq = info_u(2u);
    if row >= info_u(0u) * info_u(1u) * tq { return; }
    let t = row % tq;
    let bh = row / tq;
    let b = bh / info_u(1u);
    let h = bh % info_u(1u);
    var delta = 0.0;
    for (var c = 0u; c < DV; c++) { delta = fma(grad[at(4u, b, h, t, c)], out[at(3u, b, h, t, c)], delta); }
    stats[2u * row] = lse[lse_at(b, h, t)];
    stats[2u * row + 1u] = delta;
}
"#;

/// `dQ` per query row over the key tiles it sees: `dS = P ⊙ (dO Vᵀ - D)` with `P` recomputed
/// from the log-sum-exp, `dQ = scale · dS K`.
const GRAD_Q: &str = r#"
    var g: array<f32, DV>;
    var dq: array<f32, D>;
    var row_lse = 0.0;
    var delta = 0.0;
    if live {
        for (var c = 0u; c < DV; c++) { g[c] = grad[at(4u, b, h, i, c)]; }
        row_lse = stats[2u * (bh * tq + i)];
        delta = stats[2u * (bh * tq + i) + 1u];
    }
    for (var j0 = 0u; j0 < block_end; j0 += TILE) {
        let width = min(TILE, block_end - j0);
STAGE_KEYS
        let valid = min(end - min(end, j0), width);
        for (var j = 0u; j < TILE; j++) {
            if j < valid {
                var dot = 0.0;
                var dp = 0.0;
                for (var c = 0u; c < D; c++) { dot = fma(q[c], keys[j * D + c], dot); }
                for (var c = 0u; c < DV; c++) { dp = fma(g[c], values[j * DV + c], dp); }
                let ds = exp(dot - row_lse) * (dp - delta);
                for (var c = 0u; c < D; c++) { dq[c] = fma(ds, keys[j * D + c], dq[c]); }
            }
        }
    }
    if live {
        let row = bh * tq + i;
        for (var c = 0u; c < D; c++) { grad_q[row * D + c] = dq[c] * scale(); }
    }
"#;

/// `dK` and `dV` per key over the tiles of query rows that see its block: `dV = Pᵀ dO`,
/// `dK = scale · dSᵀ Q` (the staged queries carry the scale). Tiles whose last row sees no key
/// of the block are skipped by every thread alike.
const GRAD_KV: &str = r#"
    let j = first + lid;
    let live = j < tk;
    var kr: array<f32, D>;
    var vr: array<f32, DV>;
    var dk: array<f32, D>;
    var dv: array<f32, DV>;
    if live {
        for (var c = 0u; c < D; c++) { kr[c] = k[at(1u, b, h, j, c)]; }
        for (var c = 0u; c < DV; c++) { vr[c] = v[at(2u, b, h, j, c)]; }
    }
    for (var i0 = 0u; i0 < tq; i0 += TILE) {
        let height = min(TILE, tq - i0);
        if visible(b, i0 + height - 1u) <= first { continue; }
        workgroupBarrier();
        for (var e = lid; e < height * D; e += 64u) { queries[e] = qs[at(0u, b, h, i0 + e / D, e % D)] * scale(); }
        for (var e = lid; e < height * DV; e += 64u) { grads[e] = grad[at(4u, b, h, i0 + e / DV, e % DV)]; }
        for (var r = lid; r < height; r += 64u) {
            row_lse[r] = stats[2u * (bh * tq + i0 + r)];
            row_delta[r] = stats[2u * (bh * tq + i0 + r) + 1u];
            row_end[r] = visible(b, i0 + r);
        }
        workgroupBarrier();
        for (var r = 0u; r < TILE; r++) {
            if r < height && j < row_end[r] {
                var dot = 0.0;
                var dp = 0.0;
                for (var c = 0u; c < D; c++) { dot = fma(queries[r * D + c], kr[c], dot); }
                for (var c = 0u; c < DV; c++) { dp = fma(grads[r * DV + c], vr[c], dp); }
                let p = exp(dot - row_lse[r]);
                for (var c = 0u; c < DV; c++) { dv[c] = fma(p, grads[r * DV + c], dv[c]); }
                let ds = p * (dp - row_delta[r]);
                for (var c = 0u; c < D; c++) { dk[c] = fma(ds, queries[r * D + c], dk[c]); }
            }
        }
    }
    if live {
        let key = bh * tk + j;
        for (var c = 0u; c < D; c++) { grad_k[key * D + c] = dk[c]; }
        for (var c = 0u; c < DV; c++) { grad_v[key * DV + c] = dv[c]; }
    }
"#;

/// Storage bindings from 1 in order: `(name, writable, element type)`.
fn bindings(list: &[(&str, bool)]) -> String {
    list.iter()
        .enumerate()
        .map(|(i, (name, writable))| {
            let access = if *writable { "read_write" } else { "read" };
            format!("@group(0) @binding({}) var<storage, {access}> {name}: array<f32>;\n", i + 1)
        })
        .collect()
}

/// The module: constants, bindings, helpers, workgroup tiles, then the entry and body.
fn module(w: Widths, list: &[(&str, bool)], shared: &str, entry: &str, body: &str) -> String {
    let constants = format!("const D: u32 = {}u;\nconst DV: u32 = {}u;\nconst TILE: u32 = {}u;\n", w.d, w.dv, w.tile);
    let body = body.replace("STAGE_KEYS\n", STAGE_KEYS);
    format!("{PRELUDE}{constants}{}{COMMON}{shared}{entry}{body}}}\n", bindings(list))
}

/// Workgroup tiles of keys and values (forward, `dQ`).
fn key_tiles(w: Widths) -> String {
    format!(
        "var<workgroup> keys: array<f32, {}>;\nvar<workgroup> values: array<f32, {}>;\n",
        w.tile * w.d,
        w.tile * w.dv
    )
}

/// The forward kernel: writes `out` and `lse_out`.
pub(super) fn forward(w: Widths) -> String {
    let list = [("out", true), ("lse_out", true), ("qs", false), ("k", false), ("v", false)];
    module(w, &list, &key_tiles(w), BLOCK_ENTRY, &format!("{QUERY_ROW}{FORWARD}"))
}

/// The per-row statistics of the backward: `(lse, delta)` pairs in `stats`.
pub(super) fn row_stats(w: Widths) -> String {
    let list = [("stats", true), ("lse", false), ("out", false), ("grad", false)];
    let constants = format!("const DV: u32 = {}u;\n", w.dv);
    format!("{PRELUDE}{constants}{}{COMMON}{ROW_STATS}", bindings(&list))
}

/// The backward's `dQ` pass.
pub(super) fn grad_q(w: Widths) -> String {
    let list = [("grad_q", true), ("qs", false), ("k", false), ("v", false), ("grad", false), ("stats", false)];
    module(w, &list, &key_tiles(w), BLOCK_ENTRY, &format!("{QUERY_ROW}{GRAD_Q}"))
}

/// The backward's `dK`/`dV` pass.
pub(super) fn grad_kv(w: Widths) -> String {
    let list = [
        ("grad_k", true),
        ("grad_v", true),
        ("qs", false),
        ("k", false),
        ("v", false),
        ("grad", false),
        ("stats", false),
    ];
    let shared = format!(
        "var<workgroup> queries: array<f32, {}>;\nvar<workgroup> grads: array<f32, {}>;\n\
         var<workgroup> row_lse: array<f32, {t}>;\nvar<workgroup> row_delta: array<f32, {t}>;\n\
         var<workgroup> row_end: array<u32, {t}>;\n",
        w.tile * w.d,
        w.tile * w.dv,
        t = w.tile
    );
    module(w, &list, &shared, BLOCK_ENTRY, GRAD_KV)
}

/// Floats of workgroup memory per staged row: the forward and `dQ` stage a key and its value;
/// `dK`/`dV` a query row, its output gradient and three per-row words.
pub(super) fn floats_per_tile_row(w: Widths) -> usize {
    w.d + w.dv + 3
}
