//! A vocabulary: words with counts, sorted by descending count (ties alphabetically), with
//! reserved special tokens first.

use std::collections::HashMap;
use std::path::Path;

use crate::corpus::Lines;
use crate::{NlpError, Result};

/// Word <-> id mapping with counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    words: Vec<String>,
    counts: Vec<u64>,
    index: HashMap<String, usize, foldhash::fast::RandomState>,
    unknown: Option<usize>,
}

/// How to build a [`Vocab`] from counted tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VocabConfig {
    /// Words seen fewer times are left out (they map to the unknown token).
    pub min_count: u64,
    /// At most this many words besides the specials (the most frequent), if set.
    pub max_size: Option<usize>,
    /// Reserved tokens given the first ids, in order (e.g. `<pad>`, `<unk>`).
    pub specials: Vec<String>,
    /// The special that unknown words map to, if any.
    pub unknown: Option<String>,
}

impl Default for VocabConfig {
    fn default() -> Self {
        VocabConfig {
            min_count: 1,
            max_size: None,
            specials: vec!["<pad>".into(), "<unk>".into()],
            unknown: Some("<unk>".into()),
        }
    }
}

impl Vocab {
    /// Counts `tokens` and keeps the words `config` allows.
    pub fn build<'a>(tokens: impl IntoIterator<Item = &'a str>, config: &VocabConfig) -> Vocab {
        let mut counted: HashMap<&str, u64> = HashMap::new();
        for t in tokens {
            *counted.entry(t).or_default() += 1;
        }
        Vocab::from_counts(counted, config)
    }

    /// Keeps the counted words `config` allows: at least `min_count`, the `max_size` most
    /// frequent, sorted by descending count (ties alphabetically), after the specials.
    pub fn from_counts<S: AsRef<str>>(counted: impl IntoIterator<Item = (S, u64)>, config: &VocabConfig) -> Vocab {
        let mut entries: Vec<(S, u64)> = counted
            .into_iter()
            .filter(|(w, c)| *c >= config.min_count && !config.specials.iter().any(|s| s == w.as_ref()))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_ref().cmp(b.0.as_ref())));
        if let Some(max) = config.max_size {
            entries.truncate(max);
        }
        let mut vocab = Vocab { words: Vec::new(), counts: Vec::new(), index: HashMap::default(), unknown: None };
        for special in &config.specials {
            vocab.push(special, 0);
        }
        for (word, count) in entries {
            vocab.push(word.as_ref(), count);
        }
        vocab.unknown = config.unknown.as_ref().and_then(|u| vocab.id(u));
        vocab
    }

    /// Writes `word count` lines in id order (the word2vec tool's `-save-vocab`), atomically.
    pub fn save_counts(&self, path: &Path) -> Result<()> {
        nn_layers::checkpoint::write_atomically(path, |out| {
            for (word, count) in self.words.iter().zip(&self.counts) {
                writeln!(out, "{word} {count}")?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Reads `word count` lines (as [`Vocab::save_counts`] and the word2vec tool write them),
    /// keeping their order; no specials, no unknown token.
    pub fn load_counts(path: &Path) -> Result<Vocab> {
        let mut vocab = Vocab { words: Vec::new(), counts: Vec::new(), index: HashMap::default(), unknown: None };
        Lines::open(path)?.for_each(|line, text| {
            let parse_error = |msg: String| NlpError::Parse { path: path.to_path_buf(), line, msg };
            let mut fields = text.split_whitespace();
            let (Some(word), Some(count), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(parse_error(format!("expected `word count`, found `{text}`")));
            };
            let count = count.parse().map_err(|_| parse_error(format!("count `{count}` is not a whole number")))?;
            if vocab.index.contains_key(word) {
                return Err(parse_error(format!("`{word}` is listed twice")));
            }
            vocab.push(word, count);
            Ok(())
        })?;
        Ok(vocab)
    }

    /// The sum of all counts.
    pub fn total_count(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn push(&mut self, word: &str, count: u64) {
        self.index.insert(word.to_string(), self.words.len());
        self.words.push(word.to_string());
        self.counts.push(count);
    }

    /// Number of entries, specials included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of `word`, if present.
    pub fn id(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    /// The word with id `id`.
    pub fn word(&self, id: usize) -> Option<&str> {
        self.words.get(id).map(String::as_str)
    }

    /// How often the word with id `id` was seen (0 for specials).
    pub fn count(&self, id: usize) -> u64 {
        self.counts.get(id).copied().unwrap_or(0)
    }

    /// Ids of `tokens`; unknown words map to the unknown token, or are dropped without one.
    pub fn encode<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<usize> {
        tokens.iter().filter_map(|t| self.id(t.as_ref()).or(self.unknown)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_by_count_with_specials_first() {
        let text = "b a c a b a d";
        let v = Vocab::build(text.split(' '), &VocabConfig { min_count: 2, ..VocabConfig::default() });
        assert_eq!((0..v.len()).map(|i| v.word(i).unwrap()).collect::<Vec<_>>(), ["<pad>", "<unk>", "a", "b"]);
        assert_eq!((v.count(2), v.count(3)), (3, 2));
        assert_eq!(v.encode(&["a", "zzz", "b"]), [2, 1, 3]);
        let capped = Vocab::build(text.split(' '), &VocabConfig { max_size: Some(1), ..VocabConfig::default() });
        assert_eq!(capped.len(), 3);
        let bare =
            Vocab::build(text.split(' '), &VocabConfig { specials: vec![], unknown: None, ..VocabConfig::default() });
        assert_eq!(bare.encode(&["a", "zzz"]), [0]);
        let path = std::env::temp_dir().join(format!("tessera-vocab-{}.txt", std::process::id()));
        bare.save_counts(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 3\nb 2\nc 1\nd 1\n");
        let loaded = Vocab::load_counts(&path).unwrap();
        assert_eq!((loaded.len(), loaded.count(0), loaded.total_count()), (4, 3, 7));
        std::fs::write(&path, "a 3\nb x\n").unwrap();
        assert!(matches!(Vocab::load_counts(&path), Err(NlpError::Parse { line: 2, .. })));
        std::fs::remove_file(&path).unwrap();
    }
}
