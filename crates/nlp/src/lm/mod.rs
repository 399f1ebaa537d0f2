//! Language models of every kind behind one API: the probability of each token given its
//! history, a sentence's score, the perplexity of a file, the most probable next tokens, and
//! fluency ranking.
//!
//! - [`LanguageModel`] is the API; [`Vocabulary`] is how a model reads and writes text.
//!   Counting models ([`crate::ngram`]) implement it through [`crate::ngram::NgramModel`];
//!   [`NeuralLm`] (an [`LmNetwork`] — an [`RnnLm`] or a [`Gpt`] — with its vocabulary) scores
//!   a document in batches with carried state; [`Mixture`] interpolates any two.
//! - [`TokenStream`] and [`BpttBatches`]: a corpus as one stream of ids, cut into parallel
//!   streams and windows for truncated back-propagation through time; [`RandomWindows`]:
//!   batches of windows at random places (how transformers are trained).
//! - [`train`]: SGD with clipping and Zaremba's schedule or AdamW with warm-up and cosine,
//!   validation every epoch, the best model kept, resumable checkpoints.
//! - [`load_model`]: one path (an ARPA file or a model folder) gives a model; [`generate`]
//!   writes text token by token with a [`sampling::Sampler`] (greedy, temperature, top-k,
//!   top-p, repetition penalty, seeded).
//!
//! Conventions (Penn Treebank's, as in KenLM and in the published neural results): every
//! sentence ends with an end token that is predicted and counted; an unknown word is an
//! ordinary token; perplexity = exp(mean negative log-likelihood over predicted tokens). A
//! document's history starts at the beginning of its first sentence: an n-gram model restarts
//! its context after every end token, a neural model reads the end token first and carries
//! its state across sentences.

pub(crate) mod bounds;
mod counting;
mod data;
mod folder;
mod generate;
mod gpt;
mod mixture;
mod network;
mod neural;
mod rnn;
pub mod sampling;
mod score;
pub mod train;
mod vocab;

pub use data::{BpttBatches, RandomWindows, TokenStream, Window, with_unknowns};
pub use folder::{
    MODEL_CHARS, MODEL_CONFIG, MODEL_TOKENIZER, MODEL_VOCAB, MODEL_WEIGHTS, load_any_neural, load_model, load_network,
    load_neural, read_config, save_model_folder,
};
pub use generate::{GenerateConfig, encode_prompt, generate};
pub use gpt::{Gpt, GptConfig, GptDecoding};
pub use mixture::{Mixture, fit_mixture_weight};
pub use network::LmNetwork;
pub use neural::NeuralLm;
pub use rnn::{LmState, RnnLm, RnnLmConfig};
pub use score::{Perplexity, SentenceScore, TokenScore, WordScore, rank_by_fluency, top_k};
pub use vocab::{
    BPE_END, BpeVocab, CHAR_UNKNOWN, CharVocab, NeuralVocab, Token, Vocabulary, WORD_END, WORD_UNKNOWN, WordVocab,
};

use std::path::Path;

use crate::corpus::Lines;
use crate::{NlpError, Result};

/// A position in a document from which a model predicts the next token, moved forward one
/// token at a time (a neural model keeps its state; generation reads from it).
pub trait LmReader {
    /// Natural-log probability of every id of the vocabulary being next (`-inf` for ids the
    /// model cannot predict).
    fn log_probs(&self) -> &[f32];

    /// Scores whose softmax is the next distribution, the input of a sampler
    /// ([`sampling::Sampler`]): a neural model's raw logits, on which a repetition penalty acts
    /// as Hugging Face applies it (a positive logit divided, a negative one multiplied). Models
    /// without logits (n-grams, mixtures) give their log-probabilities, all negative, so a
    /// penalty multiplies them. Defaults to [`LmReader::log_probs`].
    fn logits(&self) -> &[f32] {
        self.log_probs()
    }

    /// Reads `id` and moves past it.
    fn push(&mut self, id: u32) -> Result<()>;
}

/// A language model: a probability for every next token given the tokens before it.
///
/// Implementors give four things: their [`Vocabulary`], a one-line description, a
/// [`LmReader`] after a history, and the scores of a whole document (which a neural model
/// computes in batches). Everything else is built on those.
pub trait LanguageModel {
    /// How the model reads and writes text.
    fn vocabulary(&self) -> &dyn Vocabulary;

    /// One line about the model (kind and size).
    fn describe(&self) -> String;

    /// A reader after `history`: the document's ids so far, sentence ends as the end id.
    fn reader(&self, history: &[u32]) -> Result<Box<dyn LmReader + '_>>;

    /// Scores a document: `sentences` in order (ids without the end token), each followed by
    /// the end token, which is predicted too. Returns one score per predicted token, in order.
    fn score_document(&self, sentences: &[Vec<u32>]) -> Result<Vec<WordScore>>;

    /// Natural-log probabilities of every next id after `history`.
    fn next_log_probs(&self, history: &[u32]) -> Result<Vec<f32>> {
        Ok(self.reader(history)?.log_probs().to_vec())
    }

    /// Scores sentences of whitespace-separated tokens as one document, each with its end
    /// token.
    fn score_sentences(&self, sentences: &[&str]) -> Result<Vec<SentenceScore>> {
        let vocab = self.vocabulary();
        let end = vocab.token(vocab.end_id());
        let encoded: Vec<Vec<Token>> = sentences.iter().map(|s| vocab.encode(s)).collect();
        let ids: Vec<Vec<u32>> = encoded.iter().map(|s| s.iter().map(|t| t.id).collect()).collect();
        let scores = self.score_document(&ids)?;
        let mut at = 0;
        let mut out = Vec::with_capacity(sentences.len());
        for sentence in encoded {
            let count = sentence.len() + 1;
            let tokens = sentence.into_iter().map(|t| (t.text, t.oov)).chain([(end.clone(), false)]).collect();
            let part = scores.get(at..at + count).ok_or_else(|| {
                NlpError::Invalid(format!("{} gave {} scores for a longer document", self.describe(), scores.len()))
            })?;
            out.push(SentenceScore::new(tokens, part));
            at += count;
        }
        Ok(out)
    }

    /// Scores one sentence of whitespace-separated tokens, predicting the end token after it.
    fn score_sentence(&self, sentence: &str) -> Result<SentenceScore> {
        let mut scores = self.score_sentences(&[sentence])?;
        scores.pop().ok_or_else(|| NlpError::Invalid("scoring a sentence gave nothing".into()))
    }

    /// Perplexity of sentences read as one document.
    fn perplexity(&self, sentences: &[&str]) -> Result<Perplexity> {
        let mut totals = Perplexity::default();
        self.score_sentences(sentences)?.iter().for_each(|s| totals.add(s));
        Ok(totals)
    }

    /// Perplexity of a plain or gzip text file, one sentence per line, read as one document.
    /// A file without a line is an error naming it.
    fn perplexity_of_file(&self, path: &Path) -> Result<Perplexity> {
        let lines = read_sentences(path)?;
        self.perplexity(&lines.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// The `k` most probable next tokens after `context` (whitespace-separated tokens from the
    /// start of a sentence), most probable first, as (token, probability).
    fn top_next(&self, context: &str, k: usize) -> Result<Vec<(String, f64)>> {
        let vocab = self.vocabulary();
        let history: Vec<u32> = vocab.encode(context).iter().map(|t| t.id).collect();
        let log_probs = self.next_log_probs(&history)?;
        let scored: Vec<(u32, f64)> = (0..log_probs.len() as u32)
            .filter(|&id| vocab.predictable(id))
            .map(|id| (id, log_probs[id as usize] as f64))
            .collect();
        Ok(top_k(scored, k).into_iter().map(|(id, lp)| (vocab.token(id), lp.exp())).collect())
    }

    /// Ranks candidate sentences, each scored on its own, from most to least fluent (see
    /// [`SentenceScore::fluency`]); each item is (index into `candidates`, its score).
    fn rank_by_fluency(&self, candidates: &[&str]) -> Result<Vec<(usize, SentenceScore)>> {
        let scores = candidates.iter().map(|s| self.score_sentence(s)).collect::<Result<Vec<_>>>()?;
        Ok(rank_by_fluency(scores))
    }
}

/// The lines of a plain or gzip text file; an empty file is an error naming it.
pub fn read_sentences(path: &Path) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    Lines::open(path)?.for_each(|_, line| {
        lines.push(line.to_string());
        Ok(())
    })?;
    if lines.is_empty() {
        return Err(NlpError::Parse { path: path.to_path_buf(), line: 0, msg: "the file has no text".into() });
    }
    Ok(lines)
}
