//! Sequence labelling (the shape of NER): a part-of-speech tagger reading word and suffix
//! embeddings with a (bi)directional LSTM and classifying every token.

mod data;
mod model;

pub use data::{TaggedBatch, TaggingData, TaggingVocab};
pub use model::{Tagger, TaggerConfig, evaluate_tagger, train_tagger_epoch};
