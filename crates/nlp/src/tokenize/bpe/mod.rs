//! Byte-level byte-pair encoding, GPT-2's subword scheme: pieces of text are spelt in 256 byte
//! symbols, and learnt merges join frequent adjacent symbols into larger tokens. Every UTF-8
//! text encodes and decodes back exactly; special tokens (e.g. `<|endoftext|>`) are matched
//! whole before anything else.

mod byte_level;
mod hf_json;
mod train;

pub use train::BpeTrainer;

use std::collections::HashMap;

use regex::Regex;

use crate::{NlpError, Result};
use byte_level::{BYTE_CHARS, char_byte, split, to_byte_chars};

/// A trained byte-level BPE tokenizer.
#[derive(Clone, Debug)]
pub struct BpeTokenizer {
    /// Token text by id: byte-level spellings, or a special token's content.
    tokens: Vec<String>,
    index: HashMap<String, u32>,
    /// Merges in priority order.
    merges: Vec<(u32, u32)>,
    /// For each mergeable pair: its rank and the id of the merged token.
    merge_ranks: HashMap<(u32, u32), (u32, u32)>,
    /// The id of each byte's one-symbol token.
    byte_ids: [u32; 256],
    /// Special tokens' ids, and a pattern that finds them in text.
    specials: Vec<u32>,
    special_pattern: Option<Regex>,
}

impl BpeTokenizer {
    /// Assembles a tokenizer from its vocabulary (id order), merges and special tokens, checking
    /// that every byte has a token and every merge's parts and result exist.
    pub(crate) fn from_parts(tokens: Vec<String>, merges: &[(String, String)], specials: &[String]) -> Result<Self> {
        let index: HashMap<String, u32> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        if index.len() != tokens.len() {
            return Err(NlpError::Invalid("the vocabulary lists a token twice".into()));
        }
        let id_of = |token: &str| {
            index
                .get(token)
                .copied()
                .ok_or_else(|| NlpError::Invalid(format!("token `{token}` is not in the vocabulary")))
        };
        let mut byte_ids = [0u32; 256];
        for (b, id) in byte_ids.iter_mut().enumerate() {
            *id = id_of(&BYTE_CHARS[b].to_string())?;
        }
        let mut merge_ranks = HashMap::with_capacity(merges.len());
        let mut merge_ids = Vec::with_capacity(merges.len());
        for (rank, (left, right)) in merges.iter().enumerate() {
            let pair = (id_of(left)?, id_of(right)?);
            merge_ranks.entry(pair).or_insert((rank as u32, id_of(&format!("{left}{right}"))?));
            merge_ids.push(pair);
        }
        let special_ids = specials.iter().map(|s| id_of(s)).collect::<Result<Vec<u32>>>()?;
        let not_byte_level = tokens
            .iter()
            .enumerate()
            .find(|(id, t)| !special_ids.contains(&(*id as u32)) && t.chars().any(|c| char_byte(c).is_none()));
        if let Some((id, token)) = not_byte_level {
            return Err(NlpError::Invalid(format!("token {id} `{token}` is neither byte-level nor special")));
        }
        let special_pattern = if specials.is_empty() {
            None
        } else {
            let mut longest_first: Vec<&String> = specials.iter().collect();
            longest_first.sort_by_key(|s| std::cmp::Reverse(s.len()));
            let alternatives: Vec<String> = longest_first.iter().map(|s| regex::escape(s)).collect();
            Some(Regex::new(&alternatives.join("|")).map_err(|e| NlpError::Invalid(e.to_string()))?)
        };
        Ok(BpeTokenizer {
            tokens,
            index,
            merges: merge_ids,
            merge_ranks,
            byte_ids,
            specials: special_ids,
            special_pattern,
        })
    }

    /// Number of tokens, specials included.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The text of token `id` (byte-level spelling: a space shows as `Ġ`), if it exists.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// The id of a token given in its byte-level spelling, or of a special token.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// Number of learnt merges.
    pub fn merge_count(&self) -> usize {
        self.merges.len()
    }

    /// The ids of `text`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::with_capacity(text.len() / 3);
        let mut plain_from = 0;
        if let Some(pattern) = &self.special_pattern {
            for found in pattern.find_iter(text) {
                self.encode_plain(&text[plain_from..found.start()], &mut ids);
                ids.push(self.index[found.as_str()]);
                plain_from = found.end();
            }
        }
        self.encode_plain(&text[plain_from..], &mut ids);
        ids
    }

    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) {
        for piece in split(text) {
            let start = ids.len();
            ids.extend(piece.bytes().map(|b| self.byte_ids[b as usize]));
            self.apply_merges(ids, start);
        }
    }

    /// Merges the symbols `ids[start..]` by rank until no learnt merge applies.
    fn apply_merges(&self, ids: &mut Vec<u32>, start: usize) {
        loop {
            let best = ids[start..]
                .windows(2)
                .filter_map(|w| self.merge_ranks.get(&(w[0], w[1])).map(|&(rank, merged)| (rank, (w[0], w[1]), merged)))
                .min_by_key(|&(rank, _, _)| rank);
            let Some((_, pair, merged)) = best else { return };
            let mut write = start;
            let mut read = start;
            while read < ids.len() {
                if read + 1 < ids.len() && (ids[read], ids[read + 1]) == pair {
                    ids[write] = merged;
                    read += 2;
                } else {
                    ids[write] = ids[read];
                    read += 1;
                }
                write += 1;
            }
            ids.truncate(write);
        }
    }

    /// The bytes `ids` stand for.
    #[allow(clippy::expect_used, reason = "an invariant, not input: vocabulary tokens are byte-level")]
    pub fn decode_bytes(&self, ids: &[u32]) -> Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            let token = self.token(id).ok_or_else(|| {
                NlpError::Invalid(format!("token id {id} is outside the vocabulary of {}", self.tokens.len()))
            })?;
            if self.specials.contains(&id) {
                bytes.extend_from_slice(token.as_bytes());
            } else {
                // Cannot fail: `from_parts` refuses a non-special token with a character outside the byte map.
                bytes.extend(token.chars().map(|c| char_byte(c).expect("vocabulary tokens are byte-level")));
            }
        }
        Ok(bytes)
    }

    /// The text `ids` stand for; an error when they are not a whole UTF-8 text (e.g. a cut
    /// inside a character).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        String::from_utf8(self.decode_bytes(ids)?).map_err(|e| {
            NlpError::Invalid(format!("the tokens decode to invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()))
        })
    }

    /// The byte-level spelling of each token of `text` (for display).
    pub fn encode_to_tokens(&self, text: &str) -> Vec<&str> {
        self.encode(text).into_iter().map(|id| self.tokens[id as usize].as_str()).collect()
    }

    /// The byte-level spelling of a plain piece of text.
    pub fn spell(text: &str) -> String {
        to_byte_chars(text)
    }
}
