//! Tokenizers: text to tokens and back.
//!
//! - [`WordTokenizer`]: Unicode-aware words and punctuation, configurable.
//! - [`CharTokenizer`]: one token per character, with a vocabulary learnt from a corpus.
//! - [`BpeTokenizer`]: byte-level byte-pair encoding (GPT-2's scheme): trained from a corpus,
//!   lossless on any UTF-8 text, saved in the Hugging Face `tokenizer.json` layout.

mod bpe;
mod char;
mod word;

pub use bpe::{BpeTokenizer, BpeTrainer};
pub use char::CharTokenizer;
pub use word::WordTokenizer;
