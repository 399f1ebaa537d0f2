//! Additive (add-k, Laplace when k = 1) smoothing at the highest order: the textbook baseline
//! that Kneser-Ney is measured against.

use super::counts::{CountTable, NgramCounts};
use super::vocab::{NgramVocab, Packer};
use super::{NgramModel, WordScore};
use crate::{NlpError, Result};

/// `p(w | h) = (c(h w) + k) / (c(h) + k |V|)` with the longest history available (the full
/// `order - 1` words except at the start of a sentence), `|V|` every predictable word.
#[derive(Clone, Debug)]
pub struct AddK {
    order: usize,
    k: f64,
    packer: Packer,
    vocab: NgramVocab,
    tables: Vec<CountTable>,
    /// Per order: each context's total count, keys ascending.
    context_totals: Vec<(Vec<u128>, Vec<u64>)>,
}

impl AddK {
    /// The add-`k` model of `counts`; `k` must be positive.
    #[allow(clippy::expect_used, reason = "an invariant, not input: pushed with the key")]
    pub fn new(counts: NgramCounts, k: f64) -> Result<AddK> {
        if !(k > 0.0 && k.is_finite()) {
            return Err(NlpError::Invalid(format!("add-k smoothing needs k > 0, got {k}")));
        }
        let NgramCounts { order, packer, vocab, tables, .. } = counts;
        let context_totals = tables
            .iter()
            .map(|table| {
                let (mut keys, mut totals): (Vec<u128>, Vec<u64>) = (Vec::new(), Vec::new());
                for (&key, &count) in table.keys.iter().zip(&table.raw) {
                    let context = packer.context(key);
                    if keys.last() == Some(&context) {
                        *totals.last_mut().expect("pushed with the key") += count as u64;
                    } else {
                        keys.push(context);
                        totals.push(count as u64);
                    }
                }
                (keys, totals)
            })
            .collect();
        Ok(AddK { order, k, packer, vocab, tables, context_totals })
    }
}

impl NgramModel for AddK {
    fn order(&self) -> usize {
        self.order
    }

    fn vocab(&self) -> &NgramVocab {
        &self.vocab
    }

    fn score_word(&self, context: &[u32], word: u32) -> WordScore {
        let n = context.len().min(self.order - 1) + 1;
        let history = &context[context.len() + 1 - n..];
        let context_key = self.packer.pack(history);
        let key = self.packer.append(context_key, word);
        let table = &self.tables[n - 1];
        let count = table.find(key).map_or(0, |i| table.raw[i]) as f64;
        let (keys, totals) = &self.context_totals[n - 1];
        let total = keys.binary_search(&context_key).map_or(0, |i| totals[i]) as f64;
        let predictable = (self.vocab.len() - 1) as f64;
        let p = if word == NgramVocab::START_ID { 0.0 } else { (count + self.k) / (total + self.k * predictable) };
        WordScore { log10_prob: p.log10(), order_used: n }
    }
}
