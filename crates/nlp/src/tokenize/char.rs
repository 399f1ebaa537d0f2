//! The character tokenizer: every character (Unicode scalar value) is a token.

use crate::vocab::{Vocab, VocabConfig};

/// One token per character, over the characters of a training corpus (most frequent first);
/// characters never seen map to `<unk>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharTokenizer {
    vocab: Vocab,
}

/// A character as a one-character string slice of `text`.
fn chars(text: &str) -> impl Iterator<Item = &str> {
    text.char_indices().map(|(i, c)| &text[i..i + c.len_utf8()])
}

impl CharTokenizer {
    /// Learns the character set of `texts`, keeping characters seen at least `min_count` times.
    /// Ids 0 and 1 are `<pad>` and `<unk>`.
    pub fn train<'a>(texts: impl IntoIterator<Item = &'a str>, min_count: u64) -> CharTokenizer {
        let config = VocabConfig { min_count, ..VocabConfig::default() };
        CharTokenizer { vocab: Vocab::build(texts.into_iter().flat_map(chars), &config) }
    }

    /// The token ids of `text`.
    pub fn encode(&self, text: &str) -> Vec<usize> {
        self.vocab.encode(&chars(text).collect::<Vec<_>>())
    }

    /// The text of `ids`; `<pad>` decodes to nothing and `<unk>` to U+FFFD.
    pub fn decode(&self, ids: &[usize]) -> String {
        ids.iter()
            .filter_map(|&id| match self.vocab.word(id) {
                Some("<pad>") => None,
                Some("<unk>") | None => Some("\u{FFFD}"),
                Some(c) => Some(c),
            })
            .collect()
    }

    /// The vocabulary (specials first).
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }
}

#[cfg(test)]
mod tests {
    use super::CharTokenizer;

    #[test]
    fn round_trips_seen_characters() {
        let t = CharTokenizer::train(["héllo wörld", "日本語 ok"], 1);
        for text in ["héllo", "wörld 日本", ""] {
            assert_eq!(t.decode(&t.encode(text)), text);
        }
        assert_eq!(t.encode("l")[0], 2, "the most frequent character gets the first free id");
        assert_eq!(t.decode(&t.encode("hi!")), "h\u{FFFD}\u{FFFD}");
        assert_eq!(t.vocab().len(), 2 + 13, "h é l o space w ö r d 日 本 語 k");
    }
}
