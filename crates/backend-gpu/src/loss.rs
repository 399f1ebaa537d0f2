//! The fused softmax cross-entropy: one workgroup per row finds the row's maximum and its sum of
//! `exp(x - max)` with two tree reductions and writes the loss and the log-sum-exp (forward);
//! one thread per logit writes `g (exp(x - lse) - [j = label])` (backward). Neither makes an
//! `[N, C]` buffer of log-probabilities. Labels are checked against the classes before the
//! kernel runs (see [`GpuDevice::check_index`]), so a bad label is
//! [`tensor_core::TensorError::IndexOutOfRange`], never a read out of bounds.

use tensor_core::{DType, Layout, Result, Storage};

use crate::GpuDevice;
use crate::context::groups_for;
use crate::reduce::row_kernel;
use crate::shader::{ViewInfo, binding, element_kernel, word};
use crate::storage::{buffer_of, check_dtype};

/// Per row (`row`, `lid` and `count` = C from the row entry; views 0 and 1 are the logits and
/// the labels over `[N, C]`): the maximum (NaN-propagating, as the reductions), then the sum of
/// `exp(x - shift)` around it, where the shift is 0 for an infinite maximum so that an all
/// `-inf` row gives `lse = -inf` and a row holding `+inf` gives `+inf`, never NaN.
const FORWARD: &str = r#"
    var m = bitcast<f32>(0xff800000u);
    for (var r = lid; r < count; r += 64u) { m = max_nan(m, logits[view_index(row * count + r, 0u)]); }
    partial[lid] = m;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if lid < s { partial[lid] = max_nan(partial[lid], partial[lid + s]); }
        workgroupBarrier();
    }
    m = partial[0];
    workgroupBarrier();
    let shift = select(0.0, m, abs(m) < bitcast<f32>(0x7f800000u));
    var sum = 0.0;
    for (var r = lid; r < count; r += 64u) { sum += exp(logits[view_index(row * count + r, 0u)] - shift); }
    partial[lid] = sum;
    workgroupBarrier();
    for (var s = 32u; s > 0u; s >>= 1u) {
        if lid < s { partial[lid] = partial[lid] + partial[lid + s]; }
        workgroupBarrier();
    }
    if lid == 0u {
        let first = row * count;
        let label = u32(labels[view_index(first, 1u)]);
        let lse = shift + log(partial[0]);
        lse_out[row] = lse;
        loss[row] = lse - logits[view_index(first + label, 0u)];
    }
"#;

/// Per logit (views over `[N, C]`: logits, then labels, lse and grad broadcast over the row).
const BACKWARD: &str = r#"
    let classes = info_u(7u);
    let label = u32(labels[view_index(i, 1u)]);
    let p = exp(logits[view_index(i, 0u)] - lse[view_index(i, 2u)]);
    out[i] = grad[view_index(i, 3u)] * (p - select(0.0, 1.0, i % classes == label));
"#;

/// A per-row `[N]` view read at every column of `[N, C]` (stride 0 along the classes).
fn over_classes(row: &Layout, classes: usize) -> Layout {
    let dims = [row.dims()[0], classes];
    Layout::from_parts(dims, vec![row.strides()[0], 0], row.offset()).expect("a broadcast row view")
}

impl GpuDevice {
    pub(crate) fn cross_entropy_op(
        &self,
        (logits, ll): (&Storage, &Layout),
        (labels, label_layout): (&Storage, &Layout),
    ) -> Result<(Storage, Storage)> {
        check_dtype("cross_entropy", logits.dtype())?;
        let (rows, classes) = (ll.dims()[0], ll.dims()[1]);
        self.check_index("cross_entropy", labels, label_layout, 1, classes)?;
        let pipeline = self.gpu.pipeline("cross_entropy", || {
            let bindings = [
                binding(1, "loss", DType::F32, true),
                binding(2, "lse_out", DType::F32, true),
                binding(3, "logits", DType::F32, false),
                binding(4, "labels", DType::I64, false),
            ];
            let shared = "var<workgroup> partial: array<f32, 64>;\n\
                          fn max_nan(a: f32, b: f32) -> f32 { return select(max(a, b), a + b, is_nan(a) || is_nan(b)); }\n";
            row_kernel(&bindings, shared, FORWARD)
        });
        let info = ViewInfo::new(ll.dims(), &[])
            .with_word(0, word(rows))
            .with_word(2, word(classes))
            .view(ll)
            .view(&over_classes(label_layout, classes));
        let (loss, lse) = (self.alloc(DType::F32, rows)?, self.alloc(DType::F32, rows)?);
        let buffers =
            [&buffer_of(&loss).buffer, &buffer_of(&lse).buffer, &buffer_of(logits).buffer, &buffer_of(labels).buffer];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, word(rows) as u32);
        Ok((loss, lse))
    }

    pub(crate) fn cross_entropy_backward_op(
        &self,
        (logits, ll): (&Storage, &Layout),
        (labels, label_layout): (&Storage, &Layout),
        (lse, lse_layout): (&Storage, &Layout),
        (grad, grad_layout): (&Storage, &Layout),
    ) -> Result<Storage> {
        check_dtype("cross_entropy_backward", logits.dtype())?;
        let classes = ll.dims()[1];
        self.check_index("cross_entropy_backward", labels, label_layout, 1, classes)?;
        let pipeline = self.gpu.pipeline("cross_entropy_backward", || {
            let bindings = [
                binding(1, "out", DType::F32, true),
                binding(2, "logits", DType::F32, false),
                binding(3, "labels", DType::I64, false),
                binding(4, "lse", DType::F32, false),
                binding(5, "grad", DType::F32, false),
            ];
            element_kernel(&bindings, BACKWARD)
        });
        // Info word 7 (the last shape word of the rank-2 output) is the class count.
        let info = ViewInfo::new(ll.dims(), &[])
            .view(ll)
            .view(&over_classes(label_layout, classes))
            .view(&over_classes(lse_layout, classes))
            .view(&over_classes(grad_layout, classes));
        let numel = ll.numel();
        let out = self.alloc(DType::F32, numel)?;
        let buffers = [
            &buffer_of(&out).buffer,
            &buffer_of(logits).buffer,
            &buffer_of(labels).buffer,
            &buffer_of(lse).buffer,
            &buffer_of(grad).buffer,
        ];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, groups_for(numel));
        Ok(out)
    }
}
