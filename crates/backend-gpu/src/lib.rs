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
//!
//! ```
//! use backend_gpu::{GpuDevice, GpuError};
//! use tensor_core::{DType, Tensor};
//!
//! match GpuDevice::shared() {
//!     Ok(gpu) => {
//!         let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2], &gpu)?;
//!         let y = x.try_matmul(&x.t())?.try_softmax(-1)?; // WGSL kernels; x.t() is read in place
//!         let rows = y.sum(&[-1], false).to_vec::<f32>()?;
//!         assert!(rows.iter().all(|s| (s - 1.0).abs() < 1e-6));
//!         assert!(!gpu.supports(DType::F64), "WGSL has no f64");
//!     }
//!     // Without an adapter, opening the device is a typed error that says how to get one.
//!     Err(error) => {
//!         assert!(matches!(error, GpuError::NoAdapter { .. }), "{error}");
//!         assert!(error.to_string().contains("mesa-vulkan-drivers"));
//!     }
//! }
//! # Ok::<(), tensor_core::TensorError>(())
//! ```

#![warn(missing_docs)]

mod attention;
mod cells;
mod context;
mod elementwise;
mod indexing;
mod loss;
mod matmul;
mod reduce;
mod shader;
mod storage;
mod window;

use std::sync::{Arc, OnceLock};

use tensor_core::device::attention_defaults;
use tensor_core::{
    ArgReduceOp, AttentionInputs, BinaryOp, Composite, ConvPlan, ConvSpec, DType, Device, HostBuffer, Layout, ReduceOp,
    Result, Storage, TensorError, UnaryOp, View, Window2d,
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

    /// A new buffer of `len` elements, checked against the adapter's limits first.
    fn alloc(&self, dtype: DType, len: usize) -> Result<Storage> {
        let bytes = len as u64 * dtype.size_in_bytes() as u64;
        self.gpu.check_size("alloc", bytes, len).map_err(|e| self.device_error(e))?;
        Ok(Storage::new(GpuStorage::new(self.gpu.buffer(bytes as usize), dtype, len, None)))
    }

    /// Runs one op of the contract inside wgpu's error scopes: a buffer or pipeline wgpu
    /// refuses, or memory it runs out of, becomes a typed error naming `op`.
    /// The kernels index elements with `i32`, so every view read (a broadcast one may have
    /// more elements than its buffer) must have at most [`context::MAX_ELEMENTS`] of them.
    fn guarded<T>(&self, op: &'static str, views: &[View<'_>], work: impl FnOnce() -> Result<T>) -> Result<T> {
        if let Some(view) = views.iter().find(|v| v.numel() > context::MAX_ELEMENTS) {
            let bytes = view.numel() as u64 * view.dtype().size_in_bytes() as u64;
            let limit = context::MAX_ELEMENTS as u64 * view.dtype().size_in_bytes() as u64;
            let what = "2^31 elements per view, the kernels' i32 indices";
            return Err(self.device_error(GpuError::TooLarge { op, bytes, limit, what }));
        }
        self.gpu.scoped(op, work).map_err(|e| self.device_error(e))?
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
        self.gpu.check_size("upload", bytes.len() as u64, data.len()).map_err(|e| self.device_error(e))?;
        let buffer = self.gpu.scoped("upload", || self.gpu.buffer_with(bytes)).map_err(|e| self.device_error(e))?;
        Ok(Storage::new(GpuStorage::new(buffer, data.dtype(), data.len(), bounds)))
    }

    fn download(&self, x: View<'_>) -> Result<HostBuffer> {
        self.guarded("download", &[x], || self.download_op(x.storage(), x.layout()))
    }

    fn sync(&self) -> Result<()> {
        self.gpu.wait().map_err(|e| self.device_error(e))
    }

    fn full(&self, dtype: DType, len: usize, value: f64) -> Result<Storage> {
        self.guarded("full", &[], || self.fill(dtype, len, value))
    }

    fn unary(&self, op: UnaryOp, x: View<'_>) -> Result<Storage> {
        self.guarded("unary", &[x], || self.unary_op(op, x.storage(), x.layout()))
    }

    fn binary(&self, op: BinaryOp, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        self.guarded("binary", &[lhs, rhs], || {
            self.binary_op(op, lhs.storage(), lhs.layout(), rhs.storage(), rhs.layout())
        })
    }

    fn where_select(&self, cond: View<'_>, on_true: View<'_>, on_false: View<'_>) -> Result<Storage> {
        self.guarded("where_select", &[cond, on_true, on_false], || {
            self.where_op(pair(cond), pair(on_true), pair(on_false))
        })
    }

    fn cast(&self, x: View<'_>, dtype: DType) -> Result<Storage> {
        self.guarded("cast", &[x], || self.convert(x.storage(), x.layout(), dtype))
    }

    fn copy(&self, x: View<'_>) -> Result<Storage> {
        self.guarded("copy", &[x], || self.convert(x.storage(), x.layout(), x.dtype()))
    }

    fn assign(&self, dst: View<'_>, src: View<'_>) -> Result<()> {
        self.guarded("assign", &[dst, src], || {
            self.write_into(dst.storage(), dst.layout(), src.storage(), src.layout(), None)
        })
    }

    fn add_scaled(&self, dst: View<'_>, alpha: f64, src: View<'_>) -> Result<()> {
        self.guarded("add_scaled", &[dst, src], || {
            self.write_into(dst.storage(), dst.layout(), src.storage(), src.layout(), Some(alpha))
        })
    }

    fn concat(&self, parts: &[View<'_>], axis: usize) -> Result<Storage> {
        self.guarded("concat", parts, || {
            let mut dims = parts[0].dims().to_vec();
            dims[axis] = parts.iter().map(|part| part.dims()[axis]).sum();
            let out = self.alloc(parts[0].dtype(), dims.iter().product())?;
            let whole = Layout::contiguous(dims);
            let mut start = 0;
            for part in parts {
                let len = part.dims()[axis];
                self.write_into(&out, &whole.narrow(axis, start, len)?, part.storage(), part.layout(), None)?;
                start += len;
            }
            Ok(out)
        })
    }

    fn reduce(&self, op: ReduceOp, x: View<'_>, axes: &[usize]) -> Result<Storage> {
        self.guarded("reduce", &[x], || self.reduce_op(op, x.storage(), x.layout(), axes))
    }

    fn arg_reduce(&self, op: ArgReduceOp, x: View<'_>, axis: usize) -> Result<Storage> {
        self.guarded("arg_reduce", &[x], || self.arg_reduce_op(op, x.storage(), x.layout(), axis))
    }

    fn softmax(&self, x: View<'_>, axis: usize) -> Result<Storage> {
        self.guarded("softmax", &[x], || self.softmax_op(x.storage(), x.layout(), axis, false))
    }

    fn log_softmax(&self, x: View<'_>, axis: usize) -> Result<Storage> {
        self.guarded("log_softmax", &[x], || self.softmax_op(x.storage(), x.layout(), axis, true))
    }

    fn matmul(&self, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        self.guarded("matmul", &[lhs, rhs], || self.matmul_op(lhs.storage(), lhs.layout(), rhs.storage(), rhs.layout()))
    }

    fn gather(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
        self.guarded("gather", &[x, index], || {
            self.gather_op(x.storage(), x.layout(), axis, index.storage(), index.layout())
        })
    }

    fn scatter_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
        self.guarded("scatter_add", &[dst, index, src], || self.scatter_add_op(pair(dst), axis, pair(index), pair(src)))
    }

    fn index_select(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
        self.guarded("index_select", &[x, index], || {
            self.index_select_op(x.storage(), x.layout(), axis, index.storage(), index.layout())
        })
    }

    fn index_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
        self.guarded("index_add", &[dst, index, src], || self.index_add_op(pair(dst), axis, pair(index), pair(src)))
    }

    fn unfold(&self, x: View<'_>, window: &Window2d, pad_value: f64) -> Result<Storage> {
        self.guarded("unfold", &[x], || self.unfold_op(x.storage(), x.layout(), window, pad_value))
    }

    fn fold(&self, cols: View<'_>, window: &Window2d, output: [usize; 2]) -> Result<Storage> {
        self.guarded("fold", &[cols], || self.fold_op(cols.storage(), cols.layout(), window, output))
    }

    fn max_pool2d(&self, x: View<'_>, window: &Window2d) -> Result<(Storage, Storage)> {
        self.guarded("max_pool2d", &[x], || {
            let (values, positions) = self.pool_op(x.storage(), x.layout(), window, false)?;
            Ok((values, positions.expect("max pooling returns positions")))
        })
    }

    fn avg_pool2d(&self, x: View<'_>, window: &Window2d) -> Result<Storage> {
        self.guarded("avg_pool2d", &[x], || Ok(self.pool_op(x.storage(), x.layout(), window, true)?.0))
    }

    fn conv2d(&self, x: View<'_>, weight: View<'_>, bias: Option<View<'_>>, spec: &ConvSpec) -> Result<Storage> {
        self.guarded("conv2d", &[x, weight], || self.conv2d_op(pair(x), pair(weight), bias.map(pair), spec))
    }

    fn conv2d_input_grad(&self, grad: View<'_>, weight: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
        self.guarded("conv2d_input_grad", &[grad, weight], || {
            self.conv2d_input_grad_op(pair(grad), pair(weight), spec, plan)
        })
    }

    fn conv2d_weight_grad(&self, x: View<'_>, grad: View<'_>, spec: &ConvSpec, plan: &ConvPlan) -> Result<Storage> {
        self.guarded("conv2d_weight_grad", &[x, grad], || self.conv2d_weight_grad_op(pair(x), pair(grad), spec, plan))
    }

    fn lstm_cell(&self, gates: View<'_>, c: View<'_>) -> Result<Storage> {
        self.guarded("lstm_cell", &[gates, c], || self.lstm_cell_op(pair(gates), pair(c)))
    }

    fn lstm_cell_backward(&self, gates: View<'_>, c: View<'_>, state: View<'_>, grad: View<'_>) -> Result<Storage> {
        self.guarded("lstm_cell_backward", &[gates, c, state, grad], || {
            self.lstm_cell_backward_op(pair(gates), pair(c), pair(state), pair(grad))
        })
    }

    fn cross_entropy(&self, logits: View<'_>, labels: View<'_>) -> Result<(Storage, Storage)> {
        self.guarded("cross_entropy", &[logits, labels], || self.cross_entropy_op(pair(logits), pair(labels)))
    }

    fn cross_entropy_backward(
        &self,
        logits: View<'_>,
        labels: View<'_>,
        lse: View<'_>,
        grad: View<'_>,
    ) -> Result<Storage> {
        self.guarded("cross_entropy_backward", &[logits, labels, lse, grad], || {
            self.cross_entropy_backward_op(pair(logits), pair(labels), pair(lse), pair(grad))
        })
    }

    fn attention(&self, inputs: AttentionInputs<'_>) -> Result<(Storage, Storage)> {
        match self.attention_widths(&inputs) {
            Some(widths) => {
                self.guarded("attention", &[inputs.q, inputs.k, inputs.v], || self.attention_op(&inputs, widths))
            }
            None => attention_defaults::attention(self, inputs),
        }
    }

    fn attention_backward(
        &self,
        inputs: AttentionInputs<'_>,
        out: View<'_>,
        lse: View<'_>,
        grad_out: View<'_>,
    ) -> Result<(Storage, Storage, Storage)> {
        let Some(widths) = self.attention_widths(&inputs) else {
            return attention_defaults::attention_backward(self, inputs, out, lse, grad_out);
        };
        let saved = attention::Saved { out, lse, grad: grad_out };
        self.guarded("attention_backward", &[inputs.q, inputs.k, inputs.v, out, lse, grad_out], || {
            self.attention_backward_op(&inputs, &saved, widths)
        })
    }
}

/// A view as the (storage, layout) pair the shader launchers take.
fn pair(view: View<'_>) -> (&Storage, &Layout) {
    (view.storage(), view.layout())
}
