//! Named-entity recognition (CoNLL-2003): the column format's reader with its IOB2 check, the
//! entity-level metric as `conlleval` defines it, BiLSTM-CRF and softmax-head taggers over
//! word embeddings (optionally word2vec-initialised, optionally frozen) and char-CNN features,
//! their training loop and model folder, and raw-text tagging with character offsets.
//!
//! Like the other model crates it takes the device as a value and never names a backend.
//!
//! ```
//! use ner::metric::{EntityScores, entities};
//!
//! let gold = vec![vec!["B-PER", "I-PER", "O", "B-LOC"]];
//! let predicted = vec![vec!["B-PER", "I-PER", "O", "B-ORG"]];
//! assert_eq!(entities(&gold[0]).len(), 2);
//! let scores = EntityScores::compute(&gold, &predicted);
//! assert_eq!((scores.overall.correct, scores.overall.f1()), (1, 0.5));
//! ```

#![warn(missing_docs)]
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod conll;
pub mod data;
mod error;
pub mod folder;
pub mod metric;
pub mod model;
pub mod synthetic;
pub mod text;
pub mod train;

pub use error::{NerError, Result};
