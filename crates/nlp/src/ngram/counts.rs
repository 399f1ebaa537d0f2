//! Counting n-grams from a stream of sentences, with memory bounded by the number of distinct
//! n-grams (occurrences are buffered, sorted and merged in chunks), and the derivation of every
//! lower order's raw counts and Kneser-Ney adjusted counts (distinct left extensions).

use std::path::Path;

use super::vocab::{NgramVocab, Packer, SENTENCE_END, SENTENCE_START, UNKNOWN};
use crate::corpus::Lines;
use crate::{NlpError, Result};

/// Occurrences buffered before they are sorted and merged into the counts.
const CHUNK_OCCURRENCES: usize = 1 << 22;

/// The n-grams of one order, sorted by key, with their counts.
#[derive(Clone, Debug, Default)]
pub(crate) struct CountTable {
    /// Packed n-grams, ascending.
    pub keys: Vec<u128>,
    /// How often each n-gram occurred.
    pub raw: Vec<u32>,
    /// Kneser-Ney's adjusted count: the number of distinct words seen before the n-gram; for the
    /// highest order and for n-grams starting with `<s>` (which nothing can precede), the raw count.
    pub adjusted: Vec<u32>,
}

impl CountTable {
    /// The position of `key`, if present.
    pub fn find(&self, key: u128) -> Option<usize> {
        self.keys.binary_search(&key).ok()
    }
}

/// Counts n-grams of sentences given one at a time. Each sentence is padded as
/// `<s> w1 .. wk </s>`; `<s>` is only ever a context, `</s>` is predicted.
pub struct NgramCounter {
    order: usize,
    packer: Packer,
    vocab: NgramVocab,
    /// Per order (index n-1), buffered occurrences: every top-order n-gram, and the shorter
    /// n-grams that start at `<s>` (the only ones not contained in a top-order n-gram).
    pending: Vec<Vec<u128>>,
    counted: Vec<(Vec<u128>, Vec<u32>)>,
    /// Occurrences buffered (over all orders) before they are sorted and merged.
    buffer: usize,
    ids: Vec<u32>,
    tokens: u64,
    sentences: u64,
}

/// Everything counted from a corpus: the vocabulary and one [`CountTable`] per order.
#[derive(Clone, Debug)]
pub struct NgramCounts {
    pub(crate) order: usize,
    pub(crate) packer: Packer,
    pub(crate) vocab: NgramVocab,
    pub(crate) tables: Vec<CountTable>,
    /// Tokens counted, `</s>` included.
    pub tokens: u64,
    /// Sentences counted.
    pub sentences: u64,
}

impl NgramCounter {
    /// A counter for n-grams up to `order`, buffering 4M occurrences (64 MiB) between merges.
    pub fn new(order: usize) -> Result<NgramCounter> {
        NgramCounter::with_buffer(order, CHUNK_OCCURRENCES)
    }

    /// A counter that buffers at most `occurrences` n-gram occurrences (16 bytes each) before
    /// sorting and merging them into the counts, like KenLM's `-S`: memory then grows with
    /// the distinct n-grams, never with the corpus's length.
    pub fn with_buffer(order: usize, occurrences: usize) -> Result<NgramCounter> {
        Ok(NgramCounter {
            buffer: occurrences.max(1),
            order,
            packer: Packer::for_order(order)?,
            vocab: NgramVocab::new(),
            pending: vec![Vec::new(); order],
            counted: vec![(Vec::new(), Vec::new()); order],
            ids: Vec::new(),
            tokens: 0,
            sentences: 0,
        })
    }

    /// Counts one sentence of whitespace-separated tokens (an empty line is an empty sentence).
    /// Literal `<s>` and `</s>` tokens are dropped (the padding adds them); `<unk>` is the
    /// unknown word.
    pub fn add_line(&mut self, line: &str) -> Result<()> {
        self.add_sentence(line.split_whitespace())
    }

    /// Counts one sentence of tokens.
    pub fn add_sentence<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) -> Result<()> {
        self.ids.clear();
        self.ids.push(NgramVocab::START_ID);
        for word in words {
            if word != SENTENCE_START && word != SENTENCE_END {
                let id = if word == UNKNOWN { NgramVocab::UNKNOWN_ID } else { self.vocab.intern(word) };
                self.ids.push(id);
            }
        }
        self.ids.push(NgramVocab::END_ID);
        self.packer.check_vocab(self.vocab.len())?;
        for end in 1..self.ids.len() {
            let n = self.order.min(end + 1);
            self.pending[n - 1].push(self.packer.pack(&self.ids[end + 1 - n..=end]));
        }
        self.tokens += self.ids.len() as u64 - 1;
        self.sentences += 1;
        if self.pending.iter().map(Vec::len).sum::<usize>() >= self.buffer {
            self.flush()?;
        }
        Ok(())
    }

    /// Counts every line of a plain or gzip text file, streaming it.
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        Lines::open(path)?.for_each(|_, line| self.add_line(line))
    }

    /// Sorts the buffered occurrences and merges them into the counts.
    fn flush(&mut self) -> Result<()> {
        for (pending, (keys, counts)) in self.pending.iter_mut().zip(&mut self.counted) {
            pending.sort_unstable();
            let (run_keys, run_counts) = run_lengths(pending.iter().map(|&k| (k, 1)))?;
            pending.clear();
            let (merged_keys, merged_counts) = merge_sorted(keys, counts, &run_keys, &run_counts)?;
            *keys = merged_keys;
            *counts = merged_counts;
        }
        Ok(())
    }

    /// Finishes counting: derives every order's raw and adjusted counts.
    pub fn finish(mut self) -> Result<NgramCounts> {
        self.flush()?;
        if self.sentences == 0 {
            return Err(NlpError::Invalid("the corpus is empty: no sentence to count".into()));
        }
        let order = self.order;
        let mut tables: Vec<CountTable> = vec![CountTable::default(); order];
        let (keys, raw) = std::mem::take(&mut self.counted[order - 1]);
        tables[order - 1] = CountTable { adjusted: raw.clone(), keys, raw };
        for n in (1..order).rev() {
            let higher = &tables[n];
            let mut suffixes: Vec<(u128, u32)> =
                higher.keys.iter().zip(&higher.raw).map(|(&k, &c)| (self.packer.suffix(k, n + 1), c)).collect();
            suffixes.sort_unstable_by_key(|&(k, _)| k);
            let mut table = CountTable::default();
            for (key, count) in suffixes {
                if table.keys.last() == Some(&key) {
                    let last = table.raw.len() - 1;
                    table.raw[last] = checked_add(table.raw[last], count)?;
                    table.adjusted[last] += 1;
                } else {
                    table.keys.push(key);
                    table.raw.push(count);
                    table.adjusted.push(1);
                }
            }
            let (start_keys, start_counts) = std::mem::take(&mut self.counted[n - 1]);
            let starts = CountTable { keys: start_keys, adjusted: start_counts.clone(), raw: start_counts };
            tables[n - 1] = merge_disjoint(table, starts);
        }
        Ok(NgramCounts {
            order,
            packer: self.packer,
            vocab: self.vocab,
            tables,
            tokens: self.tokens,
            sentences: self.sentences,
        })
    }
}

impl NgramCounts {
    /// The highest order counted.
    pub fn order(&self) -> usize {
        self.order
    }

    /// The vocabulary seen.
    pub fn vocab(&self) -> &NgramVocab {
        &self.vocab
    }

    /// Number of distinct n-grams of order `n` (1-based).
    pub fn distinct(&self, n: usize) -> usize {
        self.tables[n - 1].keys.len()
    }

    /// How often the n-gram `words` occurred (0 when never, or when a word is unknown).
    pub fn count(&self, words: &[&str]) -> u32 {
        let ids: Option<Vec<u32>> = words.iter().map(|w| self.vocab.get(w)).collect();
        match ids {
            Some(ids) if (1..=self.order).contains(&ids.len()) => {
                let table = &self.tables[ids.len() - 1];
                table.find(self.packer.pack(&ids)).map_or(0, |i| table.raw[i])
            }
            _ => 0,
        }
    }
}

fn checked_add(a: u32, b: u32) -> Result<u32> {
    a.checked_add(b).ok_or_else(|| NlpError::Invalid("an n-gram count exceeds 2^32".into()))
}

/// Collapses sorted `(key, count)` pairs into distinct keys with summed counts.
fn run_lengths(sorted: impl Iterator<Item = (u128, u32)>) -> Result<(Vec<u128>, Vec<u32>)> {
    let (mut keys, mut counts): (Vec<u128>, Vec<u32>) = (Vec::new(), Vec::new());
    for (key, count) in sorted {
        if keys.last() == Some(&key) {
            let last = counts.len() - 1;
            counts[last] = checked_add(counts[last], count)?;
        } else {
            keys.push(key);
            counts.push(count);
        }
    }
    Ok((keys, counts))
}

/// Merges two sorted count lists, summing the counts of keys in both.
fn merge_sorted(ak: &[u128], ac: &[u32], bk: &[u128], bc: &[u32]) -> Result<(Vec<u128>, Vec<u32>)> {
    if ak.is_empty() {
        return Ok((bk.to_vec(), bc.to_vec()));
    }
    let (mut i, mut j) = (0, 0);
    let mut merged = Vec::with_capacity(ak.len() + bk.len());
    while i < ak.len() || j < bk.len() {
        if j == bk.len() || (i < ak.len() && ak[i] <= bk[j]) {
            merged.push((ak[i], ac[i]));
            i += 1;
        } else {
            merged.push((bk[j], bc[j]));
            j += 1;
        }
    }
    run_lengths(merged.into_iter())
}

/// Merges two sorted tables whose keys never coincide.
fn merge_disjoint(a: CountTable, b: CountTable) -> CountTable {
    if b.keys.is_empty() {
        return a;
    }
    let mut out = CountTable::default();
    let (mut i, mut j) = (0, 0);
    while i < a.keys.len() || j < b.keys.len() {
        let (from, k) = if j == b.keys.len() || (i < a.keys.len() && a.keys[i] < b.keys[j]) {
            i += 1;
            (&a, i - 1)
        } else {
            j += 1;
            (&b, j - 1)
        };
        out.keys.push(from.keys[k]);
        out.raw.push(from.raw[k]);
        out.adjusted.push(from.adjusted[k]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(order: usize, text: &[&str]) -> NgramCounts {
        let mut counter = NgramCounter::new(order).unwrap();
        for line in text {
            counter.add_line(line).unwrap();
        }
        counter.finish().unwrap()
    }

    #[test]
    fn raw_and_adjusted_counts() {
        let c = counts(3, &["a b c", "b b c", "a b c"]);
        assert_eq!((c.tokens, c.sentences), (12, 3));
        assert_eq!(c.count(&["a", "b", "c"]), 2);
        assert_eq!(c.count(&["<s>", "a", "b"]), 2);
        assert_eq!(c.count(&["<s>", "a"]), 2);
        assert_eq!(c.count(&["b", "c"]), 3);
        assert_eq!(c.count(&["b"]), 4);
        assert_eq!(c.count(&["c", "</s>"]), 3);
        assert_eq!(c.count(&["x"]), 0);
        let bigrams = &c.tables[1];
        let adjusted = |words: &[u32]| bigrams.adjusted[bigrams.find(c.packer.pack(words)).unwrap()];
        let (a, b, cc) = (c.vocab.get("a").unwrap(), c.vocab.get("b").unwrap(), c.vocab.get("c").unwrap());
        // "b c" follows "a" and "b": two distinct left extensions; "<s> a" keeps its raw count.
        assert_eq!(adjusted(&[b, cc]), 2);
        assert_eq!(adjusted(&[NgramVocab::START_ID, a]), 2);
        assert_eq!(adjusted(&[b, b]), 1);
        // The unigram "b" is preceded by "a", "<s>" and "b".
        let unigrams = &c.tables[0];
        assert_eq!(unigrams.adjusted[unigrams.find(b as u128).unwrap()], 3);
    }

    #[test]
    fn chunked_counting_matches_one_pass() {
        let mut counter = NgramCounter::new(2).unwrap();
        for i in 0..1000 {
            counter.add_line(&format!("w{} w{} w{}", i % 7, i % 3, i % 5)).unwrap();
            if i % 100 == 0 {
                counter.flush().unwrap();
            }
        }
        let chunked = counter.finish().unwrap();
        let lines: Vec<String> = (0..1000).map(|i| format!("w{} w{} w{}", i % 7, i % 3, i % 5)).collect();
        let whole = counts(2, &lines.iter().map(String::as_str).collect::<Vec<_>>());
        for n in 0..2 {
            assert_eq!(chunked.tables[n].keys, whole.tables[n].keys);
            assert_eq!(chunked.tables[n].raw, whole.tables[n].raw);
            assert_eq!(chunked.tables[n].adjusted, whole.tables[n].adjusted);
        }
    }

    #[test]
    fn empty_corpus_is_an_error() {
        assert!(matches!(NgramCounter::new(3).unwrap().finish(), Err(NlpError::Invalid(_))));
    }
}
