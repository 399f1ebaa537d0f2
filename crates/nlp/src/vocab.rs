//! A vocabulary: words with counts, sorted by descending count (ties alphabetically), with
//! reserved special tokens first.

use std::collections::HashMap;

/// Word <-> id mapping with counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    words: Vec<String>,
    counts: Vec<u64>,
    index: HashMap<String, usize>,
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
        let mut entries: Vec<(&str, u64)> = counted
            .into_iter()
            .filter(|(w, c)| *c >= config.min_count && !config.specials.iter().any(|s| s == w))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if let Some(max) = config.max_size {
            entries.truncate(max);
        }
        let mut vocab = Vocab { words: Vec::new(), counts: Vec::new(), index: HashMap::new(), unknown: None };
        for special in &config.specials {
            vocab.push(special, 0);
        }
        for (word, count) in entries {
            vocab.push(word, count);
        }
        vocab.unknown = config.unknown.as_ref().and_then(|u| vocab.id(u));
        vocab
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
    }
}
