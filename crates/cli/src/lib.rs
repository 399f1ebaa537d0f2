//! The library half of the `tessera` package: what the command line shares with programs that
//! use Tessera's trained models — the built-in data, model folders for the classifiers and
//! taggers, readers for users' own images and text, and a pipeline that loads a folder and
//! predicts on raw input.

#![warn(missing_docs)]
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod builtin;
pub mod folder;
pub mod images;
pub mod pipeline;
pub mod tagging;
pub mod text_data;
mod use_error;

pub use pipeline::{Pipeline, Prediction};
pub use use_error::{Result, UseError};
