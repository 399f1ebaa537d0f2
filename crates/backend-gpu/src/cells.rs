//! The fused LSTM step on the GPU: one thread per (row, unit) reads the four gate blocks and
//! the cell state through their views and writes `h'` and `c'` (forward), or recomputes the
//! activations and writes all five gradients (backward).

use tensor_core::{DType, Layout, Result, Storage};

use crate::GpuDevice;
use crate::context::groups_for;
use crate::shader::{ViewInfo, binding, element_kernel};
use crate::storage::{buffer_of, check_dtype};

/// Reads the gate activations of element `i` (views 0-3: the i, f, g, o blocks) and finds its
/// row and unit; the output shape is the cell state's, `[.., H]`.
const GATES: &str = r#"
    let hidden = info_u(5u + info_u(1u));
    let row = i / hidden;
    let j = i % hidden;
    let ig = sigmoid(z[view_index(i, 0u)]);
    let fg = sigmoid(z[view_index(i, 1u)]);
    let gg = tanh_stable(z[view_index(i, 2u)]);
    let og = sigmoid(z[view_index(i, 3u)]);
    let c_prev = c[view_index(i, 4u)];
"#;

const FORWARD: &str = r#"
    let cell = fg * c_prev + ig * gg;
    out[row * 2u * hidden + j] = og * tanh_stable(cell);
    out[row * 2u * hidden + hidden + j] = cell;
"#;

/// Views 5-7: the output's cell-state block and the two halves of its gradient.
const BACKWARD: &str = r#"
    let tanh_c = tanh_stable(state[view_index(i, 5u)]);
    let dh = grad[view_index(i, 6u)];
    let dc = grad[view_index(i, 7u)] + dh * og * (1.0 - tanh_c * tanh_c);
    let base = row * 5u * hidden + j;
    out[base] = dc * gg * (ig * (1.0 - ig));
    out[base + hidden] = dc * c_prev * (fg * (1.0 - fg));
    out[base + 2u * hidden] = dc * ig * (1.0 - gg * gg);
    out[base + 3u * hidden] = dh * tanh_c * (og * (1.0 - og));
    out[base + 4u * hidden] = dc * fg;
"#;

/// The `info` words: the cell shape, then the four gate blocks of `gates` and the cell state.
fn cell_info(gates: &Layout, c: &Layout) -> Result<ViewInfo> {
    let (axis, hidden) = (c.rank() - 1, c.dims()[c.rank() - 1]);
    let mut info = ViewInfo::new(c.dims(), &[]);
    for k in 0..4 {
        info = info.view(&gates.narrow(axis, k * hidden, hidden)?);
    }
    Ok(info.view(c))
}

impl GpuDevice {
    pub(crate) fn lstm_cell_op(&self, (z, zl): (&Storage, &Layout), (c, cl): (&Storage, &Layout)) -> Result<Storage> {
        check_dtype("lstm_cell", z.dtype())?;
        let pipeline = self.gpu.pipeline("lstm_cell", || {
            let bindings = [
                binding(1, "out", DType::F32, true),
                binding(2, "z", DType::F32, false),
                binding(3, "c", DType::F32, false),
            ];
            element_kernel(&bindings, &format!("{GATES}{FORWARD}"))
        });
        let info = cell_info(zl, cl)?;
        let numel = cl.numel();
        let out = self.alloc(DType::F32, 2 * numel)?;
        let buffers = [&buffer_of(&out).buffer, &buffer_of(z).buffer, &buffer_of(c).buffer];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, groups_for(numel));
        Ok(out)
    }

    pub(crate) fn lstm_cell_backward_op(
        &self,
        (z, zl): (&Storage, &Layout),
        (c, cl): (&Storage, &Layout),
        (state, sl): (&Storage, &Layout),
        (grad, gl): (&Storage, &Layout),
    ) -> Result<Storage> {
        check_dtype("lstm_cell_backward", z.dtype())?;
        let pipeline = self.gpu.pipeline("lstm_cell_backward", || {
            let bindings = [
                binding(1, "out", DType::F32, true),
                binding(2, "z", DType::F32, false),
                binding(3, "c", DType::F32, false),
                binding(4, "state", DType::F32, false),
                binding(5, "grad", DType::F32, false),
            ];
            element_kernel(&bindings, &format!("{GATES}{BACKWARD}"))
        });
        let (axis, hidden) = (cl.rank() - 1, cl.dims()[cl.rank() - 1]);
        let info = cell_info(zl, cl)?
            .view(&sl.narrow(axis, hidden, hidden)?)
            .view(&gl.narrow(axis, 0, hidden)?)
            .view(&gl.narrow(axis, hidden, hidden)?);
        let numel = cl.numel();
        let out = self.alloc(DType::F32, 5 * numel)?;
        let buffers = [
            &buffer_of(&out).buffer,
            &buffer_of(z).buffer,
            &buffer_of(c).buffer,
            &buffer_of(state).buffer,
            &buffer_of(grad).buffer,
        ];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, groups_for(numel));
        Ok(out)
    }
}
