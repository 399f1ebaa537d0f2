//! Machine translation: parallel text, encoder-decoder models (recurrent with attention, and
//! the transformer), greedy and beam-search decoding, and the BLEU and chrF metrics.
//!
//! Every model answers to one trait, [`model::Seq2Seq`]: teacher-forced logits for training,
//! and `encode` / `step` / `select` for decoding, so greedy and beam search are written once
//! for every architecture. Like the other model crates it never names a backend.
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod bounds;
pub mod data;
pub mod decode;
pub mod error;
pub mod metrics;
pub mod model;
pub mod rnn;
pub mod train;
pub mod transformer;

pub use error::{Result, TranslateError};
pub use model::{Seq2Seq, SourceBatch, TargetBatch};
