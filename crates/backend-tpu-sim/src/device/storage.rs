//! Buffers of the simulated TPU: host memory standing in for its HBM/DRAM, f32 or i64.

use std::sync::RwLock;

use tensor_core::{BackendStorage, DType, HostBuffer, Result, Storage, TensorError, View, locks};

/// A simulated device buffer.
#[derive(Debug)]
pub struct TpuStorage {
    pub(crate) data: RwLock<Data>,
    len: usize,
}

/// The elements of a buffer.
#[derive(Clone, Debug)]
pub(crate) enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl BackendStorage for TpuStorage {
    fn dtype(&self) -> DType {
        match *locks::read(&self.data) {
            Data::F32(_) => DType::F32,
            Data::I64(_) => DType::I64,
        }
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl TpuStorage {
    pub(crate) fn storage(data: Data) -> Storage {
        let len = match &data {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        };
        Storage::new(TpuStorage { data: RwLock::new(data), len })
    }

    pub(crate) fn from_host(buffer: HostBuffer) -> Result<Storage> {
        match buffer {
            HostBuffer::F32(v) => Ok(Self::storage(Data::F32(v))),
            HostBuffer::I64(v) => Ok(Self::storage(Data::I64(v))),
            HostBuffer::F64(_) => Err(unsupported("upload")),
        }
    }
}

pub(crate) fn unsupported(op: &'static str) -> TensorError {
    TensorError::UnsupportedDType {
        op,
        dtype: DType::F64,
        reason: "the simulated TPU computes in f32 (or bf16/int8 in its array); cast to f32 first",
    }
}

/// The buffer behind a storage (the tensor layer keeps devices apart, so another is a bug).
#[allow(clippy::expect_used, reason = "an invariant, not input: a storage of another device reached the TPU simulator")]
pub(crate) fn buffer(storage: &Storage) -> &TpuStorage {
    storage.downcast_ref::<TpuStorage>().expect("a storage of another device reached the TPU simulator")
}

/// The view's elements in row-major order.
pub(crate) fn read(view: View<'_>) -> Data {
    let layout = view.layout();
    match &*locks::read(&buffer(view.storage()).data) {
        Data::F32(v) => Data::F32(layout.offsets().map(|o| v[o]).collect()),
        Data::I64(v) => Data::I64(layout.offsets().map(|o| v[o]).collect()),
    }
}

impl Data {
    /// The element type.
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::I64(_) => DType::I64,
        }
    }

    pub(crate) fn into_host(self) -> HostBuffer {
        match self {
            Data::F32(v) => HostBuffer::F32(v),
            Data::I64(v) => HostBuffer::I64(v),
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }

    /// The elements as f64 (exact for f32; for i64 up to 2^53), for conditions and casts.
    pub(crate) fn get_f64(&self, i: usize) -> f64 {
        match self {
            Data::F32(v) => v[i] as f64,
            Data::I64(v) => v[i] as f64,
        }
    }
}
