//! Reductions as workgroup tree reductions: one workgroup of 64 threads per output row, each
//! thread folding a strided slice of the row, then a tree over workgroup memory. Short rows use
//! one thread per row instead. The view is permuted so the reduced axes come last; the row of
//! output `o` is then the logical elements `o·count .. (o+1)·count`.

use tensor_core::{ArgReduceOp, DType, Layout, ReduceOp, Result, Storage};

use crate::GpuDevice;
use crate::context::groups_for;
use crate::shader::{FLOAT_MATH, PRELUDE, ViewInfo, binding, element_kernel_with, word};
use crate::storage::{buffer_of, check_dtype, wgsl_type};

/// Rows at most this long are reduced by one thread each.
const SHORT_ROW: usize = 16;

/// The identity and the combining expression (of `a` and `b`) of a reduction.
fn reduce_parts(op: ReduceOp, dtype: DType) -> (&'static str, &'static str) {
    match (op, dtype) {
        (ReduceOp::Sum, DType::F32) => ("0.0", "a + b"),
        (ReduceOp::Max, DType::F32) => {
            ("bitcast<f32>(0xff800000u)", "select(max(a, b), a + b, is_nan(a) || is_nan(b))")
        }
        (ReduceOp::Min, DType::F32) => {
            ("bitcast<f32>(0x7f800000u)", "select(min(a, b), a + b, is_nan(a) || is_nan(b))")
        }
        (ReduceOp::Sum, _) => ("0li", "a + b"),
        (ReduceOp::Max, _) => ("(-9223372036854775807li - 1li)", "select(b, a, a > b)"),
        (ReduceOp::Min, _) => ("9223372036854775807li", "select(b, a, a < b)"),
    }
}

/// The layout with `axes` moved last (in order), the number of rows and the row length.
fn rows_last(layout: &Layout, axes: &[usize]) -> (Layout, usize, usize) {
    let mut order: Vec<usize> = (0..layout.rank()).filter(|a| !axes.contains(a)).collect();
    order.extend_from_slice(axes);
    let permuted = layout.permute(&order).expect("a permutation of the axes");
    let count: usize = axes.iter().map(|&a| layout.dims()[a]).product();
    let rows = (0..layout.rank()).filter(|a| !axes.contains(a)).map(|a| layout.dims()[a]).product();
    (permuted, rows, count)
}

/// The entry of a workgroup-per-row kernel: binds `row`, `lid` and `count` (info slot 2).
const ROW_ENTRY: &str = r#"
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = wid.x + wid.y * groups.x;
    let count = info_u(2u);
    if row >= info_u(0u) { return; }
"#;

/// A workgroup-per-row kernel: prelude, float helpers, bindings, `shared` declarations, the
/// row entry and `body`.
pub(crate) fn row_kernel(bindings: &[String], shared: &str, body: &str) -> String {
    format!("{PRELUDE}{FLOAT_MATH}{}{shared}{ROW_ENTRY}{body}\n}}\n", bindings.concat())
}

/// `info` for a row kernel: `rows` rows of `count` over the permuted view (and more views).
fn row_info(permuted: &Layout, rows: usize) -> ViewInfo {
    ViewInfo::new(permuted.dims(), &[]).with_word(0, word(rows)).view(permuted)
}

impl GpuDevice {
    pub(crate) fn reduce_op(&self, op: ReduceOp, x: &Storage, layout: &Layout, axes: &[usize]) -> Result<Storage> {
        let dtype = x.dtype();
        check_dtype("reduce", dtype)?;
        let (permuted, rows, count) = rows_last(layout, axes);
        let (identity, combine) = reduce_parts(op, dtype);
        let t = wgsl_type(dtype);
        let combine_fn = format!("fn combine(a: {t}, b: {t}) -> {t} {{ return {combine}; }}\n");
        let bindings = [binding(1, "out", dtype, true), binding(2, "src", dtype, false)];
        let pipeline = if count <= SHORT_ROW {
            self.gpu.pipeline(&format!("reduce_short:{op:?}:{dtype}"), || {
                let body = format!(
                    "let count = info_u(2u);\nvar acc = {identity};\n\
                     for (var r = 0u; r < count; r++) {{ acc = combine(acc, src[view_index(i * count + r, 0u)]); }}\n\
                     out[i] = acc;"
                );
                element_kernel_with(&bindings, &combine_fn, &body)
            })
        } else {
            self.gpu.pipeline(&format!("reduce_tree:{op:?}:{dtype}"), || {
                let shared = format!("var<workgroup> partial: array<{t}, 64>;\n{combine_fn}");
                let body = format!(
                    "var acc = {identity};\n\
                     for (var r = lid; r < count; r += 64u) {{ acc = combine(acc, src[view_index(row * count + r, 0u)]); }}\n\
                     partial[lid] = acc;\nworkgroupBarrier();\n\
                     for (var s = 32u; s > 0u; s >>= 1u) {{\n\
                         if lid < s {{ partial[lid] = combine(partial[lid], partial[lid + s]); }}\n\
                         workgroupBarrier();\n\
                     }}\n\
                     if lid == 0u {{ out[row] = partial[0]; }}"
                );
                row_kernel(&bindings, &shared, &body)
            })
        };
        let out = self.alloc(dtype, rows)?;
        let info = row_info(&permuted, rows).with_word(2, word(count));
        let groups = if count <= SHORT_ROW { groups_for(rows) } else { word(rows) as u32 };
        self.gpu.dispatch(&pipeline, info.words(), &[&buffer_of(&out).buffer, &buffer_of(x).buffer], groups);
        Ok(out)
    }

    pub(crate) fn arg_reduce_op(&self, op: ArgReduceOp, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        let dtype = x.dtype();
        check_dtype("arg_reduce", dtype)?;
        let (permuted, rows, count) = rows_last(layout, &[axis]);
        let t = wgsl_type(dtype);
        let cmp = if op == ArgReduceOp::ArgMax { ">" } else { "<" };
        let nan_first =
            if dtype == DType::F32 { "if is_nan(bv) { return true; } if is_nan(av) { return false; }" } else { "" };
        let pipeline = self.gpu.pipeline(&format!("arg_reduce:{op:?}:{dtype}"), || {
            let shared = format!(
                "var<workgroup> best_value: array<{t}, 64>;\nvar<workgroup> best_index: array<u32, 64>;\n\
                 // Whether (bv, bi) beats (av, ai): a NaN wins, then the extreme value, then the first index.\n\
                 fn beats(av: {t}, ai: u32, bv: {t}, bi: u32) -> bool {{\n\
                     if bi >= 0xffffffffu {{ return false; }}\n\
                     if ai >= 0xffffffffu {{ return true; }}\n\
                     if is_nan_value(av) && is_nan_value(bv) {{ return bi < ai; }}\n\
                     {nan_first}\n\
                     if bv {cmp} av {{ return true; }}\n\
                     if av {cmp} bv {{ return false; }}\n\
                     return bi < ai;\n\
                 }}\n\
                 fn is_nan_value(v: {t}) -> bool {{ return !(v == v); }}\n"
            );
            let body = format!(
                "var bv = {t}(0);\nvar bi = 0xffffffffu;\n\
                 for (var r = lid; r < count; r += 64u) {{\n\
                     let v = src[view_index(row * count + r, 0u)];\n\
                     if beats(bv, bi, v, r) {{ bv = v; bi = r; }}\n\
                 }}\n\
                 best_value[lid] = bv;\nbest_index[lid] = bi;\nworkgroupBarrier();\n\
                 for (var s = 32u; s > 0u; s >>= 1u) {{\n\
                     if lid < s && beats(best_value[lid], best_index[lid], best_value[lid + s], best_index[lid + s]) {{\n\
                         best_value[lid] = best_value[lid + s];\n\
                         best_index[lid] = best_index[lid + s];\n\
                     }}\n\
                     workgroupBarrier();\n\
                 }}\n\
                 if lid == 0u {{ out[row] = i64(best_index[0]); }}"
            );
            row_kernel(&[binding(1, "out", DType::I64, true), binding(2, "src", dtype, false)], &shared, &body)
        });
        let out = self.alloc(DType::I64, rows)?;
        let info = row_info(&permuted, rows).with_word(2, word(count));
        self.gpu.dispatch(&pipeline, info.words(), &[&buffer_of(&out).buffer, &buffer_of(x).buffer], word(rows) as u32);
        Ok(out)
    }

    /// Softmax (or log-softmax) along `axis`: one workgroup per lane finds the maximum, sums
    /// `exp(x - max)` and writes every element of the lane.
    pub(crate) fn softmax_op(&self, x: &Storage, layout: &Layout, axis: usize, log: bool) -> Result<Storage> {
        check_dtype("softmax", x.dtype())?;
        let (permuted, rows, count) = rows_last(layout, &[axis]);
        let out_permuted =
            Layout::contiguous(layout.dims()).permute(&permutation_last(layout.rank(), axis)).expect("perm");
        let write = if log { "v - m - log(total)" } else { "exp(v - m) / total" };
        let pipeline = self.gpu.pipeline(&format!("softmax:{log}"), || {
            let shared = "var<workgroup> partial: array<f32, 64>;\n\
                          fn max_nan(a: f32, b: f32) -> f32 { return select(max(a, b), a + b, is_nan(a) || is_nan(b)); }\n";
            let body = format!(
                "var m = bitcast<f32>(0xff800000u);\n\
                 for (var r = lid; r < count; r += 64u) {{ m = max_nan(m, src[view_index(row * count + r, 0u)]); }}\n\
                 partial[lid] = m;\nworkgroupBarrier();\n\
                 for (var s = 32u; s > 0u; s >>= 1u) {{\n\
                     if lid < s {{ partial[lid] = max_nan(partial[lid], partial[lid + s]); }}\n\
                     workgroupBarrier();\n\
                 }}\n\
                 m = partial[0];\nworkgroupBarrier();\n\
                 var sum = 0.0;\n\
                 for (var r = lid; r < count; r += 64u) {{ sum += exp(src[view_index(row * count + r, 0u)] - m); }}\n\
                 partial[lid] = sum;\nworkgroupBarrier();\n\
                 for (var s = 32u; s > 0u; s >>= 1u) {{\n\
                     if lid < s {{ partial[lid] = partial[lid] + partial[lid + s]; }}\n\
                     workgroupBarrier();\n\
                 }}\n\
                 let total = partial[0];\n\
                 for (var r = lid; r < count; r += 64u) {{\n\
                     let v = src[view_index(row * count + r, 0u)];\n\
                     out[view_index(row * count + r, 1u)] = {write};\n\
                 }}"
            );
            row_kernel(&[binding(1, "out", DType::F32, true), binding(2, "src", DType::F32, false)], shared, &body)
        });
        let out = self.alloc(DType::F32, layout.numel())?;
        let info = row_info(&permuted, rows).with_word(2, word(count)).view(&out_permuted);
        self.gpu.dispatch(&pipeline, info.words(), &[&buffer_of(&out).buffer, &buffer_of(x).buffer], word(rows) as u32);
        Ok(out)
    }
}

/// The axis order that moves `axis` last.
fn permutation_last(rank: usize, axis: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rank).filter(|&a| a != axis).collect();
    order.push(axis);
    order
}
