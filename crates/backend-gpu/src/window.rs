//! Sliding-window kernels (im2col, col2im, pooling) and the convolutions built on them: a
//! convolution is one unfold and one batched matmul over (sample, group), with the weight
//! broadcast over samples; its gradients are a batched matmul and a fold, or a batched matmul
//! and a sum over samples.

use tensor_core::{BinaryOp, ConvPlan, ConvSpec, DType, Layout, ReduceOp, Result, Storage, Window2d};

use crate::GpuDevice;
use crate::context::groups_for;
use crate::shader::{binding, element_kernel_with, offset_word, stride_words, word};
use crate::storage::{buffer_of, check_dtype};

/// Readers of the window geometry in `info` (see [`geometry`]).
const GEOMETRY: &str = r#"
fn geo(k: u32) -> u32 { return info_u(6u + k); }
fn at4(n: u32, c: u32, y: u32, x: u32) -> u32 {
    return u32(info[20] + i32(n) * info[21] + i32(c) * info[22] + i32(y) * info[23] + i32(x) * info[24]);
}
fn at3(n: u32, r: u32, l: u32) -> u32 {
    return u32(info[20] + i32(n) * info[21] + i32(r) * info[22] + i32(l) * info[23]);
}
fn in_y(o: u32, k: u32) -> i32 { return i32(o * geo(6u) + k * geo(10u)) - i32(geo(8u)); }
fn in_x(o: u32, k: u32) -> i32 { return i32(o * geo(7u) + k * geo(11u)) - i32(geo(9u)); }
fn inside(y: i32, x: i32) -> bool { return y >= 0 && y < i32(geo(2u)) && x >= 0 && x < i32(geo(3u)); }
"#;

const UNFOLD: &str = r#"
    let taps = geo(4u) * geo(5u);
    let positions = geo(12u) * geo(13u);
    let l = i % positions;
    let row = (i / positions) % (geo(1u) * taps);
    let n = i / (positions * geo(1u) * taps);
    let tap = row % taps;
    let y = in_y(l / geo(13u), tap / geo(5u));
    let x = in_x(l % geo(13u), tap % geo(5u));
    var v = param(0u);
    if inside(y, x) { v = src[at4(n, row / taps, u32(y), u32(x))]; }
    out[i] = v;
"#;

const FOLD: &str = r#"
    let xx = i % geo(3u);
    let yy = (i / geo(3u)) % geo(2u);
    let c = (i / (geo(3u) * geo(2u))) % geo(1u);
    let n = i / (geo(3u) * geo(2u) * geo(1u));
    var acc = 0.0;
    for (var ky = 0u; ky < geo(4u); ky++) {
        let ty = i32(yy + geo(8u)) - i32(ky * geo(10u));
        if ty < 0 || ty % i32(geo(6u)) != 0 || u32(ty) / geo(6u) >= geo(12u) { continue; }
        let oy = u32(ty) / geo(6u);
        for (var kx = 0u; kx < geo(5u); kx++) {
            let tx = i32(xx + geo(9u)) - i32(kx * geo(11u));
            if tx < 0 || tx % i32(geo(7u)) != 0 || u32(tx) / geo(7u) >= geo(13u) { continue; }
            let ox = u32(tx) / geo(7u);
            let row = c * geo(4u) * geo(5u) + ky * geo(5u) + kx;
            acc += src[at3(n, row, oy * geo(13u) + ox)];
        }
    }
    out[i] = acc;
"#;

/// Max pooling (values and plane positions, first maximum wins, NaN counts as the maximum)
/// and average pooling (padding counts as zeros).
const POOL: &str = r#"
    let ox = i % geo(13u);
    let oy = (i / geo(13u)) % geo(12u);
    let c = (i / (geo(13u) * geo(12u))) % geo(1u);
    let n = i / (geo(13u) * geo(12u) * geo(1u));
    var best = 0.0;
    var best_at = -1;
    var sum = 0.0;
    for (var ky = 0u; ky < geo(4u); ky++) {
        for (var kx = 0u; kx < geo(5u); kx++) {
            let y = in_y(oy, ky);
            let x = in_x(ox, kx);
            var v = bitcast<f32>(0xff800000u);
            var at = -1;
            if inside(y, x) {
                v = src[at4(n, c, u32(y), u32(x))];
                at = y * i32(geo(3u)) + x;
                sum += v;
            }
            let first = ky == 0u && kx == 0u;
            if first || (!is_nan(best) && (is_nan(v) || v > best)) {
                best = v;
                best_at = at;
            }
        }
    }
    POOL_WRITE
"#;

/// `info` for a window op: `[numel, 0, 4 params, N, C, H, W, kh, kw, sy, sx, py, px, dy, dx,
/// OH, OW, operand offset, operand strides]`.
fn geometry(
    numel: usize,
    param: f64,
    input: [usize; 4],
    window: &Window2d,
    out: [usize; 2],
    operand: &Layout,
) -> Vec<i32> {
    let mut words = vec![word(numel), 0, (param as f32).to_bits() as i32, 0, 0, 0];
    words.extend(input.iter().map(|&d| word(d)));
    words.extend([window.kernel, window.stride, window.padding, window.dilation].iter().flat_map(|p| p.map(word)));
    words.extend(out.map(word));
    words.push(offset_word(operand));
    words.extend(stride_words(operand));
    words
}

fn window_kernel(outputs: &[String], body: &str) -> String {
    let mut bindings = outputs.to_vec();
    bindings.push(binding(outputs.len() as u32 + 1, "src", DType::F32, false));
    element_kernel_with(&bindings, GEOMETRY, body)
}

/// A view of a contiguous `[N, G·rows, cols]` buffer as `[N, G, rows, cols]`.
fn grouped(n: usize, groups: usize, rows: usize, cols: usize) -> Layout {
    Layout::contiguous([n, groups, rows, cols])
}

impl GpuDevice {
    pub(crate) fn unfold_op(&self, x: &Storage, layout: &Layout, window: &Window2d, pad_value: f64) -> Result<Storage> {
        check_dtype("unfold", x.dtype())?;
        let d = layout.dims();
        let out_hw = window.output_size("unfold", [d[2], d[3]])?;
        let numel = d[0] * d[1] * window.taps() * out_hw[0] * out_hw[1];
        let pipeline = self.gpu.pipeline("unfold", || window_kernel(&[binding(1, "out", DType::F32, true)], UNFOLD));
        let out = self.alloc(DType::F32, numel)?;
        let info = geometry(numel, pad_value, [d[0], d[1], d[2], d[3]], window, out_hw, layout);
        self.gpu.dispatch(&pipeline, &info, &[&buffer_of(&out).buffer, &buffer_of(x).buffer], groups_for(numel));
        Ok(out)
    }

    pub(crate) fn fold_op(
        &self,
        cols: &Storage,
        layout: &Layout,
        window: &Window2d,
        output: [usize; 2],
    ) -> Result<Storage> {
        check_dtype("fold", cols.dtype())?;
        let d = layout.dims();
        let channels = d[1] / window.taps();
        let out_hw = window.output_size("fold", output)?;
        let numel = d[0] * channels * output[0] * output[1];
        let pipeline = self.gpu.pipeline("fold", || window_kernel(&[binding(1, "out", DType::F32, true)], FOLD));
        let out = self.alloc(DType::F32, numel)?;
        let info = geometry(numel, 0.0, [d[0], channels, output[0], output[1]], window, out_hw, layout);
        self.gpu.dispatch(&pipeline, &info, &[&buffer_of(&out).buffer, &buffer_of(cols).buffer], groups_for(numel));
        Ok(out)
    }

    /// Max pooling (values and positions) or, with `average`, average pooling (values only).
    pub(crate) fn pool_op(
        &self,
        x: &Storage,
        layout: &Layout,
        window: &Window2d,
        average: bool,
    ) -> Result<(Storage, Option<Storage>)> {
        check_dtype("pool2d", x.dtype())?;
        let d = layout.dims();
        let out_hw = window.output_size("pool2d", [d[2], d[3]])?;
        let numel = d[0] * d[1] * out_hw[0] * out_hw[1];
        let out = self.alloc(DType::F32, numel)?;
        let info = geometry(numel, 1.0 / window.taps() as f64, [d[0], d[1], d[2], d[3]], window, out_hw, layout);
        if average {
            let pipeline = self.gpu.pipeline("avg_pool2d", || {
                window_kernel(
                    &[binding(1, "out", DType::F32, true)],
                    &POOL.replace("POOL_WRITE", "out[i] = sum * param(0u);"),
                )
            });
            self.gpu.dispatch(&pipeline, &info, &[&buffer_of(&out).buffer, &buffer_of(x).buffer], groups_for(numel));
            return Ok((out, None));
        }
        let pipeline = self.gpu.pipeline("max_pool2d", || {
            let outputs = [binding(1, "out", DType::F32, true), binding(2, "positions", DType::I64, true)];
            window_kernel(&outputs, &POOL.replace("POOL_WRITE", "out[i] = best;\n    positions[i] = i64(best_at);"))
        });
        let positions = self.alloc(DType::I64, numel)?;
        let buffers = [&buffer_of(&out).buffer, &buffer_of(&positions).buffer, &buffer_of(x).buffer];
        self.gpu.dispatch(&pipeline, &info, &buffers, groups_for(numel));
        Ok((out, Some(positions)))
    }

    /// A contiguous copy unless the view already is one (offset included).
    fn dense(&self, x: &Storage, layout: &Layout) -> Result<(Storage, Layout)> {
        if layout.is_contiguous() {
            return Ok((x.clone(), layout.clone()));
        }
        Ok((self.convert(x, layout, x.dtype())?, Layout::contiguous(layout.dims())))
    }

    /// `[N, O, OH, OW]` from `[N, C, H, W]`: unfold, then one batched matmul over (sample, group)
    /// with the weight `[G, O/G, C/G·taps]` broadcast over samples, then the bias.
    pub(crate) fn conv2d_op(
        &self,
        x: (&Storage, &Layout),
        weight: (&Storage, &Layout),
        bias: Option<(&Storage, &Layout)>,
        spec: &ConvSpec,
    ) -> Result<Storage> {
        let plan = spec.plan("conv2d", x.1.shape(), weight.1.shape())?;
        let (n, g, og, rows, l) = (plan.batch, plan.groups, plan.out_per_group, plan.group_rows(), plan.positions());
        let cols = self.unfold_op(x.0, x.1, &spec.window, 0.0)?;
        let (w, w_layout) = self.dense(weight.0, weight.1)?;
        let w_view =
            Layout::from_parts([n, g, og, rows], vec![0, (og * rows) as isize, rows as isize, 1], w_layout.offset())?;
        let out = self.matmul_op(&w, &w_view, &cols, &grouped(n, g, rows, l))?;
        let Some((b, b_layout)) = bias else { return Ok(out) };
        let out_layout = Layout::contiguous(plan.output_shape());
        let b_view = Layout::from_parts(out_layout.dims(), vec![0, b_layout.strides()[0], 0, 0], b_layout.offset())?;
        self.binary_op(BinaryOp::Add, &out, &out_layout, b, &b_view)
    }

    /// The output gradient as a dense `[N, G, O/G, L]` view.
    fn grad_by_group(&self, grad: &Storage, grad_layout: &Layout, plan: &ConvPlan) -> Result<(Storage, Layout)> {
        let (dense, layout) = self.dense(grad, grad_layout)?;
        let view = grouped(plan.batch, plan.groups, plan.out_per_group, plan.positions());
        Ok((dense, Layout::from_parts(view.dims(), view.strides().to_vec(), layout.offset())?))
    }

    pub(crate) fn conv2d_input_grad_op(
        &self,
        grad: (&Storage, &Layout),
        weight: (&Storage, &Layout),
        spec: &ConvSpec,
        plan: &ConvPlan,
    ) -> Result<Storage> {
        let (n, g, og, rows) = (plan.batch, plan.groups, plan.out_per_group, plan.group_rows());
        let (grad, grad_view) = self.grad_by_group(grad.0, grad.1, plan)?;
        let (w, w_layout) = self.dense(weight.0, weight.1)?;
        // The weight transposed per group: [N, G, rows, O/G], broadcast over samples.
        let wt =
            Layout::from_parts([n, g, rows, og], vec![0, (og * rows) as isize, 1, rows as isize], w_layout.offset())?;
        let cols = self.matmul_op(&w, &wt, &grad, &grad_view)?;
        let cols_layout = Layout::contiguous([n, g * rows, plan.positions()]);
        self.fold_op(&cols, &cols_layout, &spec.window, plan.input)
    }

    pub(crate) fn conv2d_weight_grad_op(
        &self,
        x: (&Storage, &Layout),
        grad: (&Storage, &Layout),
        spec: &ConvSpec,
        plan: &ConvPlan,
    ) -> Result<Storage> {
        let (n, g, og, rows, l) = (plan.batch, plan.groups, plan.out_per_group, plan.group_rows(), plan.positions());
        let cols = self.unfold_op(x.0, x.1, &spec.window, 0.0)?;
        let (grad, grad_view) = self.grad_by_group(grad.0, grad.1, plan)?;
        // The columns transposed per sample and group: [N, G, L, rows].
        let cols_t =
            Layout::from_parts([n, g, l, rows], vec![(g * rows * l) as isize, (rows * l) as isize, 1, l as isize], 0)?;
        let per_sample = self.matmul_op(&grad, &grad_view, &cols, &cols_t)?;
        self.reduce_op(ReduceOp::Sum, &per_sample, &Layout::contiguous([n, g * og * rows]), &[0])
    }
}
