//! Reverse-mode automatic differentiation over Tessera's [`tensor_core::Device`] contract.
//!
//! A [`Var`] wraps a tensor. Ops on vars compute their value with tensor ops and, when an input
//! requires a gradient, record a node with a backward rule written with tensor ops too, so
//! every backend trains without backend-specific code. [`Var::backward`] applies the chain
//! rule from a loss back to the parameters (see `graph.rs`: record, topological order, apply
//! rules in reverse). Nothing is recorded inside [`no_grad`] or when no input needs a gradient.
//!
//! ```
//! use autograd::{GradcheckOptions, Var, gradcheck};
//! use tensor_core::Tensor;
//!
//! let device = backend_cpu::CpuDevice::shared();
//! // y = Σ (w ⊙ x)²  =>  dy/dw = 2 (w ⊙ x) ⊙ x
//! let x = Var::constant(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], [3], &device)?);
//! let w = Var::parameter(Tensor::from_vec(vec![0.5f64, -1.0, 2.0], [3], &device)?);
//! let y = w.mul(&x)?.square()?.sum_all()?;
//! y.backward()?;
//! assert_eq!(y.value().to_scalar()?, 0.25 + 4.0 + 36.0);
//! assert_eq!(w.grad().unwrap().to_vec::<f64>()?, [1.0, -8.0, 36.0]);
//! assert!(x.grad().is_none(), "constants get no gradient");
//! // The same rules against central finite differences, in f64.
//! let inputs = [Tensor::from_vec(vec![0.3f64, -0.7, 1.1, 0.2], [2, 2], &device)?];
//! gradcheck(|v| v[0].matmul(&v[0].transpose(0, 1)?)?.tanh(), &inputs, GradcheckOptions::default())?;
//! # Ok::<(), tensor_core::TensorError>(())
//! ```

#![warn(missing_docs)]

mod anomaly;
mod clip;
mod gradcheck;
mod graph;
mod rules;
mod var;

pub use anomaly::{Anomaly, detect_anomaly};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use gradcheck::{GradcheckOptions, gradcheck, gradcheck_scaled};
pub use graph::{is_grad_enabled, no_grad};
pub use rules::SharedWeight;
pub use var::Var;
