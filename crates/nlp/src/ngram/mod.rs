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
//! Every model implements [`LanguageModel`]: sentences are whitespace-separated tokens,
//! padded `<s> .. </s>`, and `</s>` is predicted and counted, as in KenLM and SRILM.

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

/// The score of one predicted word.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WordScore {
    /// Log10 probability of the word given its context.
    pub log10_prob: f64,
    /// Length of the n-gram the probability came from (1 = unigram).
    pub order_used: usize,
}

/// One token of a scored sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenScore {
    /// The token as given (`</s>` for the end of the sentence).
    pub token: String,
    /// Whether the token is outside the vocabulary (scored as `<unk>`).
    pub oov: bool,
    /// Its score.
    pub score: WordScore,
}

/// A sentence's probability, token by token.
#[derive(Clone, Debug, PartialEq)]
pub struct SentenceScore {
    /// Every token, `</s>` last.
    pub tokens: Vec<TokenScore>,
    /// Log10 probability of the whole sentence (the sum over tokens).
    pub log10_prob: f64,
}

impl SentenceScore {
    /// Fluency: the mean log10 probability per token, `</s>` included. Unlike the sentence
    /// probability it does not favour short sentences; higher is more natural.
    pub fn fluency(&self) -> f64 {
        self.log10_prob / self.tokens.len() as f64
    }

    /// The sentence's own perplexity.
    pub fn perplexity(&self) -> f64 {
        10f64.powf(-self.fluency())
    }
}

/// Totals of scoring many sentences.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Perplexity {
    /// Sentences scored.
    pub sentences: u64,
    /// Tokens predicted, `</s>` included.
    pub tokens: u64,
    /// Tokens outside the vocabulary (scored as `<unk>` and included in `tokens`).
    pub oovs: u64,
    /// Sum of log10 probabilities.
    pub log10_prob: f64,
}

impl Perplexity {
    /// Perplexity: 10^(-log10 probability / tokens) = exp(mean negative log-likelihood).
    pub fn perplexity(&self) -> f64 {
        10f64.powf(-self.log10_prob / self.tokens as f64)
    }

    /// Adds a sentence's score.
    pub fn add(&mut self, sentence: &SentenceScore) {
        self.sentences += 1;
        self.tokens += sentence.tokens.len() as u64;
        self.oovs += sentence.tokens.iter().filter(|t| t.oov).count() as u64;
        self.log10_prob += sentence.log10_prob;
    }
}

/// A language model over a word vocabulary: the probability of a word given the words before it.
pub trait LanguageModel {
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
        let mut scored = Vec::with_capacity(tokens.len() + 1);
        let mut total = 0.0;
        let ends = tokens.iter().map(|&t| (t, vocab.get(t))).chain([(SENTENCE_END, Some(NgramVocab::END_ID))]);
        for (token, id) in ends {
            let word = id.unwrap_or(NgramVocab::UNKNOWN_ID);
            let score = self.score_word(&context, word);
            total += score.log10_prob;
            scored.push(TokenScore { token: token.to_string(), oov: id.is_none(), score });
            context.push(word);
        }
        SentenceScore { tokens: scored, log10_prob: total }
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
        let mut scored: Vec<(u32, f64)> = (0..vocab.len() as u32)
            .filter(|&w| w != NgramVocab::START_ID)
            .map(|w| (w, self.score_word(&ids, w).log10_prob))
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.into_iter().map(|(w, lp)| (vocab.word(w).to_string(), 10f64.powf(lp))).collect()
    }

    /// Ranks candidate sentences from most to least fluent (see [`SentenceScore::fluency`]);
    /// each item is (index into `candidates`, its score).
    fn rank_by_fluency(&self, candidates: &[&str]) -> Vec<(usize, SentenceScore)> {
        let mut ranked: Vec<(usize, SentenceScore)> =
            candidates.iter().enumerate().map(|(i, s)| (i, self.score_sentence(s))).collect();
        ranked.sort_by(|a, b| b.1.fluency().total_cmp(&a.1.fluency()));
        ranked
    }
}
