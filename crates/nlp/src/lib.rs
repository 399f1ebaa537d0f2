//! Tessera's NLP crate: text in, tensors out, and the models that read text.
//!
//! - [`tokenize`]: a Unicode-aware word tokenizer.
//! - [`vocab`]: vocabularies with counts, `min_count` and a size cap, and id encoding.
//! - [`corpus`]: readers for labelled text (the VADER sentiment sets), with typed errors that
//!   name the file and line.
//! - [`classify`]: token-id datasets padded per batch and a TextCNN sentence classifier.
//! - [`ngram`]: counting language models (Kneser-Ney, Katz, add-k) and ARPA files.
//! - [`lm`]: one API for every language model, recurrent LMs, their training, mixtures and
//!   generation.
//! - [`encoder`]: a BERT-style encoder, its pooled sentence representation and masked-LM
//!   pretraining.
//! - [`tag`]: a BiLSTM part-of-speech tagger; [`word2vec`]: skip-gram and CBOW embeddings.
//!
//! ```
//! use nlp::ngram::{KneserNeyConfig, LanguageModel, NgramCounter, kneser_ney};
//! use nlp::tokenize::{BpeTrainer, WordTokenizer};
//!
//! let text = "The cat sat on the mat. The dog sat on the rug. The cat saw the dog.";
//! let words = WordTokenizer::default().tokenize(&text.to_lowercase());
//! assert_eq!(&words[..4], ["the", "cat", "sat", "on"]);
//!
//! // A trigram model over the three sentences prefers word orders it has seen.
//! let mut counter = NgramCounter::new(3)?;
//! for sentence in words.split(|w| w == ".").filter(|s| !s.is_empty()) {
//!     counter.add_sentence(sentence.iter().map(String::as_str))?;
//! }
//! let model = kneser_ney(counter.finish()?, &KneserNeyConfig::default())?;
//! let seen = model.score_sentence("the cat sat on the rug");
//! let scrambled = model.score_sentence("rug the on sat cat the");
//! assert!(seen.fluency() > scrambled.fluency());
//! assert_eq!(model.next_words("sat on", 1)[0].0, "the");
//!
//! // Byte-level BPE: every string round-trips, unseen words included.
//! let bpe = BpeTrainer { vocab_size: 300, ..BpeTrainer::default() }.train([text])?;
//! let ids = bpe.encode("the cats sat");
//! assert_eq!(bpe.decode(&ids)?, "the cats sat");
//! # Ok::<(), nlp::NlpError>(())
//! ```

#![warn(missing_docs)]
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod classify;
pub mod corpus;
pub mod encoder;
mod error;
pub mod lm;
pub mod ngram;
pub mod tag;
pub mod tokenize;
pub mod vocab;
pub mod word2vec;

pub use error::{NlpError, Result};
