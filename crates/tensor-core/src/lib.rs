//! Tessera's tensor core: shapes, dtypes, strided layouts, the user-facing [`Tensor`], the
//! [`Device`] contract that every backend implements, and (behind the `conformance` feature)
//! the conformance suite each backend runs from its own tests.
//!
//! `tensor-core` knows no backend: a [`Tensor`] holds an `Arc<dyn Device>` chosen at run time.
//! Here it is the CPU backend (a dev-dependency, as in every example); any other works the same.
//!
//! ```
//! use tensor_core::{DType, Tensor, TensorRng};
//!
//! let device = backend_cpu::CpuDevice::shared();
//! let x = Tensor::from_vec(vec![1.0f32, -2.0, 3.0, -4.0, 5.0, -6.0], [2, 3], &device)?;
//! let w = TensorRng::new(0).uniform([4, 3], -1.0, 1.0, DType::F32, &device)?;
//! let b = Tensor::zeros([4], DType::F32, &device)?;
//! let y = x.try_matmul(&w.t())?.try_add(&b)?.try_relu()?; // w.t() is a view: no copy
//! assert_eq!(y.dims(), &[2, 4]);
//! assert!(y.to_vec::<f32>()?.iter().all(|&v| v >= 0.0));
//! assert_eq!(x.abs().sum_all().to_scalar()?, 21.0);
//! assert_eq!(x.argmax(-1, false).to_vec::<i64>()?, [2, 1]);
//! // Misuse is a typed error that names the op and both shapes.
//! let error = x.try_matmul(&x).unwrap_err();
//! assert!(error.to_string().contains("inner dimensions differ: 3 != 2"));
//! # Ok::<(), tensor_core::TensorError>(())
//! ```
#![cfg_attr(doctest, doc = include_str!("../../../docs/architecture.md"))]
#![warn(missing_docs)]

mod attention;
#[cfg(feature = "conformance")]
pub mod conformance;
mod conv;
pub mod device;
mod dtype;
mod error;
mod layout;
pub mod locks;
mod ops;
mod random;
mod scalar;
mod shape;
mod storage;
mod tensor;
mod view;

pub use attention::{AttentionInputs, AttentionMask, default_attention_scale};
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
pub use tensor::{AttentionOutput, Tensor};
pub use view::View;
