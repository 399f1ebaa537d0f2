//! Extractive question answering on SQuAD v1.1: a reader that keeps character offsets so a
//! predicted token span maps back to the exact passage substring, the official v1.1
//! evaluation, and an attentive reader (DrQA-style: word embeddings and exact-match features,
//! BiLSTM passage and question encoders, an aligned question embedding, a self-attentive
//! question summary and bilinear start/end pointers).
//!
//! Like the model crates it never names a backend: models take the device as a value.
//!
//! ```
//! use qa::metric::{exact_match, f1};
//!
//! assert!(exact_match("The Eiffel Tower.", "eiffel tower"));
//! assert!((f1("the big red barn", "red barn") - 0.8).abs() < 1e-12);
//! ```
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod features;
pub mod folder;
pub mod metric;
pub mod model;
pub mod squad;
pub mod tokenize;
pub mod train;

pub use error::{QaError, Result};
pub use model::{Reader, ReaderConfig};
