//! Binary sentence sentiment from rated sentences: label 1 for a positive mean rating, 0 for a
//! negative one (neutral sentences are dropped), a seeded train/valid/test split, and a
//! vocabulary built from the training split only.

use std::path::Path;

use super::{TokenDataset, split_indices};
use crate::corpus::read_rated_text;
use crate::tokenize::WordTokenizer;
use crate::vocab::{Vocab, VocabConfig};
use crate::{NlpError, Result};

/// A ready-to-train binary sentiment task.
pub struct SentimentTask {
    /// Training split (ids under `vocab`).
    pub train: TokenDataset,
    /// Validation split, for choosing an epoch.
    pub valid: TokenDataset,
    /// Held-out test split.
    pub test: TokenDataset,
    /// Words of the training split; id 0 is `<pad>`, 1 is `<unk>`.
    pub vocab: Vocab,
    /// Sentences dropped for a rating of exactly zero.
    pub neutral_dropped: usize,
}

/// Reads a VADER ground-truth file, labels by the sign of the rating and splits it
/// `fractions` = (train, valid, test) with `seed`. Batches pad to at least `min_len` tokens.
pub fn sentiment_task(path: &Path, fractions: [f64; 3], seed: u64, min_len: usize) -> Result<SentimentTask> {
    let rated = read_rated_text(path)?;
    let tokenizer = WordTokenizer::default();
    let mut sequences = Vec::new();
    let mut labels = Vec::new();
    for r in &rated {
        if r.score != 0.0 {
            sequences.push(tokenizer.tokenize(&r.text));
            labels.push(i64::from(r.score > 0.0));
        }
    }
    let neutral_dropped = rated.len() - labels.len();
    if labels.is_empty() {
        return Err(NlpError::Invalid(format!("{}: every sentence is rated neutral", path.display())));
    }
    // Split first so the vocabulary sees only training sentences.
    let parts = split_indices(labels.len(), &fractions, seed);
    let vocab =
        Vocab::build(parts[0].iter().flat_map(|&i| sequences[i].iter().map(String::as_str)), &VocabConfig::default());
    let encode = |indices: &[usize]| {
        let ids = indices.iter().map(|&i| vocab.encode(&sequences[i])).collect();
        TokenDataset::new(ids, indices.iter().map(|&i| labels[i]).collect(), 0, min_len)
    };
    Ok(SentimentTask {
        train: encode(&parts[0])?,
        valid: encode(&parts[1])?,
        test: encode(&parts[2])?,
        vocab,
        neutral_dropped,
    })
}
