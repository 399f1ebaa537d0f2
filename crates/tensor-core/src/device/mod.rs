//! The `Device` contract: what every backend implements.
//!
//! The trait is split into op families. Each family has a few **primitives** that every
//! backend must implement and **composites** with default bodies written in terms of the
//! primitives (in [`defaults`]), which a backend may override with a native version for speed.
//! A new backend works once its primitives work; [`Device::native_composites`] tells the
//! conformance report which composites it runs natively.
//!
//! Calling conventions, for every method:
//! - Every tensor argument is a [`View`]: a [`Storage`] plus the [`crate::Layout`] of the
//!   elements to read, checked at construction to lie inside the storage, so a backend may
//!   address them through raw pointers without checking again. Layouts may be non-contiguous
//!   (transposed, narrowed, flipped) or broadcast (stride 0).
//! - Outputs are fresh, contiguous (row-major) storages, except [`Device::assign`] which writes
//!   into an existing one.
//! - The caller (the [`crate::Tensor`] layer) has already checked shapes, dtypes and axes, so a
//!   backend may assume them valid. Index values are data, so backends check those and return
//!   [`crate::TensorError::IndexOutOfRange`].
//! - Work may run asynchronously; only [`Device::download`] and [`Device::sync`] wait for it.

pub mod attention_defaults;
mod cell_defaults;
mod conv_defaults;
pub mod defaults;
mod loss_defaults;
mod primitives_only;

use std::fmt;

pub use primitives_only::PrimitivesOnly;

use crate::{
    ArgReduceOp, AttentionInputs, BinaryOp, ConvPlan, ConvSpec, DType, HostBuffer, ReduceOp, Result, Storage, UnaryOp,
    View, Window2d,
};

/// The composite ops: those with a default body built from primitives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Composite {
    /// [`Device::full`].
    Full,
    /// [`Device::copy`].
    Copy,
    /// [`Device::add_scaled`].
    AddScaled,
    /// [`Device::concat`].
    Concat,
    /// [`Device::softmax`].
    Softmax,
    /// [`Device::log_softmax`].
    LogSoftmax,
    /// [`Device::index_select`].
    IndexSelect,
    /// [`Device::index_add`].
    IndexAdd,
    /// [`Device::unfold`].
    Unfold,
    /// [`Device::fold`].
    Fold,
    /// [`Device::max_pool2d`].
    MaxPool2d,
    /// [`Device::avg_pool2d`].
    AvgPool2d,
    /// [`Device::conv2d`].
    Conv2d,
    /// [`Device::conv2d_input_grad`].
    Conv2dInputGrad,
    /// [`Device::conv2d_weight_grad`].
    Conv2dWeightGrad,
    /// [`Device::lstm_cell`].
    LstmCell,
    /// [`Device::lstm_cell_backward`].
    LstmCellBackward,
    /// [`Device::cross_entropy`].
    CrossEntropy,
    /// [`Device::cross_entropy_backward`].
    CrossEntropyBackward,
    /// [`Device::attention`].
    Attention,
    /// [`Device::attention_backward`].
    AttentionBackward,
}

impl Composite {
    /// Every composite op.
    pub const ALL: [Composite; 21] = [
        Composite::Full,
        Composite::Copy,
        Composite::AddScaled,
        Composite::Concat,
        Composite::Softmax,
        Composite::LogSoftmax,
        Composite::IndexSelect,
        Composite::IndexAdd,
        Composite::Unfold,
        Composite::Fold,
        Composite::MaxPool2d,
        Composite::AvgPool2d,
        Composite::Conv2d,
        Composite::Conv2dInputGrad,
        Composite::Conv2dWeightGrad,
        Composite::LstmCell,
        Composite::LstmCellBackward,
        Composite::CrossEntropy,
        Composite::CrossEntropyBackward,
        Composite::Attention,
        Composite::AttentionBackward,
    ];
}

/// A compute backend. Object-safe: tensors hold an `Arc<dyn Device>` chosen at run time.
pub trait Device: Send + Sync + fmt::Debug {
    /// A short human-readable name, e.g. `cpu` or `gpu (NVIDIA H200, Vulkan)`.
    fn name(&self) -> String;

    /// Which buffers this device can use: two devices with the same identity accept each other's
    /// storages (every CPU device instance is the same device). Defaults to the name.
    fn identity(&self) -> String {
        self.name()
    }

    /// Whether this device stores and computes tensors of `dtype`. Every backend supports f32
    /// and i64; the GPU has no f64 (WGSL lacks it) and refuses it with a typed error.
    fn supports(&self, dtype: DType) -> bool {
        let _ = dtype;
        true
    }

    /// The composites this backend overrides with a native implementation.
    fn native_composites(&self) -> Vec<Composite> {
        Vec::new()
    }

    /// A layout hint for a right-hand matrix `[k, n]` that many thin products reuse (a
    /// recurrent weight at every step): the column-panel width at which this backend multiplies
    /// it fastest when it is stored as contiguous panels `[n / width, k, width]`, or `None` to
    /// keep it as it is. Default: `None`; the CPU backend answers its kernel's register-block
    /// width.
    fn thin_product_panel_width(&self) -> Option<usize> {
        None
    }

    // ----- creation and transfer -------------------------------------------------------------

    /// Primitive. Copies host data into a new device buffer.
    fn upload(&self, data: HostBuffer) -> Result<Storage>;

    /// Primitive. Reads the elements of the view `layout` of `x` back to the host, in row-major
    /// order. Waits for pending work.
    fn download(&self, x: View<'_>) -> Result<HostBuffer>;

    /// Primitive. Waits until all submitted work has finished.
    fn sync(&self) -> Result<()>;

    /// Composite. A buffer of `len` elements all equal to `value` (converted to `dtype`).
    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<Storage> {
        self.upload(HostBuffer::filled(dtype, len, value))
    }

    // ----- elementwise -----------------------------------------------------------------------

    /// Primitive. `op` applied to every element of the view.
    fn unary(&self, op: UnaryOp, x: View<'_>) -> Result<Storage>;

    /// Primitive. `op` applied elementwise. Both layouts have the output shape (broadcasting
    /// is expressed with stride-0 axes) and both storages the same dtype.
    fn binary(&self, op: BinaryOp, lhs: View<'_>, rhs: View<'_>) -> Result<Storage>;

    /// Primitive. `cond != 0 ? on_true : on_false` elementwise; all three layouts have the
    /// output shape; `on_true` and `on_false` share a dtype, `cond` may have any dtype.
    fn where_select(&self, cond: View<'_>, on_true: View<'_>, on_false: View<'_>) -> Result<Storage>;

    /// Primitive. Converts every element to `dtype` (floats to integers truncate toward zero,
    /// saturating; NaN becomes 0).
    fn cast(&self, x: View<'_>, dtype: DType) -> Result<Storage>;

    /// Composite. A contiguous copy of the view. Default: a cast to the same dtype.
    fn copy(&self, x: View<'_>) -> Result<Storage> {
        self.cast(x, x.dtype())
    }

    // ----- movement --------------------------------------------------------------------------

    /// Primitive. Writes the view `src` into the view `dst` in place (same shape, same dtype).
    /// If the two views share a buffer, the result is as if `src` had been copied first.
    fn assign(&self, dst: View<'_>, src: View<'_>) -> Result<()>;

    /// Composite. `dst += alpha · src` in place over the view `dst` (same shape, same float
    /// dtype): the fused update of optimizers, with no new buffer. Default: scale, add, then
    /// [`Device::assign`].
    fn add_scaled(&self, dst: View<'_>, alpha: f64, src: View<'_>) -> Result<()> {
        defaults::add_scaled(self, dst, alpha, src)
    }

    /// Composite. Joins views along `axis`; all parts agree on the other axes.
    /// Default: a zero buffer and one [`Device::assign`] per part.
    fn concat(&self, parts: &[View<'_>], axis: usize) -> Result<Storage> {
        defaults::concat(self, parts, axis)
    }

    // ----- reductions ------------------------------------------------------------------------

    /// Primitive. Reduces over `axes` (sorted, distinct); the output keeps them as size-1 axes.
    fn reduce(&self, op: ReduceOp, x: View<'_>, axes: &[usize]) -> Result<Storage>;

    /// Primitive. Position (i64) of the extreme element along `axis`, kept as a size-1 axis.
    /// The axis is not empty.
    fn arg_reduce(&self, op: ArgReduceOp, x: View<'_>, axis: usize) -> Result<Storage>;

    /// Composite. `exp(x - max) / sum(exp(x - max))` along `axis`: stable for any magnitude.
    fn softmax(&self, x: View<'_>, axis: usize) -> Result<Storage> {
        defaults::softmax(self, x, axis)
    }

    /// Composite. `x - max - ln(sum(exp(x - max)))` along `axis`.
    fn log_softmax(&self, x: View<'_>, axis: usize) -> Result<Storage> {
        defaults::log_softmax(self, x, axis)
    }

    // ----- matmul ----------------------------------------------------------------------------

    /// Primitive. Batched matrix product: `[..., m, k] x [..., k, n] -> [..., m, n]` with
    /// equal batch axes (the caller broadcasts them with stride 0). Either operand may be a
    /// transposed or otherwise strided view; backends should not copy it.
    fn matmul(&self, lhs: View<'_>, rhs: View<'_>) -> Result<Storage>;

    // ----- indexing --------------------------------------------------------------------------

    /// Primitive. PyTorch's `gather`: `out[p] = x[p with p[axis] = index[p]]`; the output has
    /// the index's shape, which matches `x` except along `axis` (it may be smaller elsewhere).
    /// `index` is i64.
    fn gather(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage>;

    /// Primitive. PyTorch's `scatter_add` without mutation: a copy of `dst` to which each
    /// `src[p]` is added at `p with p[axis] = index[p]`. `index` and `src` share a shape.
    fn scatter_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage>;

    /// Composite. Selects the entries `index` (1-D, i64) along `axis` (an embedding lookup
    /// for `axis = 0`). Default: a [`Device::gather`] with a broadcast index.
    fn index_select(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
        defaults::index_select(self, x, axis, index)
    }

    /// Composite. A copy of `dst` with `src` (shaped like `dst` but with `index.len()` entries
    /// along `axis`) added at the entries `index` (the backward of `index_select`; repeated
    /// indices accumulate). Default: a [`Device::scatter_add`] with a broadcast index.
    fn index_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
        defaults::index_add(self, dst, axis, index, src)
    }

    // ----- neural-network windows ------------------------------------------------------------

    /// Composite. im2col (PyTorch's `nn.Unfold`): `[N, C, H, W] -> [N, C·kh·kw, L]` where `L`
    /// counts output positions and the middle axis runs over `(c, ky, kx)`. Taps in the padding
    /// read `pad_value`. Default: pad with [`Device::assign`], then one [`Device::gather`].
    fn unfold(&self, x: View<'_>, window: &Window2d, pad_value: f64) -> Result<Storage> {
        defaults::unfold(self, x, window, pad_value)
    }

    /// Composite. col2im (PyTorch's `nn.Fold`), the adjoint of `unfold`:
    /// `[N, C·kh·kw, L] -> [N, C, H, W]` summing overlapping taps, with `output = [H, W]`.
    /// Default: one [`Device::scatter_add`] into a padded buffer.
    fn fold(&self, cols: View<'_>, window: &Window2d, output: [usize; 2]) -> Result<Storage> {
        defaults::fold(self, cols, window, output)
    }

    /// Composite. Max pooling of `[N, C, H, W]` (padding reads -inf). Returns the values
    /// `[N, C, OH, OW]` and, for the backward, the i64 position `y·W + x` of each maximum in
    /// its input plane (PyTorch's `return_indices`). Default: unfold, arg-max, gather.
    fn max_pool2d(&self, x: View<'_>, window: &Window2d) -> Result<(Storage, Storage)> {
        defaults::max_pool2d(self, x, window)
    }

    /// Composite. Average pooling of `[N, C, H, W]`; padding counts as zeros in the average
    /// (PyTorch's `count_include_pad=True`). Default: unfold and sum.
    fn avg_pool2d(&self, x: View<'_>, window: &Window2d) -> Result<Storage> {
        defaults::avg_pool2d(self, x, window)
    }

    /// Composite. Grouped 2-D cross-correlation (PyTorch's `conv2d`): `x` = `[N, C, H, W]`
    /// with `weight` = `[O, C/groups, kh, kw]` and an optional `bias` = `[O]` gives
    /// `[N, O, OH, OW]`. Default: [`Device::unfold`], one [`Device::matmul`] per sample and
    /// group, and a broadcast [`Device::binary`] add of the bias.
    fn conv2d(&self, x: View<'_>, weight: View<'_>, bias: Option<View<'_>>, spec: &ConvSpec) -> Result<Storage> {
        conv_defaults::conv2d(self, x, weight, bias, spec)
    }

    /// Composite. The gradient of [`Device::conv2d`] with respect to its input, `[N, C, H, W]`
    /// from the output gradient `[N, O, OH, OW]` (a transposed convolution).
    /// Default: [`Device::matmul`] with the transposed weight, then [`Device::fold`].
    fn conv2d_input_grad(&self, grad: View<'_>, weight: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
        conv_defaults::conv2d_input_grad(self, grad, weight, spec, plan)
    }

    /// Composite. The gradient of [`Device::conv2d`] with respect to its weight,
    /// `[O, C/groups, kh, kw]`, summed over the batch.
    /// Default: [`Device::unfold`], a per-sample [`Device::matmul`], and a sum over samples.
    fn conv2d_weight_grad(&self, x: View<'_>, grad: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
        conv_defaults::conv2d_weight_grad(self, x, grad, spec, plan)
    }

    // ----- recurrent cells -------------------------------------------------------------------

    /// Composite. One LSTM step. From the pre-activations `gates` = `[.., 4H]` (blocks `i, f,
    /// g, o`, PyTorch's order) and the previous cell state `c` = `[.., H]`, returns `[.., 2H]`:
    /// `h' = σ(o) ⊙ tanh(c')` then `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`. Default: the elementwise
    /// primitives one op at a time.
    fn lstm_cell(&self, gates: View<'_>, c: View<'_>) -> Result<Storage> {
        cell_defaults::lstm_cell(self, gates, c)
    }

    /// Composite. The backward of [`Device::lstm_cell`]: from the step's inputs `gates` and
    /// `c`, its output `state` = `[.., 2H]` and the gradient `grad` = `[.., 2H]` of that output,
    /// returns `[.., 5H]`: the gradient of `gates` (`4H`) then that of `c` (`H`). The gate
    /// activations are recomputed from `gates` rather than stored.
    fn lstm_cell_backward(&self, gates: View<'_>, c: View<'_>, state: View<'_>, grad: View<'_>) -> Result<Storage> {
        cell_defaults::lstm_cell_backward(self, gates, c, state, grad)
    }

    // ----- losses ----------------------------------------------------------------------------

    /// Composite. Softmax cross-entropy of each row of `logits` = `[N, C]` (float) against i64
    /// `labels` = `[N]` in `0..C`: returns `(loss, lse)`, both `[N]`, with
    /// `lse = ln Σ_j exp(x_j)` and `loss = lse - x[label]`. A label outside `0..C` is an
    /// [`crate::TensorError::IndexOutOfRange`]. Default: reductions, a gather and elementwise
    /// primitives, one buffer each.
    fn cross_entropy(&self, logits: View<'_>, labels: View<'_>) -> Result<(Storage, Storage)> {
        loss_defaults::cross_entropy(self, logits, labels)
    }

    /// Composite. The backward of [`Device::cross_entropy`]: from `logits`, `labels`, the
    /// forward's `lse` and the gradient `grad` = `[N]` of the loss, returns `[N, C]`:
    /// `grad_i · (exp(x_ij - lse_i) - [j = label_i])`.
    fn cross_entropy_backward(
        &self,
        logits: View<'_>,
        labels: View<'_>,
        lse: View<'_>,
        grad: View<'_>,
    ) -> Result<Storage> {
        loss_defaults::cross_entropy_backward(self, logits, labels, lse, grad)
    }

    // ----- attention -------------------------------------------------------------------------

    /// Composite. Scaled dot-product attention: from `q` = `[B, H, Tq, d]`, `k` = `[B, H, Tk, d]`
    /// and `v` = `[B, H, Tk, dv]` (any strides), returns `out` = `[B, H, Tq, dv]` with
    /// `out[i] = Σ_j p_ij v_j`, `p_i = softmax_j(scale · q_i · k_j)` over the keys `j` that
    /// `mask` lets query `i` see, and the log-sum-exp `lse` = `[B, H, Tq]` (the inputs' dtype)
    /// of those scaled scores, which the backward reads instead of storing `p`. A row that sees
    /// no key outputs zeros and has `lse = -inf`. Default: the whole `[B, H, Tq, Tk]` score
    /// matrix from [`Device::matmul`], a masked max, exp and sum, and a second product.
    fn attention(&self, inputs: AttentionInputs<'_>) -> Result<(Storage, Storage)> {
        attention_defaults::attention(self, inputs)
    }

    /// Composite. The backward of [`Device::attention`]: from its inputs, its `out` and `lse`
    /// and the gradient `grad_out` of `out` (`[B, H, Tq, dv]`), returns `(dq, dk, dv)` shaped
    /// like `q`, `k` and `v`. The probabilities are recomputed as `exp(scale · q kᵀ - lse)`
    /// (FlashAttention-2): `dV = Pᵀ dO`, `D = rowsum(dO ⊙ O)`, `dS = P ⊙ (dO Vᵀ - D)`,
    /// `dQ = scale · dS K`, `dK = scale · dSᵀ Q`. Default: those products on whole matrices.
    fn attention_backward(
        &self,
        inputs: AttentionInputs<'_>,
        out: View<'_>,
        lse: View<'_>,
        grad_out: View<'_>,
    ) -> Result<(Storage, Storage, Storage)> {
        attention_defaults::attention_backward(self, inputs, out, lse, grad_out)
    }
}
