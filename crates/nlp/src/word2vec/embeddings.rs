//! Trained word vectors, as gensim's `KeyedVectors`: lookup, cosine similarity, nearest
//! neighbours and analogies (3CosAdd on unit vectors).

use std::collections::HashMap;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::kernels::dot;
use super::train::Word2Vec;
use crate::{NlpError, Result};

/// Words with one vector each, most frequent first when they come from training.
#[derive(Clone, Debug)]
pub struct Embeddings {
    words: Vec<String>,
    index: HashMap<String, usize>,
    dim: usize,
    vectors: Vec<f32>,
    /// Unit-length copies of the vectors, made on the first similarity query (saving and
    /// lookups never pay for them).
    unit: OnceLock<Vec<f32>>,
}

impl Embeddings {
    /// Vectors for `words`, row-major `words.len() x dim`.
    pub fn new(words: Vec<String>, dim: usize, vectors: Vec<f32>) -> Result<Embeddings> {
        if vectors.len() != words.len() * dim {
            return Err(NlpError::Invalid(format!(
                "{} words of dimension {dim} need {} values, got {}",
                words.len(),
                words.len() * dim,
                vectors.len()
            )));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, word) in words.iter().enumerate() {
            if index.insert(word.clone(), i).is_some() {
                return Err(NlpError::Invalid(format!("the word `{word}` has two vectors")));
            }
        }
        Ok(Embeddings { words, index, dim, vectors, unit: OnceLock::new() })
    }

    /// The word vectors of a trained model (moved, not copied).
    #[allow(clippy::expect_used, reason = "an invariant, not input: a model's vocabulary is consistent")]
    pub fn from_model(model: Word2Vec) -> Embeddings {
        let words = (0..model.vocab.len()).map(|i| model.vocab.word(i).unwrap_or_default().to_string()).collect();
        Embeddings::new(words, model.config.size, model.vectors).expect("a model's vocabulary is consistent")
    }

    fn unit(&self) -> &[f32] {
        self.unit.get_or_init(|| {
            let mut unit = self.vectors.clone();
            for row in unit.chunks_exact_mut(self.dim.max(1)) {
                let norm = dot(row, row).sqrt();
                if norm > 0.0 {
                    row.iter_mut().for_each(|x| *x /= norm);
                }
            }
            unit
        })
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The words, in order.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The index of `word`.
    pub fn id(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    /// The vector of `word`.
    pub fn vector(&self, word: &str) -> Option<&[f32]> {
        self.id(word).map(|i| &self.vectors[i * self.dim..(i + 1) * self.dim])
    }

    pub(crate) fn unit_row(&self, i: usize) -> &[f32] {
        &self.unit()[i * self.dim..(i + 1) * self.dim]
    }

    /// Cosine similarity of two words.
    pub fn similarity(&self, a: &str, b: &str) -> Option<f32> {
        Some(dot(self.unit_row(self.id(a)?), self.unit_row(self.id(b)?)))
    }

    fn require(&self, word: &str) -> Result<usize> {
        self.id(word).ok_or_else(|| NlpError::Invalid(format!("`{word}` is not in the vocabulary")))
    }

    /// The `topn` words closest (cosine) to the mean of the unit vectors of `positive` minus those
    /// of `negative`, among the first `restrict` words (all when `None`), the query words
    /// excluded: gensim's `most_similar`.
    pub fn most_similar(
        &self,
        positive: &[&str],
        negative: &[&str],
        topn: usize,
        restrict: Option<usize>,
    ) -> Result<Vec<(String, f32)>> {
        let mut query = vec![0f32; self.dim];
        let mut exclude = Vec::new();
        for (words, sign) in [(positive, 1.0), (negative, -1.0)] {
            for word in words {
                let i = self.require(word)?;
                exclude.push(i);
                query.iter_mut().zip(self.unit_row(i)).for_each(|(q, x)| *q += sign * x);
            }
        }
        let norm = dot(&query, &query).sqrt();
        if norm > 0.0 {
            query.iter_mut().for_each(|q| *q /= norm);
        }
        let limit = restrict.unwrap_or(self.len()).min(self.len());
        let mut scored: Vec<(usize, f32)> = (0..limit)
            .into_par_iter()
            .with_min_len(4096)
            .filter(|i| !exclude.contains(i))
            .map(|i| (i, dot(&query, self.unit_row(i))))
            .collect();
        let k = topn.min(scored.len());
        if k == 0 {
            return Ok(Vec::new());
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(scored.into_iter().map(|(i, s)| (self.words[i].clone(), s)).collect())
    }

    /// The `topn` nearest neighbours of `word` by cosine similarity.
    pub fn nearest(&self, word: &str, topn: usize) -> Result<Vec<(String, f32)>> {
        self.most_similar(&[word], &[], topn, None)
    }

    /// `a` is to `b` as `c` is to ...: the answers of 3CosAdd (`b - a + c`), best first.
    pub fn analogy(&self, a: &str, b: &str, c: &str, topn: usize) -> Result<Vec<(String, f32)>> {
        self.most_similar(&[b, c], &[a], topn, None)
    }
}
