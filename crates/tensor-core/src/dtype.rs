//! Element types and host-side buffers.

use std::fmt;

/// The element type of a tensor.
///
/// `F32` is the working type on every backend; `F64` exists at least on the CPU (references and
/// gradient checks); `I64` carries indices and labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 64-bit signed integer, for indices and labels.
    I64,
}

impl DType {
    /// Size of one element in bytes.
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }

    /// Whether this is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I64 => "i64",
        })
    }
}

/// Contiguous element data on the host, tagged with its type: what goes into
/// [`crate::Device::upload`] and comes out of [`crate::Device::download`].
#[derive(Clone, Debug, PartialEq)]
pub enum HostBuffer {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
    /// i64 elements.
    I64(Vec<i64>),
}

impl HostBuffer {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            HostBuffer::F32(_) => DType::F32,
            HostBuffer::F64(_) => DType::F64,
            HostBuffer::I64(_) => DType::I64,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            HostBuffer::F32(v) => v.len(),
            HostBuffer::F64(v) => v.len(),
            HostBuffer::I64(v) => v.len(),
        }
    }

    /// Whether the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `len` copies of `value` converted to `dtype` (saturating for integers).
    pub fn filled(dtype: DType, len: usize, value: f64) -> Self {
        match dtype {
            DType::F32 => HostBuffer::F32(vec![value as f32; len]),
            DType::F64 => HostBuffer::F64(vec![value; len]),
            DType::I64 => HostBuffer::I64(vec![value as i64; len]),
        }
    }

    /// The elements converted to f64 (exact for f32, and for i64 up to 2^53).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            HostBuffer::F32(v) => v.iter().map(|&x| x as f64).collect(),
            HostBuffer::F64(v) => v.clone(),
            HostBuffer::I64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// f64 values converted to `dtype` (rounded for f32, truncated toward zero for i64).
    pub fn from_f64(dtype: DType, values: &[f64]) -> Self {
        match dtype {
            DType::F32 => HostBuffer::F32(values.iter().map(|&x| x as f32).collect()),
            DType::F64 => HostBuffer::F64(values.to_vec()),
            DType::I64 => HostBuffer::I64(values.iter().map(|&x| x as i64).collect()),
        }
    }
}

/// A Rust type that is a tensor element: converts to and from [`HostBuffer`].
pub trait Element: Copy + Send + Sync + fmt::Debug + 'static {
    /// The matching [`DType`].
    const DTYPE: DType;
    /// Wraps a vector into a host buffer.
    fn into_buffer(data: Vec<Self>) -> HostBuffer;
    /// Unwraps a host buffer of this type; `None` when the dtype differs.
    fn from_buffer(buffer: HostBuffer) -> Option<Vec<Self>>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn into_buffer(data: Vec<Self>) -> HostBuffer {
                HostBuffer::$variant(data)
            }
            fn from_buffer(buffer: HostBuffer) -> Option<Vec<Self>> {
                match buffer {
                    HostBuffer::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

element!(f32, F32);
element!(f64, F64);
element!(i64, I64);
