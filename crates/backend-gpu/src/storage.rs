//! GPU buffers behind [`tensor_core::Storage`]: f32 as 4-byte words, i64 as 8-byte words
//! (WGSL `i64`, from the adapter's SHADER_INT64 feature). The wgpu buffer is released when the
//! last handle drops (wgpu keeps it alive until queued work that uses it has finished).

use std::sync::atomic::{AtomicBool, Ordering};

use tensor_core::{BackendStorage, DType, Result, Storage, TensorError};

/// A device buffer and what it holds.
#[derive(Debug)]
pub struct GpuStorage {
    pub(crate) buffer: wgpu::Buffer,
    dtype: DType,
    len: usize,
    /// For i64 buffers uploaded from the host: the smallest and largest value, so index ops can
    /// check their range without reading the buffer back.
    bounds: Option<(i64, i64)>,
    /// Cleared when a kernel writes into the buffer in place, which makes `bounds` stale.
    bounds_valid: AtomicBool,
}

impl BackendStorage for GpuStorage {
    fn dtype(&self) -> DType {
        self.dtype
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl GpuStorage {
    pub(crate) fn new(buffer: wgpu::Buffer, dtype: DType, len: usize, bounds: Option<(i64, i64)>) -> Self {
        GpuStorage { buffer, dtype, len, bounds, bounds_valid: AtomicBool::new(bounds.is_some()) }
    }

    /// The smallest and largest value, when known without reading the buffer.
    pub(crate) fn bounds(&self) -> Option<(i64, i64)> {
        self.bounds.filter(|_| self.bounds_valid.load(Ordering::Acquire))
    }

    /// Forgets the known range: the buffer is about to be written in place.
    pub(crate) fn forget_bounds(&self) {
        self.bounds_valid.store(false, Ordering::Release);
    }
}

/// The dtypes the GPU stores: f32 and i64 (WGSL has no f64 arithmetic).
pub(crate) fn check_dtype(op: &'static str, dtype: DType) -> Result<()> {
    if dtype == DType::F64 {
        return Err(TensorError::UnsupportedDType {
            op,
            dtype,
            reason: "the GPU backend computes in f32 (WGSL has no f64); cast to f32 first",
        });
    }
    Ok(())
}

/// The GPU buffer behind a storage; storages of other devices are rejected by the tensor layer,
/// so a foreign one here is a bug.
pub(crate) fn buffer_of(storage: &Storage) -> &GpuStorage {
    storage.downcast_ref::<GpuStorage>().expect("a storage of another device reached the GPU backend")
}

/// The WGSL scalar type of a dtype.
pub(crate) fn wgsl_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "f32",
        DType::I64 => "i64",
        DType::F64 => unreachable!("f64 never reaches a GPU kernel (check_dtype rejects it)"),
    }
}
