//! Tessera's NLP crate: text in, tensors out, and the models that read text.
//!
//! - [`tokenize`]: a Unicode-aware word tokenizer.
//! - [`vocab`]: vocabularies with counts, `min_count` and a size cap, and id encoding.
//! - [`corpus`]: readers for labelled text (the VADER sentiment sets), with typed errors that
//!   name the file and line.
//! - [`classify`]: token-id datasets padded per batch and a TextCNN sentence classifier.
//! - [`ngram`]: counting language models (Kneser-Ney, Katz, add-k) and ARPA files.
//! - [`lm`]: one API for every language model, recurrent LMs, their training, mixtures and
//!   generation.

#![warn(missing_docs)]

pub mod classify;
pub mod corpus;
mod error;
pub mod lm;
pub mod ngram;
pub mod tag;
pub mod tokenize;
pub mod vocab;
pub mod word2vec;

pub use error::{NlpError, Result};
