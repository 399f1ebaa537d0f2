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
mod cells;
mod conv;
mod direct_conv;
mod elementwise;
mod fast_math;
mod indexing;
mod matmul;
mod reduce;
mod small_gemm;
mod storage;
mod window;

use std::sync::{Arc, OnceLock};

pub use allocator::{HUGE_BLOCK_MIN, HugePageAllocator, keep_freed_memory};
pub use storage::CpuStorage;
use tensor_core::device::defaults;
use tensor_core::{
    ArgReduceOp, BinaryOp, Composite, ConvPlan, ConvSpec, DType, Device, HostBuffer, Layout, ReduceOp, Result, Storage,
    UnaryOp, Window2d,
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

    fn upload(&self, data: HostBuffer) -> Result<Storage> {
        Ok(wrap(data))
    }

    fn download(&self, x: &Storage, layout: &Layout) -> Result<HostBuffer> {
        Ok(elementwise::cast_buffer(&cpu(x).read(), layout, x.dtype()))
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<Storage> {
        Ok(wrap(HostBuffer::filled(dtype, len, value)))
    }

    fn unary(&self, op: UnaryOp, x: &Storage, layout: &Layout) -> Result<Storage> {
        elementwise::unary(op, x, layout)
    }

    fn binary(&self, op: BinaryOp, lhs: &Storage, ll: &Layout, rhs: &Storage, rl: &Layout) -> Result<Storage> {
        elementwise::binary(op, lhs, ll, rhs, rl)
    }

    fn where_select(
        &self,
        c: &Storage,
        cl: &Layout,
        t: &Storage,
        tl: &Layout,
        f: &Storage,
        fl: &Layout,
    ) -> Result<Storage> {
        elementwise::where_select(c, cl, t, tl, f, fl)
    }

    fn cast(&self, x: &Storage, layout: &Layout, dtype: DType) -> Result<Storage> {
        elementwise::cast(x, layout, dtype)
    }

    fn copy(&self, x: &Storage, layout: &Layout) -> Result<Storage> {
        elementwise::cast(x, layout, x.dtype())
    }

    fn add_scaled(&self, dst: &Storage, dl: &Layout, alpha: f64, src: &Storage, sl: &Layout) -> Result<()> {
        elementwise::add_scaled(dst, dl, alpha, src, sl)
    }

    fn assign(&self, dst: &Storage, dl: &Layout, src: &Storage, sl: &Layout) -> Result<()> {
        elementwise::assign(dst, dl, src, sl)
    }

    fn concat(&self, parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
        elementwise::concat(parts, axis)
    }

    fn reduce(&self, op: ReduceOp, x: &Storage, layout: &Layout, axes: &[usize]) -> Result<Storage> {
        reduce::reduce(op, x, layout, axes)
    }

    fn arg_reduce(&self, op: ArgReduceOp, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        reduce::arg_reduce(op, x, layout, axis)
    }

    fn softmax(&self, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        reduce::softmax(x, layout, axis, false)
    }

    fn log_softmax(&self, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        reduce::softmax(x, layout, axis, true)
    }

    fn matmul(&self, lhs: &Storage, ll: &Layout, rhs: &Storage, rl: &Layout) -> Result<Storage> {
        matmul::matmul(lhs, ll, rhs, rl)
    }

    fn gather(&self, x: &Storage, layout: &Layout, axis: usize, index: &Storage, il: &Layout) -> Result<Storage> {
        indexing::gather(x, layout, axis, index, il)
    }

    fn scatter_add(
        &self,
        dst: &Storage,
        dl: &Layout,
        axis: usize,
        index: &Storage,
        il: &Layout,
        src: &Storage,
        sl: &Layout,
    ) -> Result<Storage> {
        indexing::scatter_add(dst, dl, axis, index, il, src, sl)
    }

    fn index_select(&self, x: &Storage, layout: &Layout, axis: usize, index: &Storage, il: &Layout) -> Result<Storage> {
        indexing::index_select_rows(x, layout, axis, index, il)
            .unwrap_or_else(|| defaults::index_select(self, x, layout, axis, index, il))
    }

    fn index_add(
        &self,
        dst: &Storage,
        dl: &Layout,
        axis: usize,
        index: &Storage,
        il: &Layout,
        src: &Storage,
        sl: &Layout,
    ) -> Result<Storage> {
        indexing::index_add_rows(dst, dl, axis, index, il, src, sl)
            .unwrap_or_else(|| defaults::index_add(self, dst, dl, axis, index, il, src, sl))
    }

    fn unfold(&self, x: &Storage, layout: &Layout, window: &Window2d, pad_value: f64) -> Result<Storage> {
        window::unfold(x, layout, window, pad_value)
    }

    fn fold(&self, cols: &Storage, layout: &Layout, window: &Window2d, output: [usize; 2]) -> Result<Storage> {
        window::fold(cols, layout, window, output)
    }

    fn max_pool2d(&self, x: &Storage, layout: &Layout, window: &Window2d) -> Result<(Storage, Storage)> {
        window::max_pool2d(x, layout, window)
    }

    fn avg_pool2d(&self, x: &Storage, layout: &Layout, window: &Window2d) -> Result<Storage> {
        window::avg_pool2d(x, layout, window)
    }

    fn conv2d(
        &self,
        x: &Storage,
        lx: &Layout,
        w: &Storage,
        lw: &Layout,
        bias: Option<(&Storage, &Layout)>,
        spec: &ConvSpec,
    ) -> Result<Storage> {
        conv::conv2d(x, lx, w, lw, bias, spec)
    }

    fn conv2d_input_grad(
        &self,
        grad: &Storage,
        lg: &Layout,
        w: &Storage,
        lw: &Layout,
        spec: &ConvSpec,
        plan: &ConvPlan,
    ) -> Result<Storage> {
        conv::conv2d_input_grad(grad, lg, w, lw, spec, plan)
    }

    fn conv2d_weight_grad(
        &self,
        x: &Storage,
        lx: &Layout,
        grad: &Storage,
        lg: &Layout,
        spec: &ConvSpec,
        plan: &ConvPlan,
    ) -> Result<Storage> {
        conv::conv2d_weight_grad(x, lx, grad, lg, spec, plan)
    }

    fn lstm_cell(&self, gates: (&Storage, &Layout), c: (&Storage, &Layout)) -> Result<Storage> {
        cells::lstm_cell(gates, c)
    }

    fn lstm_cell_backward(
        &self,
        gates: (&Storage, &Layout),
        c: (&Storage, &Layout),
        state: (&Storage, &Layout),
        grad: (&Storage, &Layout),
    ) -> Result<Storage> {
        cells::lstm_cell_backward(gates, c, state, grad)
    }
}
