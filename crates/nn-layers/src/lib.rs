//! Neural-network building blocks on [`autograd`]: the [`Module`] trait with hierarchically
//! named, freezable parameters; layers with PyTorch's names and layouts; initialisers; losses
//! for regression, binary and multi-class heads; optimizers and schedules; safetensors
//! checkpoints; datasets, loaders and training utilities.
//!
//! ```
//! use autograd::Var;
//! use nn_layers::layers::{Activation, Linear, Sequential};
//! use nn_layers::loss::{CrossEntropy, cross_entropy};
//! use nn_layers::optim::{Optimizer, Sgd, SgdConfig};
//! use nn_layers::{Module, ModuleExt};
//! use tensor_core::{Tensor, TensorRng};
//!
//! let device = backend_cpu::CpuDevice::shared();
//! let mut rng = TensorRng::new(0);
//! let model = Sequential::new()
//!     .push(Linear::new(2, 8, &mut rng, &device)?)
//!     .push(Activation::Tanh)
//!     .push(Linear::new(8, 2, &mut rng, &device)?);
//! let names: Vec<String> = model.parameters().into_iter().map(|(name, _)| name).collect();
//! assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]); // PyTorch's names
//! assert_eq!(model.num_weights(), 2 * 8 + 8 + 8 * 2 + 2);
//!
//! // A few SGD steps on XOR-like data lower the cross-entropy.
//! let x = Var::constant(Tensor::from_vec(vec![0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], [4, 2], &device)?);
//! let y = Tensor::from_vec(vec![0i64, 1, 1, 0], [4], &device)?;
//! let mut sgd = Sgd::new(model.parameters(), SgdConfig::new(0.5));
//! let mut losses = Vec::new();
//! for _ in 0..20 {
//!     sgd.zero_grad();
//!     let loss = cross_entropy(&model.forward(&x)?, &y, CrossEntropy::default())?;
//!     loss.backward()?;
//!     sgd.step()?;
//!     losses.push(loss.value().to_scalar()?);
//! }
//! assert!(losses[19] < losses[0], "{losses:?}");
//! # Ok::<(), nn_layers::NnError>(())
//! ```

#![warn(missing_docs)]
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod checkpoint;
pub mod data;
mod error;
mod init;
pub mod layers;
pub mod loss;
pub mod models;
mod module;
pub mod optim;
mod param;
pub mod train;

pub use error::{NnError, Result};
pub use init::{Init, fans};
pub use module::{Module, ModuleExt, glob_match, join};
pub use param::{Buffer, Param, WeightDelta};
