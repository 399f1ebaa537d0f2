//! Neural-network building blocks on [`autograd`]: the [`Module`] trait with hierarchically
//! named, freezable parameters; layers with PyTorch's names and layouts; initialisers; losses
//! for regression, binary and multi-class heads; optimizers and schedules; safetensors
//! checkpoints; datasets, loaders and training utilities.

#![warn(missing_docs)]

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
pub use param::{Buffer, Param};
