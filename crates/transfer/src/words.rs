//! A word-vector body: an embedding table (word2vec vectors, or random for a model trained from
//! scratch), read as the mean of a sentence's vectors or through Kim's (2014) parallel
//! convolutions with max-over-time pooling.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use autograd::Var;
use nlp::word2vec::Embeddings;
use nn_layers::layers::{Conv1d, Embedding};
use nn_layers::{Module, Param, join};
use tensor_core::{DType, Device, HostBuffer, Tensor, TensorRng, Window1d};

use crate::{Result, TransferError};

/// Padding id of a [`WordBody`].
pub const PAD_ID: usize = 0;
/// Unknown-word id of a [`WordBody`].
pub const UNK_ID: usize = 1;

/// Word vectors with an optional convolutional reader.
#[derive(Debug)]
pub struct WordBody {
    ids: HashMap<String, usize>,
    words: Vec<String>,
    /// The table `[words, dim]` (row 0 padding, row 1 unknown words).
    pub embedding: Embedding,
    /// Kim's convolutions, one per kernel width; empty: the mean of the vectors.
    pub convs: Vec<Conv1d>,
}

/// Kim's convolutions over word vectors: kernel widths and filters per width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    /// Kernel widths (3, 4, 5 in the paper).
    pub widths: Vec<usize>,
    /// Filters per width.
    pub filters: usize,
}

impl Default for ConvSpec {
    /// Widths 3/4/5 with 100 filters each (Kim 2014).
    fn default() -> Self {
        ConvSpec { widths: vec![3, 4, 5], filters: 100 }
    }
}

impl WordBody {
    /// Vectors read from a word2vec file (text, or binary when the name ends in `.bin`); the
    /// padding row is zero and the unknown-word row the mean vector.
    pub fn from_word2vec(
        path: &Path,
        conv: Option<&ConvSpec>,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<WordBody> {
        let binary = path.extension().is_some_and(|e| e == "bin");
        let vectors = Embeddings::load(path, binary)?;
        if vectors.is_empty() {
            // Nothing bounds the width an empty file states, and there is nothing to build on.
            return Err(TransferError::Invalid(format!("{}: the file holds no word vectors", path.display())));
        }
        let dim = vectors.dim();
        let mut words = vec!["<pad>".to_string(), "<unk>".to_string()];
        words.extend(vectors.words().iter().cloned());
        let mut table = vec![0.0f32; words.len() * dim];
        let mut mean = vec![0.0f32; dim];
        for (row, word) in vectors.words().iter().enumerate() {
            let v = vectors.vector(word).unwrap_or(&[]);
            table[(row + 2) * dim..(row + 3) * dim].copy_from_slice(v);
            mean.iter_mut().zip(v).for_each(|(m, x)| *m += x / vectors.len().max(1) as f32);
        }
        table[UNK_ID * dim..(UNK_ID + 1) * dim].copy_from_slice(&mean);
        let table = Tensor::from_buffer(HostBuffer::F32(table), [words.len(), dim], device)?;
        Self::with_table(words, table, conv, rng, device)
    }

    /// Random vectors U(±0.25) (Kim's CNN-rand) for `words` (the padding and unknown rows are
    /// added in front).
    pub fn random(
        vocabulary: &[String],
        dim: usize,
        conv: Option<&ConvSpec>,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<WordBody> {
        let mut words = vec!["<pad>".to_string(), "<unk>".to_string()];
        words.extend(vocabulary.iter().filter(|w| *w != "<pad>" && *w != "<unk>").cloned());
        let table = rng.uniform([words.len(), dim], -0.25, 0.25, DType::F32, device)?;
        Self::with_table(words, table, conv, rng, device)
    }

    fn with_table(
        words: Vec<String>,
        table: Tensor,
        conv: Option<&ConvSpec>,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<WordBody> {
        let dim = table.dims()[1];
        let ids = words.iter().enumerate().map(|(i, w)| (w.clone(), i)).collect();
        let convs = match conv {
            Some(spec) => spec
                .widths
                .iter()
                .map(|&w| Conv1d::new(dim, spec.filters, Window1d::new(w), rng, device))
                .collect::<tensor_core::Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        Ok(WordBody { ids, words, embedding: Embedding { weight: Param::new(table) }, convs })
    }

    /// The words it has vectors for (padding and unknown first).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Width of a vector.
    pub fn dim(&self) -> usize {
        self.embedding.weight.value().dims()[1]
    }

    /// The same reader with fresh random vectors and convolutions (the model from scratch).
    pub fn scratch(&self, rng: &mut TensorRng) -> Result<WordBody> {
        let device = self.embedding.weight.value().device().clone();
        let conv = self.conv_spec();
        WordBody::random(&self.words[2..], self.dim(), conv.as_ref(), rng, &device)
    }

    fn conv_spec(&self) -> Option<ConvSpec> {
        let first = self.convs.first()?;
        let filters = first.weight.value().dims()[0];
        Some(ConvSpec { widths: self.convs.iter().map(|c| c.window.kernel).collect(), filters })
    }

    /// Ids of `words` (unknown words get [`UNK_ID`]).
    pub fn ids(&self, words: &[String]) -> Vec<usize> {
        words.iter().map(|w| self.ids.get(w).copied().unwrap_or(UNK_ID)).collect()
    }

    /// The shortest padded length a batch needs (the widest kernel).
    pub fn min_len(&self) -> usize {
        self.convs.iter().map(|c| c.window.kernel).max().unwrap_or(1)
    }

    /// Width of [`WordBody::pool`]'s output.
    pub fn pooled_width(&self) -> usize {
        match self.conv_spec() {
            Some(spec) => spec.filters * spec.widths.len(),
            None => self.dim(),
        }
    }

    /// Vectors `[B, T, dim]` of padded ids `[B, T]`.
    pub fn states(&self, ids: &Tensor) -> Result<Var> {
        Ok(self.embedding.lookup(ids)?)
    }

    /// One vector per row: the convolutions' max-over-time features, or the mean of the real
    /// words' vectors (`keep` `[B, T, 1]` marks them, `counts` `[B, 1]` counts them).
    pub fn pool(&self, states: &Var, keep: &Var, counts: &Var) -> Result<Var> {
        if self.convs.is_empty() {
            return Ok(states.mul(keep)?.sum(&[1], false)?.div(counts)?);
        }
        let channels = states.transpose(1, 2)?;
        let pooled = self
            .convs
            .iter()
            .map(|conv| conv.forward(&channels)?.relu()?.max(&[2], false))
            .collect::<tensor_core::Result<Vec<Var>>>()?;
        Ok(Var::cat(&pooled.iter().collect::<Vec<_>>(), 1)?)
    }
}

impl Module for WordBody {
    /// Vectors `[B, T, dim]` for ids `[B, T]`.
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.embedding.lookup(&input.value())
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.embedding.visit_params(&join(prefix, "embedding"), visit);
        for (i, conv) in self.convs.iter().enumerate() {
            conv.visit_params(&join(prefix, &format!("convs.{i}")), visit);
        }
    }
}
