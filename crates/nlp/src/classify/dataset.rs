//! Labelled token-id sequences of any length, padded per batch.

use std::sync::Arc;

use nn_layers::data::{Examples, permutation};
use tensor_core::{Device, Tensor};

use crate::{NlpError, Result};

/// Sequences of token ids with a class label each. A batch is padded with `pad` to its longest
/// sequence (and to at least `min_len`, e.g. a convolution's widest kernel).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenDataset {
    sequences: Vec<Vec<usize>>,
    labels: Vec<i64>,
    /// Padding id.
    pub pad: usize,
    /// Shortest padded length of a batch.
    pub min_len: usize,
}

impl TokenDataset {
    /// A dataset of `sequences` with `labels` (same count).
    pub fn new(sequences: Vec<Vec<usize>>, labels: Vec<i64>, pad: usize, min_len: usize) -> Result<Self> {
        if sequences.len() != labels.len() {
            return Err(NlpError::Invalid(format!("{} sequences but {} labels", sequences.len(), labels.len())));
        }
        Ok(TokenDataset { sequences, labels, pad, min_len })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The labels.
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> TokenDataset {
        TokenDataset {
            sequences: indices.iter().map(|&i| self.sequences[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            pad: self.pad,
            min_len: self.min_len,
        }
    }

    /// A seeded random split into parts of the given fractions (the last part takes the rest).
    pub fn split(&self, fractions: &[f64], seed: u64) -> Vec<TokenDataset> {
        split_indices(self.len(), fractions, seed).iter().map(|part| self.subset(part)).collect()
    }
}

/// A seeded random partition of `0..n` into parts of the given fractions (the last part takes
/// the rest).
pub fn split_indices(n: usize, fractions: &[f64], seed: u64) -> Vec<Vec<usize>> {
    let order = permutation(n, seed);
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, f) in fractions.iter().enumerate() {
        let end = if i + 1 == fractions.len() { n } else { (start + (n as f64 * f).round() as usize).min(n) };
        parts.push(order[start..end].to_vec());
        start = end;
    }
    parts
}

impl Examples for TokenDataset {
    fn count(&self) -> usize {
        self.len()
    }

    /// Ids `[n, T]` (i64, padded) and labels `[n]`.
    fn batch_of(&self, indices: &[usize], device: &Arc<dyn Device>) -> nn_layers::Result<(Tensor, Tensor)> {
        let longest = indices.iter().map(|&i| self.sequences[i].len()).max().unwrap_or(0).max(self.min_len);
        let mut ids = vec![self.pad as i64; indices.len() * longest];
        for (row, &i) in indices.iter().enumerate() {
            for (slot, &id) in ids[row * longest..].iter_mut().zip(&self.sequences[i]) {
                *slot = id as i64;
            }
        }
        let labels: Vec<i64> = indices.iter().map(|&i| self.labels[i]).collect();
        Ok((
            Tensor::from_vec(ids, [indices.len(), longest], device)?,
            Tensor::from_vec(labels, [indices.len()], device)?,
        ))
    }
}
