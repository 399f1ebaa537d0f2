//! Reverse-mode automatic differentiation over Tessera's [`tensor_core::Device`] contract.
//!
//! A [`Var`] wraps a tensor. Ops on vars compute their value with tensor ops and, when an input
//! requires a gradient, record a node with a backward rule written with tensor ops too, so
//! every backend trains without backend-specific code. [`Var::backward`] applies the chain
//! rule from a loss back to the parameters (see `graph.rs`: record, topological order, apply
//! rules in reverse). Nothing is recorded inside [`no_grad`] or when no input needs a gradient.

#![warn(missing_docs)]

mod clip;
mod gradcheck;
mod graph;
mod rules;
mod var;

pub use clip::{clip_grad_norm, clip_grad_value};
pub use gradcheck::{GradcheckOptions, gradcheck};
pub use graph::{is_grad_enabled, no_grad};
pub use rules::SharedWeight;
pub use var::Var;
