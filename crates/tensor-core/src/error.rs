//! The error type shared by every tensor operation and every backend.

use crate::{DType, Shape};

/// Result alias used throughout Tessera's tensor layer.
pub type Result<T> = std::result::Result<T, TensorError>;

/// Everything that can go wrong in a tensor operation.
///
/// Shape and dtype errors come from misuse and name the operation and both operands;
/// [`TensorError::Device`] comes from the environment (a lost GPU, a failed transfer).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TensorError {
    /// Two operands whose shapes must agree do not.
    #[error("{op}: shapes do not match: lhs {lhs} vs rhs {rhs}{detail}")]
    ShapeMismatch {
        /// The operation that failed.
        op: &'static str,
        /// Shape of the first operand.
        lhs: Shape,
        /// Shape of the second operand.
        rhs: Shape,
        /// Extra explanation, starting with a space or empty.
        detail: String,
    },
    /// Host data does not have as many elements as the shape asks for.
    #[error("{op}: data has {got} elements but shape {shape} needs {expected}")]
    DataLength {
        /// The operation that failed.
        op: &'static str,
        /// Requested shape.
        shape: Shape,
        /// Elements the shape needs.
        expected: usize,
        /// Elements provided.
        got: usize,
    },
    /// Operands have different element types.
    #[error("{op}: dtypes differ: {lhs} vs {rhs}")]
    DTypeMismatch {
        /// The operation that failed.
        op: &'static str,
        /// First dtype.
        lhs: DType,
        /// Second dtype.
        rhs: DType,
    },
    /// The operation is not defined for this element type.
    #[error("{op}: dtype {dtype} is not supported ({reason})")]
    UnsupportedDType {
        /// The operation that failed.
        op: &'static str,
        /// The offending dtype.
        dtype: DType,
        /// Why, or what is supported instead.
        reason: &'static str,
    },
    /// An axis argument is outside `0..rank`.
    #[error("{op}: axis {axis} is out of range for a tensor of rank {rank} (shape {shape})")]
    AxisOutOfRange {
        /// The operation that failed.
        op: &'static str,
        /// The axis asked for.
        axis: isize,
        /// Rank of the tensor.
        rank: usize,
        /// Shape of the tensor.
        shape: Shape,
    },
    /// An index value read from an index tensor is outside its axis.
    #[error("{op}: index {index} is out of range for axis {axis} of size {size}")]
    IndexOutOfRange {
        /// The operation that failed.
        op: &'static str,
        /// The index value found.
        index: i64,
        /// The axis indexed.
        axis: usize,
        /// Size of that axis.
        size: usize,
    },
    /// Operands live on different devices.
    #[error("{op}: operands live on different devices: {lhs} vs {rhs}")]
    DeviceMismatch {
        /// The operation that failed.
        op: &'static str,
        /// Device of the first operand.
        lhs: String,
        /// Device of the second operand.
        rhs: String,
    },
    /// Any other invalid argument, explained in words.
    #[error("{op}: {msg}")]
    Invalid {
        /// The operation that failed.
        op: &'static str,
        /// What was wrong.
        msg: String,
    },
    /// The device failed for a reason outside the caller's control.
    #[error("device {device}: {msg}")]
    Device {
        /// Name of the device.
        device: String,
        /// What failed.
        msg: String,
    },
}

impl TensorError {
    /// Shorthand for [`TensorError::Invalid`].
    pub fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        TensorError::Invalid { op, msg: msg.into() }
    }

    /// Shorthand for [`TensorError::ShapeMismatch`] without extra detail.
    pub fn shape_mismatch(op: &'static str, lhs: &Shape, rhs: &Shape) -> Self {
        TensorError::ShapeMismatch { op, lhs: lhs.clone(), rhs: rhs.clone(), detail: String::new() }
    }
}
