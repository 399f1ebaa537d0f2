//! The WGSL of the attention kernels, specialised per head widths `D` (queries and keys) and
//! `DV` (values) and per staged tile height: every per-row vector is a fixed-size private array
//! of `vec4`s (`D4 = ceil(D / 4)` of them, zero-padded), and the loops over a row run to those
//! constants, four lanes at a time.
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

/// Stages keys `j0 .. j0 + width` and their values in `keys` and `values`, four elements to a
/// `vec4` (between barriers, which every thread of the block reaches: `width` is the same for
/// all of them).
const STAGE_KEYS: &str = r#"
        workgroupBarrier();
        for (var e = lid; e < width * D4; e += 64u) { keys[e] = load_k(b, h, j0 + e / D4, 4u * (e % D4)); }
        for (var e = lid; e < width * DV4; e += 64u) { values[e] = load_v(b, h, j0 + e / DV4, 4u * (e % DV4)); }
        workgroupBarrier();
"#;

/// Per query row (one thread each): its scaled query in `q`, its key count `end`. The block's
/// last row sees the most keys (key counts never fall down the rows), so the block walks the
/// key tiles up to its `block_end`.
const QUERY_ROW: &str = r#"
    let i = first + lid;
    let live = i < tq;
    var end = 0u;
    var q: array<vec4<f32>, D4>;
    if live {
        end = visible(b, i);
        for (var c = 0u; c < D4; c++) { q[c] = load_q(b, h, i, 4u * c) * scale(); }
    }
    let block_end = visible(b, min(first + 63u, tq - 1u));
"#;

/// Forward: the online softmax, one key at a time. A key that raises the row's maximum
/// rescales the sum and the accumulated output to it (rarely, after the first few keys).
const FORWARD: &str = r#"
    var acc: array<vec4<f32>, DV4>;
    var m = bitcast<f32>(0xff800000u);
    var sum = 0.0;
    for (var j0 = 0u; j0 < block_end; j0 += TILE) {
        let width = min(TILE, block_end - j0);
STAGE_KEYS
        let valid = min(end - min(end, j0), width);
        for (var j = 0u; j < valid; j++) {
            var dot4 = vec4<f32>();
            for (var c = 0u; c < D4; c++) { dot4 = fma(q[c], keys[j * D4 + c], dot4); }
            let s = dot4.x + dot4.y + dot4.z + dot4.w;
            if s > m {
                let rescale = exp(m - s);
                sum *= rescale;
                for (var c = 0u; c < DV4; c++) { acc[c] *= rescale; }
                m = s;
            }
            let p = exp(s - m);
            sum += p;
            for (var c = 0u; c < DV4; c++) { acc[c] = fma(vec4<f32>(p), values[j * DV4 + c], acc[c]); }
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
        for (var c = 0u; c < DV4; c++) { store_out(row, 4u * c, acc[c] * inverse); }
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
    var g: array<vec4<f32>, DV4>;
    var dq: array<vec4<f32>, D4>;
    var row_lse = 0.0;
    var delta = 0.0;
    if live {
        for (var c = 0u; c < DV4; c++) { g[c] = load_grad(b, h, i, 4u * c); }
        row_lse = stats[2u * (bh * tq + i)];
        delta = stats[2u * (bh * tq + i) + 1u];
    }
    for (var j0 = 0u; j0 < block_end; j0 += TILE) {
        let width = min(TILE, block_end - j0);
STAGE_KEYS
        let valid = min(end - min(end, j0), width);
        for (var j = 0u; j < valid; j++) {
            var dot4 = vec4<f32>();
            var dp4 = vec4<f32>();
            for (var c = 0u; c < D4; c++) { dot4 = fma(q[c], keys[j * D4 + c], dot4); }
            for (var c = 0u; c < DV4; c++) { dp4 = fma(g[c], values[j * DV4 + c], dp4); }
            let s = dot4.x + dot4.y + dot4.z + dot4.w;
            let dp = dp4.x + dp4.y + dp4.z + dp4.w;
            let ds = vec4<f32>(exp(s - row_lse) * (dp - delta));
            for (var c = 0u; c < D4; c++) { dq[c] = fma(ds, keys[j * D4 + c], dq[c]); }
        }
    }
    if live {
        for (var c = 0u; c < D4; c++) { store_grad_q(bh * tq + i, 4u * c, dq[c] * scale()); }
    }
"#;

/// `dK` and `dV` per key over the tiles of query rows that see its block: `dV = Pᵀ dO`,
/// `dK = scale · dSᵀ Q` (the staged queries carry the scale). Tiles whose last row sees no key
/// of the block are skipped by every thread alike.
const GRAD_KV: &str = r#"
    let j = first + lid;
    let live = j < tk;
    var kr: array<vec4<f32>, D4>;
    var vr: array<vec4<f32>, DV4>;
    var dk: array<vec4<f32>, D4>;
    var dv: array<vec4<f32>, DV4>;
    if live {
        for (var c = 0u; c < D4; c++) { kr[c] = load_k(b, h, j, 4u * c); }
        for (var c = 0u; c < DV4; c++) { vr[c] = load_v(b, h, j, 4u * c); }
    }
    for (var i0 = 0u; i0 < tq; i0 += TILE) {
        let height = min(TILE, tq - i0);
        if visible(b, i0 + height - 1u) <= first { continue; }
        workgroupBarrier();
        for (var e = lid; e < height * D4; e += 64u) { queries[e] = load_q(b, h, i0 + e / D4, 4u * (e % D4)) * scale(); }
        for (var e = lid; e < height * DV4; e += 64u) { grads[e] = load_grad(b, h, i0 + e / DV4, 4u * (e % DV4)); }
        for (var r = lid; r < height; r += 64u) {
            row_lse[r] = stats[2u * (bh * tq + i0 + r)];
            row_delta[r] = stats[2u * (bh * tq + i0 + r) + 1u];
            row_end[r] = visible(b, i0 + r);
        }
        workgroupBarrier();
        if live {
            for (var r = 0u; r < height; r++) {
                if j >= row_end[r] { continue; }
                var dot4 = vec4<f32>();
                var dp4 = vec4<f32>();
                for (var c = 0u; c < D4; c++) { dot4 = fma(queries[r * D4 + c], kr[c], dot4); }
                for (var c = 0u; c < DV4; c++) { dp4 = fma(grads[r * DV4 + c], vr[c], dp4); }
                let p = exp(dot4.x + dot4.y + dot4.z + dot4.w - row_lse[r]);
                let dp = dp4.x + dp4.y + dp4.z + dp4.w;
                for (var c = 0u; c < DV4; c++) { dv[c] = fma(vec4<f32>(p), grads[r * DV4 + c], dv[c]); }
                let ds = vec4<f32>(p * (dp - row_delta[r]));
                for (var c = 0u; c < D4; c++) { dk[c] = fma(ds, queries[r * D4 + c], dk[c]); }
            }
        }
    }
    if live {
        for (var c = 0u; c < D4; c++) { store_grad_k(bh * tk + j, 4u * c, dk[c]); }
        for (var c = 0u; c < DV4; c++) { store_grad_v(bh * tk + j, 4u * c, dv[c]); }
    }
"#;

/// A reader of four consecutive elements `c0 ..` of row `t` of operand `k` (bound as `var`)
/// as a `vec4`, zeros past the row's `width` elements.
fn loader(name: &str, var: &str, k: u32, width: &str) -> String {
    format!(
        "fn {name}(b: u32, h: u32, t: u32, c0: u32) -> vec4<f32> {{\n\
         \x20   var x = vec4<f32>();\n\
         \x20   for (var c = 0u; c < 4u; c++) {{ if c0 + c < {width} {{ x[c] = {var}[at({k}u, b, h, t, c0 + c)]; }} }}\n\
         \x20   return x;\n}}\n"
    )
}

/// A writer of four consecutive elements `c0 ..` of row `row` of the contiguous output `var`
/// (`width` wide), dropping those past the row.
fn storer(name: &str, var: &str, width: &str) -> String {
    format!(
        "fn {name}(row: u32, c0: u32, x: vec4<f32>) {{\n\
         \x20   for (var c = 0u; c < 4u; c++) {{ if c0 + c < {width} {{ {var}[row * {width} + c0 + c] = x[c]; }} }}\n}}\n"
    )
}

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

/// The module: constants, bindings, helpers (`io`: the kernel's loaders and storers),
/// workgroup tiles, then the entry and body.
fn module(w: Widths, list: &[(&str, bool)], io: &[String], shared: &str, body: &str) -> String {
    let constants = format!(
        "const D: u32 = {}u;\nconst DV: u32 = {}u;\nconst D4: u32 = {}u;\nconst DV4: u32 = {}u;\nconst TILE: u32 = {}u;\n",
        w.d,
        w.dv,
        w.d.div_ceil(4),
        w.dv.div_ceil(4),
        w.tile
    );
    let body = unroll(&body.replace("STAGE_KEYS\n", STAGE_KEYS), w);
    format!("{PRELUDE}{constants}{}{COMMON}{}{shared}{BLOCK_ENTRY}{body}}}\n", bindings(list), io.concat())
}

/// Writes out every one-line loop `for (var c = 0u; c < D4; c++) { body }` (or `DV4`) as its
/// `D4` copies of `body` with `c` replaced by each index. The loop is valid WGSL either way; the
/// copies index the private arrays with constants, which a compiler that would not unroll the
/// loop itself (Mesa's lavapipe keeps such arrays in memory) can keep in registers.
fn unroll(source: &str, w: Widths) -> String {
    let mut out = String::with_capacity(source.len() * 4);
    for line in source.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let count = [("D4", w.d.div_ceil(4)), ("DV4", w.dv.div_ceil(4))].into_iter().find_map(|(name, n)| {
            let body = trimmed.strip_prefix(&format!("for (var c = 0u; c < {name}; c++) {{ "))?.strip_suffix(" }")?;
            Some((body, n))
        });
        match count {
            Some((body, n)) => (0..n).for_each(|k| {
                out.push_str(indent);
                out.push_str(&replace_ident(body, "c", &format!("{k}u")));
                out.push('\n');
            }),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// `text` with every whole identifier `name` replaced by `with`.
fn replace_ident(text: &str, name: &str, with: &str) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        out.push_str(&rest[..at]);
        let before = out.chars().next_back();
        let after = rest[at + name.len()..].chars().next();
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            out.push_str(name);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// The readers of the three inputs, which every block kernel stages.
fn input_loaders() -> [String; 3] {
    [loader("load_q", "qs", 0, "D"), loader("load_k", "k", 1, "D"), loader("load_v", "v", 2, "DV")]
}

/// Workgroup tiles of keys and values (forward, `dQ`).
fn key_tiles(w: Widths) -> String {
    format!(
        "var<workgroup> keys: array<vec4<f32>, {}>;\nvar<workgroup> values: array<vec4<f32>, {}>;\n",
        w.tile * w.d.div_ceil(4),
        w.tile * w.dv.div_ceil(4)
    )
}

/// The forward kernel: writes `out` and `lse_out`.
pub(super) fn forward(w: Widths) -> String {
    let list = [("out", true), ("lse_out", true), ("qs", false), ("k", false), ("v", false)];
    let io = [input_loaders().as_slice(), &[storer("store_out", "out", "DV")]].concat();
    module(w, &list, &io, &key_tiles(w), &format!("{QUERY_ROW}{FORWARD}"))
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
    let extra = [loader("load_grad", "grad", 4, "DV"), storer("store_grad_q", "grad_q", "D")];
    let io = [input_loaders().as_slice(), &extra].concat();
    module(w, &list, &io, &key_tiles(w), &format!("{QUERY_ROW}{GRAD_Q}"))
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
    let extra = [
        loader("load_grad", "grad", 4, "DV"),
        storer("store_grad_k", "grad_k", "D"),
        storer("store_grad_v", "grad_v", "DV"),
    ];
    let io = [input_loaders().as_slice(), &extra].concat();
    let shared = format!(
        "var<workgroup> queries: array<vec4<f32>, {}>;\nvar<workgroup> grads: array<vec4<f32>, {}>;\n\
         var<workgroup> row_lse: array<f32, {t}>;\nvar<workgroup> row_delta: array<f32, {t}>;\n\
         var<workgroup> row_end: array<u32, {t}>;\n",
        w.tile * w.d.div_ceil(4),
        w.tile * w.dv.div_ceil(4),
        t = w.tile
    );
    module(w, &list, &io, &shared, GRAD_KV)
}

/// Floats of workgroup memory per staged row: the forward and `dQ` stage a key and its value;
/// `dK`/`dV` a query row, its output gradient and three per-row words (widths padded to `vec4`s).
pub(super) fn floats_per_tile_row(w: Widths) -> usize {
    4 * (w.d.div_ceil(4) + w.dv.div_ceil(4)) + 3
}
