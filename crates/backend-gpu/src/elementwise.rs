//! One-thread-per-element kernels over strided views: unary and binary ops, select, cast,
//! copies, fills and the in-place assign and fused `dst += alpha · src`.

use tensor_core::{BinaryOp, DType, Layout, Result, Storage, UnaryOp};

use crate::GpuDevice;
use crate::context::groups_for;
use crate::shader::{ViewInfo, binding, element_kernel};
use crate::storage::{buffer_of, check_dtype, wgsl_type};

/// The WGSL expression of a unary op on `x` (f32), with its parameters in `param(0..)`, and the
/// parameters themselves.
fn unary_f32(op: UnaryOp) -> (&'static str, Vec<f64>) {
    use UnaryOp::*;
    let expr = match op {
        Neg => "-x",
        Exp => "exp(x)",
        Log => "log(x)",
        Sqrt => "sqrt(x)",
        Abs => "abs(x)",
        Recip => "1.0 / x",
        Square => "x * x",
        Sigmoid => "sigmoid(x)",
        Tanh => "tanh_stable(x)",
        Relu => "select(0.0, x, x > 0.0 || is_nan(x))",
        Gelu => "0.5 * x * (1.0 + erf(x * 0.70710678118654752))",
        GeluTanh => "0.5 * x * (1.0 + tanh_stable(0.79788456080286536 * (x + 0.044715 * x * x * x)))",
        Sin => "sin(x)",
        Cos => "cos(x)",
        Erf => "erf(x)",
        Sign => "select(select(x, -1.0, x < 0.0), 1.0, x > 0.0)",
        Softplus => "max(x, 0.0) + log(1.0 + exp(-abs(x)))",
        LeakyRelu(_) => "select(param(0u) * x, x, x > 0.0)",
        Affine { .. } => "param(0u) * x + param(1u)",
        Powf(_) => "pow_any(x, param(0u))",
        Clamp { .. } => "select(min(max(x, param(0u)), param(1u)), x, is_nan(x))",
    };
    let params = match op {
        LeakyRelu(p) | Powf(p) => vec![p],
        Affine { mul, add } => vec![mul, add],
        Clamp { min, max } => vec![min, max],
        _ => Vec::new(),
    };
    (expr, params)
}

/// The WGSL expression of a unary op on an i64 `x` (the ops integers support).
fn unary_i64(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "-x",
        UnaryOp::Abs => "select(x, -x, x < 0li)",
        UnaryOp::Square => "x * x",
        UnaryOp::Sign => "select(select(0li, -1li, x < 0li), 1li, x > 0li)",
        UnaryOp::Relu => "select(0li, x, x > 0li)",
        _ => unreachable!("the tensor layer rejects {op:?} on i64"),
    }
}

/// The WGSL expression of a binary op on `a` and `b` of type `t`.
fn binary_expr(op: BinaryOp, dtype: DType) -> String {
    let t = wgsl_type(dtype);
    let flag = |cmp: &str| format!("select({t}(0), {t}(1), a {cmp} b)");
    let float = dtype == DType::F32;
    match op {
        BinaryOp::Add => "a + b".into(),
        BinaryOp::Sub => "a - b".into(),
        BinaryOp::Mul => "a * b".into(),
        BinaryOp::Div if float => "a / b".into(),
        BinaryOp::Div => "select(a / b, 0li, b == 0li)".into(),
        BinaryOp::Pow => "pow_any(a, b)".into(),
        BinaryOp::Maximum if float => "select(max(a, b), a + b, is_nan(a) || is_nan(b))".into(),
        BinaryOp::Minimum if float => "select(min(a, b), a + b, is_nan(a) || is_nan(b))".into(),
        BinaryOp::Maximum => "select(b, a, a > b)".into(),
        BinaryOp::Minimum => "select(b, a, a < b)".into(),
        BinaryOp::Eq => flag("=="),
        BinaryOp::Ne => flag("!="),
        BinaryOp::Lt => flag("<"),
        BinaryOp::Le => flag("<="),
        BinaryOp::Gt => flag(">"),
        BinaryOp::Ge => flag(">="),
    }
}

/// The WGSL expression converting `v` of type `from` to `to`.
fn convert_expr(from: DType, to: DType) -> &'static str {
    match (from, to) {
        (DType::F32, DType::I64) => "f32_to_i64(v)",
        (DType::I64, DType::F32) => "f32(v)",
        _ => "v",
    }
}

impl GpuDevice {
    pub(crate) fn unary_op(&self, op: UnaryOp, x: &Storage, layout: &Layout) -> Result<Storage> {
        check_dtype("unary", x.dtype())?;
        let dtype = x.dtype();
        let (expr, params) = if dtype == DType::F32 { unary_f32(op) } else { (unary_i64(op), Vec::new()) };
        let name = format!("{op:?}");
        let name = name.split([' ', '(']).next().unwrap_or("");
        let key = format!("unary:{name}:{dtype}");
        let pipeline = self.gpu.pipeline(&key, || {
            element_kernel(
                &[binding(1, "out", dtype, true), binding(2, "src", dtype, false)],
                &format!("let x = src[view_index(i, 0u)];\nout[i] = {expr};"),
            )
        });
        let out = self.alloc(dtype, layout.numel())?;
        let info = ViewInfo::new(layout.dims(), &params).view(layout);
        self.gpu.dispatch(
            &pipeline,
            info.words(),
            &[&buffer_of(&out).buffer, &buffer_of(x).buffer],
            groups_for(layout.numel()),
        );
        Ok(out)
    }

    pub(crate) fn binary_op(
        &self,
        op: BinaryOp,
        lhs: &Storage,
        lhs_layout: &Layout,
        rhs: &Storage,
        rhs_layout: &Layout,
    ) -> Result<Storage> {
        let dtype = lhs.dtype();
        check_dtype("binary", dtype)?;
        let key = format!("binary:{op:?}:{dtype}");
        let pipeline = self.gpu.pipeline(&key, || {
            element_kernel(
                &[binding(1, "out", dtype, true), binding(2, "lhs", dtype, false), binding(3, "rhs", dtype, false)],
                &format!(
                    "let a = lhs[view_index(i, 0u)];\nlet b = rhs[view_index(i, 1u)];\nout[i] = {};",
                    binary_expr(op, dtype)
                ),
            )
        });
        let numel = lhs_layout.numel();
        let out = self.alloc(dtype, numel)?;
        let info = ViewInfo::new(lhs_layout.dims(), &[]).view(lhs_layout).view(rhs_layout);
        let buffers = [&buffer_of(&out).buffer, &buffer_of(lhs).buffer, &buffer_of(rhs).buffer];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, groups_for(numel));
        Ok(out)
    }

    pub(crate) fn where_op(
        &self,
        cond: (&Storage, &Layout),
        on_true: (&Storage, &Layout),
        on_false: (&Storage, &Layout),
    ) -> Result<Storage> {
        let (cond_dtype, dtype) = (cond.0.dtype(), on_true.0.dtype());
        check_dtype("where", cond_dtype)?;
        check_dtype("where", dtype)?;
        let key = format!("where:{cond_dtype}:{dtype}");
        let pipeline = self.gpu.pipeline(&key, || {
            element_kernel(
                &[
                    binding(1, "out", dtype, true),
                    binding(2, "cond", cond_dtype, false),
                    binding(3, "on_true", dtype, false),
                    binding(4, "on_false", dtype, false),
                ],
                &format!(
                    "let c = cond[view_index(i, 0u)] != {}(0);\n\
                     out[i] = select(on_false[view_index(i, 2u)], on_true[view_index(i, 1u)], c);",
                    wgsl_type(cond_dtype)
                ),
            )
        });
        let numel = cond.1.numel();
        let out = self.alloc(dtype, numel)?;
        let info = ViewInfo::new(cond.1.dims(), &[]).view(cond.1).view(on_true.1).view(on_false.1);
        let buffers = [
            &buffer_of(&out).buffer,
            &buffer_of(cond.0).buffer,
            &buffer_of(on_true.0).buffer,
            &buffer_of(on_false.0).buffer,
        ];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, groups_for(numel));
        Ok(out)
    }

    /// A contiguous copy of the view converted to `to`: cast, copy and download staging.
    pub(crate) fn convert(&self, x: &Storage, layout: &Layout, to: DType) -> Result<Storage> {
        let from = x.dtype();
        check_dtype("cast", from)?;
        check_dtype("cast", to)?;
        let key = format!("convert:{from}:{to}");
        let pipeline = self.gpu.pipeline(&key, || {
            element_kernel(
                &[binding(1, "out", to, true), binding(2, "src", from, false)],
                &format!("let v = src[view_index(i, 0u)];\nout[i] = {};", convert_expr(from, to)),
            )
        });
        let out = self.alloc(to, layout.numel())?;
        let info = ViewInfo::new(layout.dims(), &[]).view(layout);
        self.gpu.dispatch(
            &pipeline,
            info.words(),
            &[&buffer_of(&out).buffer, &buffer_of(x).buffer],
            groups_for(layout.numel()),
        );
        Ok(out)
    }

    /// `len` elements equal to `value`.
    pub(crate) fn fill(&self, dtype: DType, len: usize, value: f64) -> Result<Storage> {
        check_dtype("full", dtype)?;
        let value_expr = match dtype {
            DType::F32 => "param(0u)",
            _ => "(i64(info[4]) << 32u) | i64(bitcast<u32>(info[3]))",
        };
        let pipeline = self.gpu.pipeline(&format!("fill:{dtype}"), || {
            element_kernel(&[binding(1, "out", dtype, true)], &format!("out[i] = {value_expr};"))
        });
        let out = self.alloc(dtype, len)?;
        let mut info = ViewInfo::new(&[len], &[value]);
        if dtype == DType::I64 {
            info = info.i64_param(value as i64);
        }
        self.gpu.dispatch(&pipeline, info.words(), &[&buffer_of(&out).buffer], groups_for(len));
        Ok(out)
    }

    /// Writes the view `src` into the view `dst_layout` of `dst`, or `dst += alpha · src` when
    /// `alpha` is given.
    pub(crate) fn write_into(
        &self,
        dst: &Storage,
        dst_layout: &Layout,
        src: &Storage,
        src_layout: &Layout,
        alpha: Option<f64>,
    ) -> Result<()> {
        let dtype = dst.dtype();
        check_dtype("assign", dtype)?;
        if dst.same_buffer(src) {
            // A binding cannot be read and written in one dispatch: copy the source first.
            let copied = self.convert(src, src_layout, dtype)?;
            return self.write_into(dst, dst_layout, &copied, &Layout::contiguous(src_layout.dims()), alpha);
        }
        buffer_of(dst).forget_bounds();
        let (key, body) = match alpha {
            None => (format!("assign:{dtype}"), "dst[view_index(i, 0u)] = src[view_index(i, 1u)];"),
            Some(_) => (
                format!("add_scaled:{dtype}"),
                "let at = view_index(i, 0u);\ndst[at] = dst[at] + param(0u) * src[view_index(i, 1u)];",
            ),
        };
        let pipeline = self.gpu.pipeline(&key, || {
            element_kernel(&[binding(1, "dst", dtype, true), binding(2, "src", dtype, false)], body)
        });
        let params: Vec<f64> = alpha.into_iter().collect();
        let info = ViewInfo::new(dst_layout.dims(), &params).view(dst_layout).view(src_layout);
        self.gpu.dispatch(
            &pipeline,
            info.words(),
            &[&buffer_of(dst).buffer, &buffer_of(src).buffer],
            groups_for(dst_layout.numel()),
        );
        Ok(())
    }
}
