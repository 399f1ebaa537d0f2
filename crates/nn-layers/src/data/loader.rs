//! An in-memory dataset and a batching loader with seeded shuffles.

use std::sync::Arc;

use tensor_core::{Device, Tensor, TensorRng};

use crate::{NnError, Result};

/// Examples as f32 feature rows with i64 labels, on the host.
#[derive(Clone, Debug)]
pub struct Dataset {
    features: Vec<f32>,
    feature_dims: Vec<usize>,
    labels: Vec<i64>,
}

/// What to do with a last batch smaller than the batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastBatch {
    /// Keep it.
    Keep,
    /// Drop it.
    Drop,
}

impl Dataset {
    /// A dataset of `labels.len()` examples of shape `feature_dims`.
    pub fn new(features: Vec<f32>, feature_dims: Vec<usize>, labels: Vec<i64>) -> Result<Self> {
        let width: usize = feature_dims.iter().product();
        if features.len() != width * labels.len() {
            return Err(NnError::Invalid(format!(
                "{} feature values for {} examples of shape {feature_dims:?}",
                features.len(),
                labels.len()
            )));
        }
        Ok(Dataset { features, feature_dims, labels })
    }

    /// The same examples with each viewed as `dims` (e.g. `[1, 28, 28]` images for a CNN
    /// from flat `[784]` pixels); the number of values per example must stay the same.
    pub fn with_feature_dims(mut self, dims: Vec<usize>) -> Result<Self> {
        if dims.iter().product::<usize>() != self.width() {
            return Err(NnError::Invalid(format!("cannot view examples of shape {:?} as {dims:?}", self.feature_dims)));
        }
        self.feature_dims = dims;
        Ok(self)
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Shape of one example.
    pub fn feature_dims(&self) -> &[usize] {
        &self.feature_dims
    }

    /// The labels.
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// A seeded random split into (first, second) with `fraction` of the examples first.
    pub fn split(&self, fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let order = permutation(self.len(), seed);
        let cut = ((self.len() as f64) * fraction).round() as usize;
        (self.subset(&order[..cut]), self.subset(&order[cut..]))
    }

    /// The examples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let width = self.width();
        let mut features = Vec::with_capacity(indices.len() * width);
        for &i in indices {
            features.extend_from_slice(&self.features[i * width..(i + 1) * width]);
        }
        Dataset {
            features,
            feature_dims: self.feature_dims.clone(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// Keeps only examples whose label passes `keep`, relabelled by `relabel`.
    pub fn filter_map_labels(&self, keep: impl Fn(i64) -> Option<i64>) -> Dataset {
        let chosen: Vec<(usize, i64)> =
            self.labels.iter().enumerate().filter_map(|(i, &l)| keep(l).map(|n| (i, n))).collect();
        let mut subset = self.subset(&chosen.iter().map(|&(i, _)| i).collect::<Vec<_>>());
        subset.labels = chosen.into_iter().map(|(_, l)| l).collect();
        subset
    }

    fn width(&self) -> usize {
        self.feature_dims.iter().product()
    }

    /// Features `[n, ...feature_dims]` (f32) and labels `[n]` (i64) of `indices`, on `device`.
    pub fn batch(&self, indices: &[usize], device: &Arc<dyn Device>) -> Result<(Tensor, Tensor)> {
        let subset = self.subset(indices);
        let mut dims = vec![indices.len()];
        dims.extend(&self.feature_dims);
        Ok((
            Tensor::from_vec(subset.features, dims, device)?,
            Tensor::from_vec(subset.labels, [indices.len()], device)?,
        ))
    }

    /// Batches of example indices: shuffled with `seed` (or in order for `None`).
    pub fn batches(&self, batch_size: usize, shuffle: Option<u64>, last: LastBatch) -> Batches {
        Batches::over(self.len(), batch_size, shuffle, last)
    }
}

/// Labelled examples a training loop can draw batches from: fixed-size features
/// ([`Dataset`]) or, in other crates, variable-length token sequences padded per batch.
pub trait Examples: Sync {
    /// Number of examples.
    fn count(&self) -> usize;

    /// Inputs `[n, ...]` and i64 labels `[n]` of the examples at `indices`, on `device`.
    fn batch_of(&self, indices: &[usize], device: &Arc<dyn Device>) -> Result<(Tensor, Tensor)>;
}

impl Examples for Dataset {
    fn count(&self) -> usize {
        self.len()
    }

    fn batch_of(&self, indices: &[usize], device: &Arc<dyn Device>) -> Result<(Tensor, Tensor)> {
        self.batch(indices, device)
    }
}

/// A seeded Fisher-Yates permutation of `0..n`.
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = TensorRng::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Iterator over index batches.
#[derive(Clone, Debug)]
pub struct Batches {
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
    last: LastBatch,
}

impl Batches {
    /// Batches of `0..len` of at most `batch_size`: shuffled with `seed` (or in order for `None`).
    pub fn over(len: usize, batch_size: usize, shuffle: Option<u64>, last: LastBatch) -> Self {
        let order = match shuffle {
            Some(seed) => permutation(len, seed),
            None => (0..len).collect(),
        };
        Batches { order, batch_size: batch_size.max(1), next: 0, last }
    }

    /// Number of batches this iterator yields in total.
    pub fn count_total(&self) -> usize {
        match self.last {
            LastBatch::Keep => self.order.len().div_ceil(self.batch_size),
            LastBatch::Drop => self.order.len() / self.batch_size,
        }
    }
}

impl Iterator for Batches {
    type Item = Vec<usize>;

    fn next(&mut self) -> Option<Vec<usize>> {
        let end = (self.next + self.batch_size).min(self.order.len());
        if self.next >= end || (self.last == LastBatch::Drop && end - self.next < self.batch_size) {
            return None;
        }
        let batch = self.order[self.next..end].to_vec();
        self.next = end;
        Some(batch)
    }
}
