//! The reader's word → id lookup. Every token of every epoch goes through it, on the thread that
//! feeds the workers, so it is built for that one job: an open-addressing table whose slots hold
//! the word's bytes inline (up to [`INLINE`]), so a hit costs one cache line, not a probe plus a
//! second read of the word from wherever its `String` was allocated. Longer words go to an
//! ordinary map.

use std::collections::HashMap;

use crate::vocab::Vocab;

/// Words up to this many bytes are stored in the table's slots.
const INLINE: usize = 24;

/// A word of at most [`INLINE`] bytes, zero-padded, with its length and id.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
struct Slot {
    bytes: [u8; INLINE],
    /// 0 marks an empty slot (a vocabulary has no empty word).
    len: u32,
    id: u32,
}

/// Ids of a vocabulary's words (see the module documentation).
pub(crate) struct WordIds {
    slots: Vec<Slot>,
    mask: usize,
    long: HashMap<String, u32, foldhash::fast::RandomState>,
}

impl WordIds {
    /// The table of every word of `vocab`.
    #[allow(clippy::expect_used, reason = "an invariant, not input: ids below len are words")]
    pub(crate) fn new(vocab: &Vocab) -> WordIds {
        // At most half full, so a miss (an out-of-vocabulary token) ends after a probe or two.
        let size = (2 * vocab.len()).next_power_of_two().max(16);
        let empty = Slot { bytes: [0; INLINE], len: 0, id: 0 };
        let mut table = WordIds { slots: vec![empty; size], mask: size - 1, long: HashMap::default() };
        for id in 0..vocab.len() {
            let word = vocab.word(id).expect("ids below len are words");
            match Self::key(word) {
                Some(bytes) if !word.is_empty() => {
                    let mut at = table.home(&bytes);
                    while table.slots[at].len != 0 {
                        at = (at + 1) & table.mask;
                    }
                    table.slots[at] = Slot { bytes, len: word.len() as u32, id: id as u32 };
                }
                _ => {
                    table.long.insert(word.to_string(), id as u32);
                }
            }
        }
        table
    }

    /// The id of `word`, if the vocabulary has it.
    #[inline]
    pub(crate) fn get(&self, word: &str) -> Option<u32> {
        let Some(bytes) = Self::key(word) else { return self.long.get(word).copied() };
        let mut at = self.home(&bytes);
        loop {
            let slot = &self.slots[at];
            if slot.len == 0 {
                return None;
            }
            if slot.len as usize == word.len() && slot.bytes == bytes {
                return Some(slot.id);
            }
            at = (at + 1) & self.mask;
        }
    }

    /// `word` zero-padded to [`INLINE`] bytes, or `None` if it is longer.
    #[inline(always)]
    fn key(word: &str) -> Option<[u8; INLINE]> {
        let mut bytes = [0u8; INLINE];
        bytes.get_mut(..word.len())?.copy_from_slice(word.as_bytes());
        Some(bytes)
    }

    /// The first slot to look at for a key: its three 64-bit words multiplied by odd constants,
    /// then a 128-bit multiply folded back to 64 bits, so every input bit reaches the low bits
    /// the mask keeps.
    #[inline(always)]
    #[allow(clippy::expect_used, reason = "an invariant, not input: 8 bytes")]
    fn home(&self, bytes: &[u8; INLINE]) -> usize {
        let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
        let mixed = word(0).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ word(1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ word(2).wrapping_mul(0x1656_67B1_9E37_79F9);
        let folded = (mixed as u128).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        ((folded as u64) ^ ((folded >> 64) as u64)) as usize & self.mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::VocabConfig;

    #[test]
    fn agrees_with_the_vocabulary_on_known_unknown_and_long_words() {
        let long = "pneumonoultramicroscopicsilicovolcanoconiosis";
        let mut counts: Vec<(String, u64)> = (0..500).map(|i| (format!("w{i}"), 1000 - i as u64)).collect();
        counts.extend([(long.to_string(), 7), ("exactly-twenty-four-byte".to_string(), 5), ("é".to_string(), 3)]);
        let config = VocabConfig { min_count: 1, max_size: None, specials: vec![], unknown: None };
        let vocab = Vocab::from_counts(counts.clone(), &config);
        let ids = WordIds::new(&vocab);
        for (word, _) in &counts {
            assert_eq!(ids.get(word).map(|id| id as usize), vocab.id(word), "{word}");
        }
        for unknown in ["", "w500", "w1\0", "exactly-twenty-four-bytes", &long[1..], "e"] {
            assert_eq!(ids.get(unknown), None, "{unknown:?}");
        }
    }
}
