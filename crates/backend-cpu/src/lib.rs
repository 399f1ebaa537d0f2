//! Tessera's CPU backend.
//!
//! Buffers are host vectors; Tessera's [`tensor_core::Layout`] stays the truth and ndarray
//! views are built from it for iteration. Elementwise ops, reductions and window ops run in
//! parallel with rayon above a size threshold; matmul runs on the `gemm` crate's kernels,
//! chosen at run time by CPU features. Every op of the contract, composites included, runs
//! natively for f32 and f64.
//!
//! ```
//! use tensor_core::{DType, Tensor, TensorRng};
//!
//! let device = backend_cpu::CpuDevice::shared();
//! let mut rng = TensorRng::new(0);
//! let x = rng.normal([64, 784], 0.0, 1.0, DType::F32, &device).unwrap();
//! let w = rng.uniform([256, 784], -0.05, 0.05, DType::F32, &device).unwrap();
//! let b = Tensor::zeros([256], DType::F32, &device).unwrap();
//! let hidden = x.matmul(&w.t()).add(&b).relu(); // w.t() is a view: no copy
//! let probs = hidden.softmax(-1);
//! assert_eq!(probs.dims(), &[64, 256]);
//! let row_sums = probs.sum(&[-1], false).to_vec::<f32>().unwrap();
//! assert!(row_sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
//! ```

#![warn(missing_docs)]

mod allocator;
mod attention;
mod cells;
mod conv;
mod direct_conv;
mod elementwise;
mod fast_math;
mod indexing;
mod loss;
mod matmul;
mod reduce;
mod simd;
mod small_gemm;
mod storage;
mod window;

use std::sync::{Arc, OnceLock};

pub use allocator::{HUGE_BLOCK_MIN, HugePageAllocator, keep_freed_memory};
pub use storage::CpuStorage;
use tensor_core::device::{attention_defaults, defaults};
use tensor_core::{
    ArgReduceOp, AttentionInputs, BinaryOp, Composite, ConvPlan, ConvSpec, DType, Device, HostBuffer, ReduceOp, Result,
    Storage, UnaryOp, View, Window2d,
};

use crate::storage::{cpu, wrap};

/// The CPU device. Work runs on the calling thread and rayon's global pool; to limit threads,
/// run inside a `rayon::ThreadPool::install`.
#[derive(Debug, Default)]
pub struct CpuDevice;

impl CpuDevice {
    /// A new CPU device.
    pub fn new() -> Self {
        CpuDevice
    }

    /// The process-wide CPU device behind the shared handle tensors hold.
    pub fn shared() -> Arc<dyn Device> {
        static SHARED: OnceLock<Arc<dyn Device>> = OnceLock::new();
        SHARED.get_or_init(|| Arc::new(CpuDevice)).clone()
    }
}

impl Device for CpuDevice {
    fn name(&self) -> String {
        "cpu".to_string()
    }

    fn native_composites(&self) -> Vec<Composite> {
        Composite::ALL.to_vec()
    }

    fn thin_product_panel_width(&self) -> Option<usize> {
        Some(matmul::PANEL_WIDTH)
    }

    fn upload(&self, data: HostBuffer) -> Result<Storage> {
        Ok(wrap(data))
    }

    fn download(&self, x: View<'_>) -> Result<HostBuffer> {
        Ok(elementwise::cast_buffer(&cpu(x.storage()).read(), x.layout(), x.dtype()))
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<Storage> {
        Ok(wrap(HostBuffer::filled(dtype, len, value)))
    }

    fn unary(&self, op: UnaryOp, x: View<'_>) -> Result<Storage> {
        elementwise::unary(op, x)
    }

    fn binary(&self, op: BinaryOp, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        elementwise::binary(op, lhs, rhs)
    }

    fn where_select(&self, cond: View<'_>, on_true: View<'_>, on_false: View<'_>) -> Result<Storage> {
        elementwise::where_select(cond, on_true, on_false)
    }

    fn cast(&self, x: View<'_>, dtype: DType) -> Result<Storage> {
        elementwise::cast(x, dtype)
    }

    fn copy(&self, x: View<'_>) -> Result<Storage> {
        elementwise::cast(x, x.dtype())
    }

    fn add_scaled(&self, dst: View<'_>, alpha: f64, src: View<'_>) -> Result<()> {
        elementwise::add_scaled(dst, alpha, src)
    }

    fn assign(&self, dst: View<'_>, src: View<'_>) -> Result<()> {
        elementwise::assign(dst, src)
    }

    fn concat(&self, parts: &[View<'_>], axis: usize) -> Result<Storage> {
        elementwise::concat(parts, axis)
    }

    fn reduce(&self, op: ReduceOp, x: View<'_>, axes: &[usize]) -> Result<Storage> {
        reduce::reduce(op, x, axes)
    }

    fn arg_reduce(&self, op: ArgReduceOp, x: View<'_>, axis: usize) -> Result<Storage> {
        reduce::arg_reduce(op, x, axis)
    }

    fn softmax(&self, x: View<'_>, axis: usize) -> Result<Storage> {
        reduce::softmax(x, axis, false)
    }

    fn log_softmax(&self, x: View<'_>, axis: usize) -> Result<Storage> {
        reduce::softmax(x, axis, true)
    }

    fn matmul(&self, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        matmul::matmul(lhs, rhs)
    }

    fn gather(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
        indexing::gather(x, axis, index)
    }

    fn scatter_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
        indexing::scatter_add(dst, axis, index, src)
    }

    fn index_select(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
        indexing::index_select_rows(x, axis, index).unwrap_or_else(|| defaults::index_select(self, x, axis, index))
    }

    fn index_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
        indexing::index_add_rows(dst, axis, index, src)
            .unwrap_or_else(|| defaults::index_add(self, dst, axis, index, src))
    }

    fn unfold(&self, x: View<'_>, window: &Window2d, pad_value: f64) -> Result<Storage> {
        window::unfold(x, window, pad_value)
    }

    fn fold(&self, cols: View<'_>, window: &Window2d, output: [usize; 2]) -> Result<Storage> {
        window::fold(cols, window, output)
    }

    fn max_pool2d(&self, x: View<'_>, window: &Window2d) -> Result<(Storage, Storage)> {
        window::max_pool2d(x, window)
    }

    fn avg_pool2d(&self, x: View<'_>, window: &Window2d) -> Result<Storage> {
        window::avg_pool2d(x, window)
    }

    fn conv2d(&self, x: View<'_>, weight: View<'_>, bias: Option<View<'_>>, spec: &ConvSpec) -> Result<Storage> {
        conv::conv2d(x, weight, bias, spec)
    }

    fn conv2d_input_grad(&self, grad: View<'_>, weight: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
        conv::conv2d_input_grad(grad, weight, spec, plan)
    }

    fn conv2d_weight_grad(&self, x: View<'_>, grad: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
        conv::conv2d_weight_grad(x, grad, spec, plan)
    }

    fn lstm_cell(&self, gates: View<'_>, c: View<'_>) -> Result<Storage> {
        cells::lstm_cell(gates, c)
    }

    fn lstm_cell_backward(&self, gates: View<'_>, c: View<'_>, state: View<'_>, grad: View<'_>) -> Result<Storage> {
        cells::lstm_cell_backward(gates, c, state, grad)
    }

    fn cross_entropy(&self, logits: View<'_>, labels: View<'_>) -> Result<(Storage, Storage)> {
        loss::cross_entropy(logits, labels)
    }

    fn cross_entropy_backward(
        &self,
        logits: View<'_>,
        labels: View<'_>,
        lse: View<'_>,
        grad: View<'_>,
    ) -> Result<Storage> {
        loss::cross_entropy_backward(logits, labels, lse, grad)
    }

    fn attention(&self, inputs: AttentionInputs<'_>) -> Result<(Storage, Storage)> {
        attention::attention(inputs).unwrap_or_else(|| attention_defaults::attention(self, inputs))
    }

    fn attention_backward(
        &self,
        inputs: AttentionInputs<'_>,
        out: View<'_>,
        lse: View<'_>,
        grad_out: View<'_>,
    ) -> Result<(Storage, Storage, Storage)> {
        let saved = attention::Saved { out, lse, grad: grad_out };
        attention::attention_backward(inputs, &saved)
            .unwrap_or_else(|| attention_defaults::attention_backward(self, inputs, out, lse, grad_out))
    }
}
