//! Sequence labelling (the shape of NER): a part-of-speech tagger reading word and suffix
//! embeddings with a (bi)directional LSTM and classifying every token.

mod data;
mod model;

pub use data::{TaggedBatch, TaggingData, TaggingVocab};
pub use model::{EpochStart, Tagger, TaggerConfig, TaggerEpoch, evaluate_tagger, run_tagger_epoch, train_tagger_epoch};
