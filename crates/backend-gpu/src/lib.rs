//! Tessera's GPU backend: the whole [`Device`] contract in WGSL compute shaders through wgpu.
//!
//! - Tensors stay in device buffers between ops; data reaches the host only through
//!   [`Device::download`]. Buffers are released when the last handle drops.
//! - Every op, primitive and composite, runs as the backend's own kernel over strided views
//!   (no op falls back to the host). Pipelines are compiled once per process and cached.
//! - Work is recorded into one command encoder and submitted in batches; [`Device::sync`] and
//!   [`Device::download`] submit and wait, with a time-out that becomes an error, never a hang.
//! - f32 is the compute type and i64 (through the adapter's `SHADER_INT64`) carries indices;
//!   WGSL has no f64 arithmetic, so f64 tensors are refused with a typed error.
//!
//! The adapter comes from the environment: `WGPU_BACKEND` (e.g. `vulkan`), `WGPU_ADAPTER_NAME`
//! and `WGPU_POWER_PREF`. On a machine without a GPU, Mesa's lavapipe provides Vulkan on the CPU.

#![warn(missing_docs)]

mod cells;
mod context;
mod elementwise;
mod indexing;
mod matmul;
mod reduce;
mod shader;
mod storage;
mod window;

use std::sync::{Arc, OnceLock};

use tensor_core::{
    ArgReduceOp, BinaryOp, Composite, ConvPlan, ConvSpec, DType, Device, HostBuffer, Layout, ReduceOp, Result, Storage,
    TensorError, UnaryOp, Window2d,
};

pub use context::GpuError;
pub use storage::GpuStorage;

use context::Gpu;
use storage::{buffer_of, check_dtype};

/// The GPU device: one adapter, its queue and its compiled kernels.
pub struct GpuDevice {
    gpu: Gpu,
}

impl std::fmt::Debug for GpuDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuDevice").field("adapter", &self.gpu.info.name).finish()
    }
}

impl GpuDevice {
    /// Opens the adapter the environment selects, as a new device.
    pub fn open() -> std::result::Result<GpuDevice, GpuError> {
        Ok(GpuDevice { gpu: Gpu::open()? })
    }

    /// The process-wide GPU device, opened on first use (opening an adapter takes a while,
    /// and every tensor on it can then meet every other).
    pub fn shared() -> std::result::Result<Arc<dyn Device>, GpuError> {
        Ok(GpuDevice::shared_gpu()?)
    }

    /// [`GpuDevice::shared`] as its concrete type (for adapter details and counters).
    pub fn shared_gpu() -> std::result::Result<Arc<GpuDevice>, GpuError> {
        static SHARED: OnceLock<std::result::Result<Arc<GpuDevice>, GpuError>> = OnceLock::new();
        SHARED.get_or_init(|| GpuDevice::open().map(Arc::new)).clone()
    }

    /// What the adapter says about itself: name, driver, backend and device type.
    pub fn adapter_summary(&self) -> String {
        let info = &self.gpu.info;
        format!(
            "{} ({:?}, {:?}, driver {} {})",
            info.name, info.backend, info.device_type, info.driver, info.driver_info
        )
    }

    /// Whether the adapter is a software rasteriser on the CPU (Mesa's lavapipe): its timings are a
    /// smoke test, never GPU performance.
    pub fn is_software(&self) -> bool {
        self.gpu.info.device_type == wgpu::DeviceType::Cpu
    }

    /// Number of compute pipelines compiled so far (each kernel variant once per process).
    pub fn pipelines_compiled(&self) -> usize {
        self.gpu.pipelines_compiled()
    }

    fn alloc(&self, dtype: DType, len: usize) -> Storage {
        Storage::new(GpuStorage::new(self.gpu.buffer(len * dtype.size_in_bytes()), dtype, len, None))
    }

    fn device_error(&self, error: GpuError) -> TensorError {
        TensorError::Device { device: self.name(), msg: error.to_string() }
    }

    fn download_op(&self, x: &Storage, layout: &Layout) -> Result<HostBuffer> {
        let dtype = x.dtype();
        let (source, offset) =
            if layout.is_contiguous() { (x.clone(), layout.offset()) } else { (self.convert(x, layout, dtype)?, 0) };
        let size = dtype.size_in_bytes();
        let bytes = self
            .gpu
            .read(&buffer_of(&source).buffer, (offset * size) as u64, layout.numel() * size)
            .map_err(|e| self.device_error(e))?;
        Ok(match dtype {
            DType::F32 => HostBuffer::F32(bytemuck::pod_collect_to_vec(&bytes)),
            _ => HostBuffer::I64(bytemuck::pod_collect_to_vec(&bytes)),
        })
    }
}

impl Device for GpuDevice {
    fn name(&self) -> String {
        format!("gpu ({}, {:?})", self.gpu.info.name, self.gpu.info.backend)
    }

    fn supports(&self, dtype: DType) -> bool {
        dtype != DType::F64
    }

    fn native_composites(&self) -> Vec<Composite> {
        Composite::ALL.to_vec()
    }

    fn upload(&self, data: HostBuffer) -> Result<Storage> {
        check_dtype("upload", data.dtype())?;
        let (bytes, bounds): (&[u8], _) = match &data {
            HostBuffer::F32(v) => (bytemuck::cast_slice(v), None),
            HostBuffer::I64(v) => {
                let bounds = v.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                (bytemuck::cast_slice(v), Some(bounds))
            }
            HostBuffer::F64(_) => unreachable!("rejected above"),
        };
        let buffer = self.gpu.buffer_with(bytes);
        Ok(Storage::new(GpuStorage::new(buffer, data.dtype(), data.len(), bounds)))
    }

    fn download(&self, x: &Storage, layout: &Layout) -> Result<HostBuffer> {
        self.download_op(x, layout)
    }

    fn sync(&self) -> Result<()> {
        self.gpu.wait().map_err(|e| self.device_error(e))
    }

    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<Storage> {
        self.fill(dtype, len, value)
    }

    fn unary(&self, op: UnaryOp, x: &Storage, layout: &Layout) -> Result<Storage> {
        self.unary_op(op, x, layout)
    }

    fn binary(
        &self,
        op: BinaryOp,
        lhs: &Storage,
        lhs_layout: &Layout,
        rhs: &Storage,
        rhs_layout: &Layout,
    ) -> Result<Storage> {
        self.binary_op(op, lhs, lhs_layout, rhs, rhs_layout)
    }

    fn where_select(
        &self,
        cond: &Storage,
        cond_layout: &Layout,
        on_true: &Storage,
        true_layout: &Layout,
        on_false: &Storage,
        false_layout: &Layout,
    ) -> Result<Storage> {
        self.where_op((cond, cond_layout), (on_true, true_layout), (on_false, false_layout))
    }

    fn cast(&self, x: &Storage, layout: &Layout, dtype: DType) -> Result<Storage> {
        self.convert(x, layout, dtype)
    }

    fn copy(&self, x: &Storage, layout: &Layout) -> Result<Storage> {
        self.convert(x, layout, x.dtype())
    }

    fn assign(&self, dst: &Storage, dst_layout: &Layout, src: &Storage, src_layout: &Layout) -> Result<()> {
        self.write_into(dst, dst_layout, src, src_layout, None)
    }

    fn add_scaled(
        &self,
        dst: &Storage,
        dst_layout: &Layout,
        alpha: f64,
        src: &Storage,
        src_layout: &Layout,
    ) -> Result<()> {
        self.write_into(dst, dst_layout, src, src_layout, Some(alpha))
    }

    fn concat(&self, parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
        let mut dims = parts[0].1.dims().to_vec();
        dims[axis] = parts.iter().map(|(_, l)| l.dims()[axis]).sum();
        let out = self.alloc(parts[0].0.dtype(), dims.iter().product());
        let whole = Layout::contiguous(dims);
        let mut start = 0;
        for (part, layout) in parts {
            let len = layout.dims()[axis];
            self.write_into(&out, &whole.narrow(axis, start, len)?, part, layout, None)?;
            start += len;
        }
        Ok(out)
    }

    fn reduce(&self, op: ReduceOp, x: &Storage, layout: &Layout, axes: &[usize]) -> Result<Storage> {
        self.reduce_op(op, x, layout, axes)
    }

    fn arg_reduce(&self, op: ArgReduceOp, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        self.arg_reduce_op(op, x, layout, axis)
    }

    fn softmax(&self, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        self.softmax_op(x, layout, axis, false)
    }

    fn log_softmax(&self, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        self.softmax_op(x, layout, axis, true)
    }

    fn matmul(&self, lhs: &Storage, lhs_layout: &Layout, rhs: &Storage, rhs_layout: &Layout) -> Result<Storage> {
        self.matmul_op(lhs, lhs_layout, rhs, rhs_layout)
    }

    fn gather(
        &self,
        x: &Storage,
        layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
    ) -> Result<Storage> {
        self.gather_op(x, layout, axis, index, index_layout)
    }

    fn scatter_add(
        &self,
        dst: &Storage,
        dst_layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
        src: &Storage,
        src_layout: &Layout,
    ) -> Result<Storage> {
        self.scatter_add_op((dst, dst_layout), axis, (index, index_layout), (src, src_layout))
    }

    fn index_select(
        &self,
        x: &Storage,
        layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
    ) -> Result<Storage> {
        self.index_select_op(x, layout, axis, index, index_layout)
    }

    fn index_add(
        &self,
        dst: &Storage,
        dst_layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
        src: &Storage,
        src_layout: &Layout,
    ) -> Result<Storage> {
        self.index_add_op((dst, dst_layout), axis, (index, index_layout), (src, src_layout))
    }

    fn unfold(&self, x: &Storage, layout: &Layout, window: &Window2d, pad_value: f64) -> Result<Storage> {
        self.unfold_op(x, layout, window, pad_value)
    }

    fn fold(&self, cols: &Storage, layout: &Layout, window: &Window2d, output: [usize; 2]) -> Result<Storage> {
        self.fold_op(cols, layout, window, output)
    }

    fn max_pool2d(&self, x: &Storage, layout: &Layout, window: &Window2d) -> Result<(Storage, Storage)> {
        let (values, positions) = self.pool_op(x, layout, window, false)?;
        Ok((values, positions.expect("max pooling returns positions")))
    }

    fn avg_pool2d(&self, x: &Storage, layout: &Layout, window: &Window2d) -> Result<Storage> {
        Ok(self.pool_op(x, layout, window, true)?.0)
    }

    fn conv2d(
        &self,
        x: &Storage,
        x_layout: &Layout,
        weight: &Storage,
        weight_layout: &Layout,
        bias: Option<(&Storage, &Layout)>,
        spec: &ConvSpec,
    ) -> Result<Storage> {
        self.conv2d_op((x, x_layout), (weight, weight_layout), bias, spec)
    }

    fn conv2d_input_grad(
        &self,
        grad: &Storage,
        grad_layout: &Layout,
        weight: &Storage,
        weight_layout: &Layout,
        spec: &ConvSpec,
        plan: &ConvPlan,
    ) -> Result<Storage> {
        self.conv2d_input_grad_op((grad, grad_layout), (weight, weight_layout), spec, plan)
    }

    fn conv2d_weight_grad(
        &self,
        x: &Storage,
        x_layout: &Layout,
        grad: &Storage,
        grad_layout: &Layout,
        spec: &ConvSpec,
        plan: &ConvPlan,
    ) -> Result<Storage> {
        self.conv2d_weight_grad_op((x, x_layout), (grad, grad_layout), spec, plan)
    }

    fn lstm_cell(&self, gates: (&Storage, &Layout), c: (&Storage, &Layout)) -> Result<Storage> {
        self.lstm_cell_op(gates, c)
    }

    fn lstm_cell_backward(
        &self,
        gates: (&Storage, &Layout),
        c: (&Storage, &Layout),
        state: (&Storage, &Layout),
        grad: (&Storage, &Layout),
    ) -> Result<Storage> {
        self.lstm_cell_backward_op(gates, c, state, grad)
    }
}
