//! Parallel data: TSV readers, the joint BPE vocabulary, and padded, length-bucketed batches.

mod batch;
mod tsv;
mod vocab;

pub use batch::{Example, encode_pairs, pair_batch, shuffle, source_batch, target_batch, token_batches};

pub use tsv::{Pair, Splits, read_splits, read_tsv, split_file};
pub use vocab::{BOS, EOS, PAD, Vocabulary};
