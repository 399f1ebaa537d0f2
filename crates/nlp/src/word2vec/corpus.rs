//! Where training text comes from: anything that can stream its tokens sentence by sentence,
//! as many times as there are epochs, without holding the corpus in memory.

use std::collections::HashMap;
use std::path::PathBuf;

use super::normalize::TextNormalizer;
use crate::Result;
use crate::corpus::Lines;
use crate::vocab::{Vocab, VocabConfig};

/// A corpus streamed token by token: `sink(Some(word))` for each token and `sink(None)` at the
/// end of each sentence. Called once per pass (vocabulary counting, then each epoch).
pub trait Corpus: Sync {
    /// Streams every token in order.
    fn stream(&self, sink: &mut dyn FnMut(Option<&str>) -> Result<()>) -> Result<()>;
}

/// Plain or gzip text files, one sentence (or document) per line.
#[derive(Clone, Debug)]
pub struct TextFiles {
    /// The files, read in order.
    pub paths: Vec<PathBuf>,
    /// How each line becomes tokens.
    pub normalizer: TextNormalizer,
}

impl Corpus for TextFiles {
    fn stream(&self, sink: &mut dyn FnMut(Option<&str>) -> Result<()>) -> Result<()> {
        let mut buffer = String::new();
        for path in &self.paths {
            Lines::open(path)?.for_each(|_, line| {
                let mut failed = Ok(());
                self.normalizer.for_each_token(line, &mut buffer, |token| {
                    if failed.is_ok() {
                        failed = sink(Some(token));
                    }
                });
                failed?;
                sink(None)
            })?;
        }
        Ok(())
    }
}

/// Sentences already in memory (tests, the demo's small corpora).
impl Corpus for Vec<Vec<String>> {
    fn stream(&self, sink: &mut dyn FnMut(Option<&str>) -> Result<()>) -> Result<()> {
        for sentence in self {
            for token in sentence {
                sink(Some(token))?;
            }
            sink(None)?;
        }
        Ok(())
    }
}

/// How many distinct words [`build_vocab`] counts at most before pruning the rarest: the C
/// tool's limit (70% of its 30M-entry hash table).
pub const MAX_DISTINCT_WORDS: usize = 21_000_000;

/// Counts a corpus's words in one streaming pass and keeps those seen `min_count` times (the
/// `max_vocab` most frequent when set), sorted by descending count; no special tokens. At most
/// [`MAX_DISTINCT_WORDS`] distinct words are counted (see [`build_vocab_capped`]).
pub fn build_vocab(corpus: &dyn Corpus, min_count: u64, max_vocab: Option<usize>) -> Result<Vocab> {
    build_vocab_capped(corpus, min_count, max_vocab, MAX_DISTINCT_WORDS)
}

/// [`build_vocab`] holding at most `max_distinct` words while counting: past that, the words
/// seen at most `floor` times are dropped and `floor` rises by one, as the C tool's
/// `ReduceVocab` does, so memory stays bounded on a corpus of endless distinct tokens (a
/// pruned word's later occurrences are counted afresh).
pub fn build_vocab_capped(
    corpus: &dyn Corpus,
    min_count: u64,
    max_vocab: Option<usize>,
    max_distinct: usize,
) -> Result<Vocab> {
    let mut counts: HashMap<String, u64, foldhash::fast::RandomState> = HashMap::default();
    let mut floor = 1;
    corpus.stream(&mut |token| {
        if let Some(word) = token {
            match counts.get_mut(word) {
                Some(count) => *count += 1,
                None => {
                    if counts.len() >= max_distinct.max(1) {
                        counts.retain(|_, count| *count > floor);
                        floor += 1;
                    }
                    counts.insert(word.to_string(), 1);
                }
            }
        }
        Ok(())
    })?;
    let config = VocabConfig { min_count, max_size: max_vocab, specials: Vec::new(), unknown: None };
    Ok(Vocab::from_counts(counts, &config))
}
