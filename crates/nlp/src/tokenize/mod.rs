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

/// A token with where it stands in its text: `start..end` in characters (Unicode scalar
/// values, as Python indexes strings), not bytes. The NER tagger's and the QA reader's
/// tokenizers return these, so an answer or an entity maps back to the exact characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetToken {
    /// The token as written.
    pub text: String,
    /// Offset of its first character.
    pub start: usize,
    /// Offset one past its last character.
    pub end: usize,
}
