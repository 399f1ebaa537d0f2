//! The vocabulary of an n-gram model and the packing of n-grams into one integer key.

use std::collections::HashMap;

/// Word lookups are the hot path of counting and ARPA loading: a fast non-cryptographic hash.
type WordIndex = HashMap<String, u32, foldhash::fast::RandomState>;

use crate::{NlpError, Result};

/// The unknown-word token; every word outside the vocabulary scores as this one.
pub const UNKNOWN: &str = "<unk>";
/// The sentence-start token: a context, never predicted.
pub const SENTENCE_START: &str = "<s>";
/// The sentence-end token: predicted after the last word of every sentence.
pub const SENTENCE_END: &str = "</s>";

/// Word <-> id mapping of an n-gram model. Ids 0, 1 and 2 are always [`UNKNOWN`],
/// [`SENTENCE_START`] and [`SENTENCE_END`]; other words follow in order of first sight.
#[derive(Clone, Debug, Default)]
pub struct NgramVocab {
    words: Vec<String>,
    index: WordIndex,
}

impl NgramVocab {
    /// Id of [`UNKNOWN`].
    pub const UNKNOWN_ID: u32 = 0;
    /// Id of [`SENTENCE_START`].
    pub const START_ID: u32 = 1;
    /// Id of [`SENTENCE_END`].
    pub const END_ID: u32 = 2;

    /// A vocabulary holding only the three special tokens.
    pub fn new() -> NgramVocab {
        let mut vocab = NgramVocab::default();
        for special in [UNKNOWN, SENTENCE_START, SENTENCE_END] {
            vocab.intern(special);
        }
        vocab
    }

    /// The id of `word`, adding it if new.
    pub fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.index.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(word.to_string());
        self.index.insert(word.to_string(), id);
        id
    }

    /// The id of `word`, or `None` when it is outside the vocabulary.
    pub fn get(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// The id of `word`, or [`NgramVocab::UNKNOWN_ID`].
    pub fn id_or_unknown(&self, word: &str) -> u32 {
        self.get(word).unwrap_or(Self::UNKNOWN_ID)
    }

    /// The word of `id`.
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// Number of words, the three specials included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Always false: the specials are always there.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// Packs an n-gram of word ids into a `u128`, first word in the most significant bits, so that
/// sorted keys are n-grams in lexicographic order and n-grams sharing a context are adjacent.
/// Each word takes `min(32, 128 / order)` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Packer {
    bits: u32,
}

impl Packer {
    /// The packing for models of `order`.
    pub fn for_order(order: usize) -> Result<Packer> {
        if !(1..=MAX_ORDER).contains(&order) {
            return Err(NlpError::Invalid(format!("n-gram order must be 1..={MAX_ORDER}, got {order}")));
        }
        Ok(Packer { bits: (128 / order as u32).min(32) })
    }

    /// Whether ids below `len` fit.
    pub fn check_vocab(&self, len: usize) -> Result<()> {
        if self.bits < 32 && len as u64 > 1u64 << self.bits {
            return Err(NlpError::Invalid(format!(
                "a vocabulary of {len} words does not fit {} bits per word; use a lower order",
                self.bits
            )));
        }
        Ok(())
    }

    /// The key of `words`.
    pub fn pack(&self, words: &[u32]) -> u128 {
        words.iter().fold(0u128, |key, &w| (key << self.bits) | w as u128)
    }

    /// `key` (an n-gram) extended on the left by `word`, giving an (n+1)-gram.
    pub fn prepend(&self, word: u32, key: u128, n: usize) -> u128 {
        ((word as u128) << (self.bits as usize * n)) | key
    }

    /// `key` (an n-gram) extended on the right by `word`.
    pub fn append(&self, key: u128, word: u32) -> u128 {
        (key << self.bits) | word as u128
    }

    /// The context of an n-gram key: all words but the last.
    pub fn context(&self, key: u128) -> u128 {
        key >> self.bits
    }

    /// The n-gram without its first word.
    pub fn suffix(&self, key: u128, n: usize) -> u128 {
        key & ((1u128 << (self.bits as usize * (n - 1))) - 1)
    }

    /// The words of an n-gram key, first to last.
    pub fn unpack(&self, key: u128, n: usize, out: &mut Vec<u32>) {
        out.clear();
        let mask = if self.bits == 32 { u32::MAX as u128 } else { (1u128 << self.bits) - 1 };
        out.extend((0..n).rev().map(|i| ((key >> (self.bits as usize * i)) & mask) as u32));
    }
}

/// The highest n-gram order supported.
pub const MAX_ORDER: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips_and_sorts_by_context() {
        let p = Packer::for_order(5).unwrap();
        let key = p.pack(&[7, 0, 3_000_000, 2, 9]);
        let mut out = Vec::new();
        p.unpack(key, 5, &mut out);
        assert_eq!(out, [7, 0, 3_000_000, 2, 9]);
        assert_eq!(p.context(key), p.pack(&[7, 0, 3_000_000, 2]));
        assert_eq!(p.suffix(key, 5), p.pack(&[0, 3_000_000, 2, 9]));
        assert_eq!(p.prepend(7, p.suffix(key, 5), 4), key);
        assert!(p.pack(&[1, 5, 0]) < p.pack(&[1, 6, 0]) && p.pack(&[1, 6, 0]) < p.pack(&[2, 0, 0]));
        let wide = Packer::for_order(2).unwrap();
        wide.unpack(wide.pack(&[u32::MAX, 1]), 2, &mut out);
        assert_eq!(out, [u32::MAX, 1]);
        assert!(Packer::for_order(0).is_err() && Packer::for_order(MAX_ORDER + 1).is_err());
        assert!(Packer::for_order(8).unwrap().check_vocab(70_000).is_err());
    }
}
