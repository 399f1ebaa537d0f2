//! Learning BPE merges from a corpus: count the pre-tokenized pieces, then repeatedly merge the
//! most frequent adjacent pair of symbols, updating only the pieces that contain it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;

use super::BpeTokenizer;
use super::byte_level::{BYTE_CHARS, split};
use crate::corpus::Lines;
use crate::{NlpError, Result};

/// Options of BPE training.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BpeTrainer {
    /// Target vocabulary size: specials + 256 byte tokens + merges.
    pub vocab_size: usize,
    /// Pairs seen fewer times are never merged.
    pub min_frequency: u64,
    /// Special tokens, given the first ids and never split.
    pub special_tokens: Vec<String>,
}

impl Default for BpeTrainer {
    fn default() -> Self {
        BpeTrainer { vocab_size: 8000, min_frequency: 2, special_tokens: vec!["<|endoftext|>".into()] }
    }
}

/// Counted pieces and the pair statistics of the merge loop.
struct MergeState {
    words: Vec<Vec<u32>>,
    counts: Vec<u64>,
    pair_counts: HashMap<(u32, u32), u64>,
    pair_words: HashMap<(u32, u32), Vec<u32>>,
}

impl MergeState {
    fn add_pairs(&mut self, word: usize, sign: i64) {
        let count = self.counts[word];
        for w in self.words[word].windows(2) {
            let pair = (w[0], w[1]);
            let total = self.pair_counts.entry(pair).or_default();
            *total = total.wrapping_add_signed(sign * count as i64);
            if sign > 0 {
                self.pair_words.entry(pair).or_default().push(word as u32);
            }
        }
    }
}

impl BpeTrainer {
    /// Learns a tokenizer from texts.
    pub fn train<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Result<BpeTokenizer> {
        let mut pieces: HashMap<String, u64> = HashMap::new();
        for text in texts {
            self.count_pieces(text, &mut pieces);
        }
        self.learn(pieces)
    }

    /// Learns a tokenizer from plain or gzip text files, streamed line by line.
    pub fn train_files(&self, paths: &[&Path]) -> Result<BpeTokenizer> {
        let mut pieces: HashMap<String, u64> = HashMap::new();
        for path in paths {
            Lines::open(path)?.for_each(|_, line| {
                self.count_pieces(line, &mut pieces);
                self.count_pieces("\n", &mut pieces);
                Ok(())
            })?;
        }
        self.learn(pieces)
    }

    fn count_pieces(&self, text: &str, pieces: &mut HashMap<String, u64>) {
        let mut plain = vec![text];
        for special in &self.special_tokens {
            plain = plain.iter().flat_map(|t| t.split(special.as_str())).collect();
        }
        for part in plain {
            for piece in split(part) {
                match pieces.get_mut(piece) {
                    Some(count) => *count += 1,
                    None => {
                        pieces.insert(piece.to_string(), 1);
                    }
                }
            }
        }
    }

    fn learn(&self, pieces: HashMap<String, u64>) -> Result<BpeTokenizer> {
        let base = self.special_tokens.len() + 256;
        if self.vocab_size < base {
            return Err(NlpError::Invalid(format!(
                "a vocabulary of {} cannot hold {} special tokens and the 256 bytes",
                self.vocab_size,
                self.special_tokens.len()
            )));
        }
        let mut tokens: Vec<String> = self.special_tokens.clone();
        tokens.extend(BYTE_CHARS.iter().map(|c| c.to_string()));
        let byte_id = |b: u8| (self.special_tokens.len() + b as usize) as u32;
        let mut sorted: Vec<(String, u64)> = pieces.into_iter().collect();
        sorted.sort_unstable();
        let mut state = MergeState {
            words: sorted.iter().map(|(p, _)| p.bytes().map(byte_id).collect()).collect(),
            counts: sorted.iter().map(|&(_, c)| c).collect(),
            pair_counts: HashMap::new(),
            pair_words: HashMap::new(),
        };
        for word in 0..state.words.len() {
            state.add_pairs(word, 1);
        }
        let mut heap: BinaryHeap<(u64, Reverse<(u32, u32)>)> =
            state.pair_counts.iter().map(|(&pair, &count)| (count, Reverse(pair))).collect();
        let mut merges: Vec<(String, String)> = Vec::new();
        let mut last_visit: Vec<u32> = vec![u32::MAX; state.words.len()];
        while tokens.len() < self.vocab_size {
            let Some((count, Reverse(pair))) = heap.pop() else { break };
            if state.pair_counts.get(&pair) != Some(&count) {
                continue; // stale: the pair's count changed after this entry was pushed
            }
            if count < self.min_frequency.max(1) {
                break;
            }
            let merged = tokens.len() as u32;
            merges.push((tokens[pair.0 as usize].clone(), tokens[pair.1 as usize].clone()));
            tokens.push(format!("{}{}", tokens[pair.0 as usize], tokens[pair.1 as usize]));
            let affected = state.pair_words.remove(&pair).unwrap_or_default();
            let mut touched: Vec<(u32, u32)> = Vec::new();
            for word in affected {
                if std::mem::replace(&mut last_visit[word as usize], merged) == merged {
                    continue;
                }
                let symbols = &state.words[word as usize];
                if !symbols.windows(2).any(|w| (w[0], w[1]) == pair) {
                    continue;
                }
                touched.extend(symbols.windows(2).map(|w| (w[0], w[1])));
                state.add_pairs(word as usize, -1);
                state.words[word as usize] = merge_pair(&state.words[word as usize], pair, merged);
                state.add_pairs(word as usize, 1);
                touched.extend(state.words[word as usize].windows(2).map(|w| (w[0], w[1])));
            }
            touched.sort_unstable();
            touched.dedup();
            for p in touched {
                match state.pair_counts.get(&p) {
                    Some(&0) | None => {
                        state.pair_counts.remove(&p);
                    }
                    Some(&c) => heap.push((c, Reverse(p))),
                }
            }
        }
        BpeTokenizer::from_parts(tokens, &merges, &self.special_tokens)
    }
}

/// `symbols` with every non-overlapping occurrence of `pair`, left to right, replaced by `merged`.
fn merge_pair(symbols: &[u32], pair: (u32, u32), merged: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(symbols.len());
    let mut i = 0;
    while i < symbols.len() {
        if i + 1 < symbols.len() && (symbols[i], symbols[i + 1]) == pair {
            out.push(merged);
            i += 2;
        } else {
            out.push(symbols[i]);
            i += 1;
        }
    }
    out
}
