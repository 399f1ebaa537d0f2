//! Tessera's tensor core: shapes, dtypes, strided layouts, the user-facing [`Tensor`], the
//! [`Device`] contract that every backend implements, and (behind the `conformance` feature)
//! the conformance suite each backend runs from its own tests.
//!
//! `tensor-core` knows no backend: a [`Tensor`] holds an `Arc<dyn Device>` chosen at run time.

#![warn(missing_docs)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod conv;
pub mod device;
mod dtype;
mod error;
mod layout;
mod ops;
mod random;
mod scalar;
mod shape;
mod storage;
mod tensor;

pub use conv::{ConvPlan, ConvSpec};
pub use device::{Composite, Device, PrimitivesOnly};
pub use dtype::{DType, Element, HostBuffer};
pub use error::{Result, TensorError};
pub use layout::{Layout, OffsetIter};
pub use ops::{ArgReduceOp, BinaryOp, ReduceOp, UnaryOp, Window1d, Window2d};
pub use random::TensorRng;
pub use scalar::Float;
pub use shape::Shape;
pub use storage::{BackendStorage, Storage};
pub use tensor::Tensor;
