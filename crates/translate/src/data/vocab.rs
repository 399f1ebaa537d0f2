//! The joint source-and-target subword vocabulary: Tessera's byte-level BPE with the three
//! special tokens of translation.

use std::path::Path;

use nlp::tokenize::{BpeTokenizer, BpeTrainer};

use super::Pair;
use crate::{Result, TranslateError};

/// Padding.
pub const PAD: &str = "<pad>";
/// Begin of a target sentence.
pub const BOS: &str = "<s>";
/// End of a sentence.
pub const EOS: &str = "</s>";

/// A byte-level BPE vocabulary shared by both languages, with `<pad>` = 0, `<s>` = 1 and
/// `</s>` = 2.
///
/// Byte-level BPE spells any UTF-8 text, so no character is unknown. Text that spells a special
/// token (a literal `<s>` in the input) is not read as one: [`Vocabulary::encode`] drops it.
#[derive(Clone, Debug)]
pub struct Vocabulary {
    tokenizer: BpeTokenizer,
}

impl Vocabulary {
    /// Learns `size` tokens (3 specials, 256 bytes, the rest merges) from the source and target
    /// sentences of `pairs` (the training split only).
    pub fn train(pairs: &[Pair], size: usize) -> Result<Vocabulary> {
        let trainer =
            BpeTrainer { vocab_size: size, min_frequency: 2, special_tokens: vec![PAD.into(), BOS.into(), EOS.into()] };
        let texts = pairs.iter().flat_map(|p| [p.source.as_str(), p.target.as_str()]);
        Vocabulary::from_tokenizer(trainer.train(texts)?)
    }

    /// Wraps a tokenizer whose first three tokens are `<pad> <s> </s>`.
    pub fn from_tokenizer(tokenizer: BpeTokenizer) -> Result<Vocabulary> {
        for (id, name) in [PAD, BOS, EOS].iter().enumerate() {
            if tokenizer.token_id(name) != Some(id as u32) {
                return Err(TranslateError::Invalid(format!("the vocabulary must have `{name}` as token {id}")));
            }
        }
        Ok(Vocabulary { tokenizer })
    }

    /// Saves as a Hugging Face `tokenizer.json`.
    pub fn save(&self, path: &Path) -> Result<()> {
        Ok(self.tokenizer.save(path)?)
    }

    /// Loads a vocabulary saved by [`Vocabulary::save`].
    pub fn load(path: &Path) -> Result<Vocabulary> {
        Vocabulary::from_tokenizer(BpeTokenizer::load(path)?)
    }

    /// Number of tokens.
    pub fn size(&self) -> usize {
        self.tokenizer.vocab_size()
    }

    /// The padding id (0).
    pub fn pad(&self) -> u32 {
        0
    }

    /// The begin-of-sentence id (1).
    pub fn bos(&self) -> u32 {
        1
    }

    /// The end-of-sentence id (2).
    pub fn eos(&self) -> u32 {
        2
    }

    /// The ids of `text`, without special tokens (literal `<s>`, `</s>`, `<pad>` in the text are
    /// dropped).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text).into_iter().filter(|&id| id > 2).collect()
    }

    /// The text of `ids`, up to the first `</s>`, skipping other specials. Bytes that do not form
    /// UTF-8 (a model may emit half a character) become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let end = ids.iter().position(|&id| id == self.eos()).unwrap_or(ids.len());
        let kept: Vec<u32> = ids[..end].iter().copied().filter(|&id| id > 2).collect();
        match self.tokenizer.decode_bytes(&kept) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
            Err(_) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specials_come_first_and_text_round_trips() {
        let pairs: Vec<Pair> = (0..20)
            .map(|i| Pair { source: format!("das Haus {i} ist groß"), target: format!("the house {i} is big") })
            .collect();
        let vocab = Vocabulary::train(&pairs, 300).unwrap();
        assert_eq!((vocab.pad(), vocab.bos(), vocab.eos()), (0, 1, 2));
        let ids = vocab.encode("das Haus ist groß — 漢字 <s>");
        assert!(ids.iter().all(|&id| id > 2));
        assert_eq!(vocab.decode(&ids), "das Haus ist groß — 漢字");
        let mut with_end = vocab.encode("the house");
        with_end.extend([2, 40, 41]);
        assert_eq!(vocab.decode(&with_end), "the house");
    }
}
