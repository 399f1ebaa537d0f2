//! A back-off n-gram model, the form ARPA files store: for every n-gram a log10 probability,
//! and for every n-gram that is a context a log10 back-off weight. Kneser-Ney and Katz models
//! are built in this form; ARPA files load into it.

use super::vocab::{NgramVocab, Packer};
use super::{NgramModel, WordScore};

/// Log10 probability given to words a model can never predict (`<s>`), as in SRILM.
pub const LOG10_IMPOSSIBLE: f32 = -99.0;

/// The n-grams of one order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Level {
    /// Packed n-grams, ascending. For unigrams, every word id `0..vocab.len()` in order.
    pub keys: Vec<u128>,
    /// Log10 probability of each n-gram's last word given the others.
    pub log10_prob: Vec<f32>,
    /// Log10 back-off weight of each n-gram as a context (0 when it is none).
    pub log10_backoff: Vec<f32>,
}

impl Level {
    /// An empty level with room for `len` n-grams.
    pub fn with_capacity(len: usize) -> Level {
        Level {
            keys: Vec::with_capacity(len),
            log10_prob: Vec::with_capacity(len),
            log10_backoff: Vec::with_capacity(len),
        }
    }

    /// Dense unigrams: one entry per word id, from probabilities (0 becomes
    /// [`LOG10_IMPOSSIBLE`]), with no back-off weights yet.
    pub fn unigrams(probs: &[f64]) -> Level {
        Level {
            keys: (0..probs.len() as u128).collect(),
            log10_prob: probs.iter().map(|&p| if p > 0.0 { p.log10() as f32 } else { LOG10_IMPOSSIBLE }).collect(),
            log10_backoff: vec![0.0; probs.len()],
        }
    }

    /// Appends an n-gram (keys must arrive ascending, or be sorted afterwards).
    pub fn push(&mut self, key: u128, log10_prob: f32, log10_backoff: f32) {
        self.keys.push(key);
        self.log10_prob.push(log10_prob);
        self.log10_backoff.push(log10_backoff);
    }

    /// Number of n-grams.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// An n-gram language model in back-off form.
#[derive(Clone, Debug)]
pub struct BackoffModel {
    pub(crate) order: usize,
    pub(crate) packer: Packer,
    pub(crate) vocab: NgramVocab,
    /// Index n-1 holds the n-grams; `levels[0]` is dense over the vocabulary.
    pub(crate) levels: Vec<Level>,
}

impl BackoffModel {
    /// The position of the n-gram `key` of order `n`.
    pub(crate) fn find(&self, n: usize, key: u128) -> Option<usize> {
        if n == 1 {
            return Some(key as usize).filter(|&i| i < self.levels[0].len());
        }
        self.levels[n - 1].keys.binary_search(&key).ok()
    }

    /// Number of n-grams of order `n` (1-based).
    pub fn ngram_count(&self, n: usize) -> usize {
        self.levels[n - 1].len()
    }

    /// Log10 probability and back-off weight stored for the n-gram `words`, if present.
    pub fn entry(&self, words: &[&str]) -> Option<(f32, f32)> {
        let ids: Vec<u32> = words.iter().map(|w| self.vocab.get(w)).collect::<Option<_>>()?;
        if !(1..=self.order).contains(&ids.len()) {
            return None;
        }
        let level = &self.levels[ids.len() - 1];
        self.find(ids.len(), self.packer.pack(&ids)).map(|i| (level.log10_prob[i], level.log10_backoff[i]))
    }
}

impl NgramModel for BackoffModel {
    fn order(&self) -> usize {
        self.order
    }

    fn vocab(&self) -> &NgramVocab {
        &self.vocab
    }

    /// The ARPA rule: the probability of the longest stored n-gram ending in `word`, times the
    /// back-off weights of every longer context.
    fn score_word(&self, context: &[u32], word: u32) -> WordScore {
        let usable = context.len().min(self.order - 1);
        let context = &context[context.len() - usable..];
        let mut log10_prob = self.levels[0].log10_prob[word as usize];
        let mut order_used = 1;
        let mut backoff = 0.0f32;
        let (mut context_key, mut ngram_key) = (0u128, word as u128);
        for k in 1..=usable {
            let previous = context[usable - k];
            context_key = self.packer.prepend(previous, context_key, k - 1);
            let Some(at) = self.find(k, context_key) else { break };
            ngram_key = self.packer.prepend(previous, ngram_key, k);
            match self.find(k + 1, ngram_key) {
                Some(i) => {
                    log10_prob = self.levels[k].log10_prob[i];
                    order_used = k + 1;
                    backoff = 0.0;
                }
                None => backoff += self.levels[k - 1].log10_backoff[at],
            }
        }
        WordScore { log10_prob: (log10_prob + backoff) as f64, order_used }
    }
}
