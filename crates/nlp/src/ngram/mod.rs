//! Statistical n-gram language models: a sentence's probability, the next word's distribution,
//! perplexity and fluency.
//!
//! - [`NgramCounter`] streams sentences into [`NgramCounts`] (raw counts and Kneser-Ney's
//!   adjusted counts for every order).
//! - [`kneser_ney`] builds interpolated modified Kneser-Ney (Chen & Goodman; the model KenLM's
//!   `lmplz` builds), [`katz`] Katz back-off with Good-Turing discounts; both give a
//!   [`BackoffModel`], the form ARPA files hold ([`read_arpa`], [`write_arpa`]).
//! - [`AddK`] is additive smoothing at the highest order, the textbook baseline.
//!
//! Every model implements [`NgramModel`]: sentences are whitespace-separated tokens, padded
//! `<s> .. </s>`, and `</s>` is predicted and counted, as in KenLM and SRILM. Through it every
//! n-gram model is also a general [`crate::lm::LanguageModel`], the API neural models share.

mod add_k;
mod arpa;
mod backoff;
mod counts;
mod katz;
mod kneser_ney;
mod vocab;

pub use add_k::AddK;
pub use arpa::{read_arpa, write_arpa};
pub use backoff::{BackoffModel, LOG10_IMPOSSIBLE};
pub use counts::{NgramCounter, NgramCounts};
pub use katz::katz;
pub use kneser_ney::{Discounts, KneserNeyConfig, estimate_discounts, kneser_ney};
pub use vocab::{MAX_ORDER, NgramVocab, SENTENCE_END, SENTENCE_START, UNKNOWN};

use std::path::Path;

use crate::Result;
use crate::corpus::Lines;
pub use crate::lm::{Perplexity, SentenceScore, TokenScore, WordScore};
use crate::lm::{rank_by_fluency, top_k};

/// The n-gram trait under the name it had before the general [`crate::lm::LanguageModel`]
/// existed, for existing callers.
pub use NgramModel as LanguageModel;

/// An n-gram language model over a word vocabulary: the probability of a word given the last
/// `order - 1` words before it, in log10 as ARPA files store it.
pub trait NgramModel {
    /// The highest n-gram order (the model looks at `order - 1` previous words).
    fn order(&self) -> usize;

    /// The words the model knows.
    fn vocab(&self) -> &NgramVocab;

    /// Log10 p(`word` | `context`), the context's most recent word last; only the last
    /// `order - 1` context words matter.
    fn score_word(&self, context: &[u32], word: u32) -> WordScore;

    /// Scores a sentence of tokens, predicting `</s>` after the last.
    fn score_tokens(&self, tokens: &[&str]) -> SentenceScore {
        let vocab = self.vocab();
        let mut context = vec![NgramVocab::START_ID];
        let mut seen = Vec::with_capacity(tokens.len() + 1);
        let mut scores = Vec::with_capacity(tokens.len() + 1);
        let ends = tokens.iter().map(|&t| (t, vocab.get(t))).chain([(SENTENCE_END, Some(NgramVocab::END_ID))]);
        for (token, id) in ends {
            let word = id.unwrap_or(NgramVocab::UNKNOWN_ID);
            scores.push(self.score_word(&context, word));
            seen.push((token.to_string(), id.is_none()));
            context.push(word);
        }
        SentenceScore::new(seen, &scores)
    }

    /// Scores a sentence of whitespace-separated tokens.
    fn score_sentence(&self, sentence: &str) -> SentenceScore {
        self.score_tokens(&sentence.split_whitespace().collect::<Vec<_>>())
    }

    /// Perplexity over the lines of a plain or gzip text file, one sentence per line, streamed.
    fn perplexity_of_file(&self, path: &Path) -> Result<Perplexity> {
        let mut totals = Perplexity::default();
        Lines::open(path)?.for_each(|_, line| {
            totals.add(&self.score_sentence(line));
            Ok(())
        })?;
        Ok(totals)
    }

    /// The `k` most probable next words after `context` (whitespace-separated tokens; the start
    /// of a sentence is implied), most probable first, as (word, probability). `</s>` is a
    /// candidate; `<s>` is not.
    fn next_words(&self, context: &str, k: usize) -> Vec<(String, f64)> {
        let vocab = self.vocab();
        let mut ids = vec![NgramVocab::START_ID];
        ids.extend(context.split_whitespace().map(|w| vocab.id_or_unknown(w)));
        let scored: Vec<(u32, f64)> = (0..vocab.len() as u32)
            .filter(|&w| w != NgramVocab::START_ID)
            .map(|w| (w, self.score_word(&ids, w).log10_prob))
            .collect();
        top_k(scored, k).into_iter().map(|(w, lp)| (vocab.word(w).to_string(), 10f64.powf(lp))).collect()
    }

    /// Ranks candidate sentences from most to least fluent (see [`SentenceScore::fluency`]);
    /// each item is (index into `candidates`, its score).
    fn rank_by_fluency(&self, candidates: &[&str]) -> Vec<(usize, SentenceScore)> {
        rank_by_fluency(candidates.iter().map(|s| self.score_sentence(s)).collect())
    }
}
