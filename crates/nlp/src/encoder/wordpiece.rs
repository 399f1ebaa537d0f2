//! WordPiece as Hugging Face's `BertTokenizer` / `BertTokenizerFast` read a `vocab.txt`.
//!
//! 1. **Normalise** (BERT's normaliser): drop NUL, U+FFFD and control/format characters (other
//!    than tab, newline and carriage return, which are whitespace); turn every whitespace into a
//!    space; put spaces around CJK ideographs; when lower-casing, also strip accents (Unicode
//!    NFD, then drop the non-spacing marks) before lower-casing.
//! 2. **Basic split**: split at whitespace, and make every punctuation character (ASCII
//!    punctuation and the Unicode `P*` categories) a word of its own.
//! 3. **WordPiece**: each word, greedy longest-match-first from its start, a piece after the
//!    first written with a `##` prefix; a word with no complete split, or of more than 100
//!    characters, becomes one `[UNK]`.
//!
//! Every normalised character remembers the input character it came from, so each piece carries
//! its span in **characters** (not bytes) of the input: `&text[start..end]` in characters is
//! what the piece was read from (for `[UNK]`, the whole word).

use std::collections::HashMap;

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

/// The prefix of a piece that continues a word.
pub const CONTINUATION: &str = "##";

/// Words longer than this many characters become `[UNK]` (Hugging Face's
/// `max_input_chars_per_word`).
pub const MAX_WORD_CHARS: usize = 100;

/// One piece of a tokenised text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Its id in the vocabulary.
    pub id: u32,
    /// First character of the input it covers.
    pub start: usize,
    /// One past its last character.
    pub end: usize,
    /// Which word of the basic split it belongs to (0, 1, ...).
    pub word: usize,
}

/// A word of the basic split: its normalised text and, per normalised character, the input
/// character it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitWord {
    /// The normalised word.
    pub text: String,
    /// For each character of `text`, its input character's index.
    pub origin: Vec<usize>,
}

impl SplitWord {
    /// The input characters it spans: `origin[0]..origin[last] + 1`.
    pub fn span(&self) -> (usize, usize) {
        (self.origin[0], self.origin[self.origin.len() - 1] + 1)
    }
}

/// Whether `c` is a CJK ideograph (the blocks BERT's normaliser pads with spaces).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// Whitespace as BERT's normaliser reads it.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// A control or format character (category `C*`), which the normaliser drops; tab, newline and
/// carriage return are whitespace instead.
fn is_control(c: char) -> bool {
    use GeneralCategory::*;
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(get_general_category(c), Control | Format | Unassigned | PrivateUse | Surrogate)
}

/// Punctuation as BERT's splitter reads it: ASCII punctuation (which holds symbols such as `$`
/// and `^`) and every Unicode punctuation category.
pub fn is_punctuation(c: char) -> bool {
    use GeneralCategory::*;
    c.is_ascii_punctuation()
        || matches!(
            get_general_category(c),
            ConnectorPunctuation
                | DashPunctuation
                | OpenPunctuation
                | ClosePunctuation
                | InitialPunctuation
                | FinalPunctuation
                | OtherPunctuation
        )
}

/// Steps 1 and 2: the words of `text`, normalised (lower-cased and accent-stripped when
/// `lowercase`), each character tied to the input character it came from.
pub fn basic_split(text: &str, lowercase: bool) -> Vec<SplitWord> {
    let mut words = Vec::new();
    let mut current = SplitWord { text: String::new(), origin: Vec::new() };
    let flush = |current: &mut SplitWord, words: &mut Vec<SplitWord>| {
        if !current.text.is_empty() {
            words.push(std::mem::replace(current, SplitWord { text: String::new(), origin: Vec::new() }));
        }
    };
    for (at, c) in text.chars().enumerate() {
        if c == '\0' || c == '\u{FFFD}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            flush(&mut current, &mut words);
            continue;
        }
        let mut normalised = String::new();
        if lowercase {
            for d in std::iter::once(c).nfd() {
                if get_general_category(d) != GeneralCategory::NonspacingMark {
                    normalised.extend(d.to_lowercase());
                }
            }
        } else {
            normalised.push(c);
        }
        for n in normalised.chars() {
            if is_cjk(n) || is_punctuation(n) {
                flush(&mut current, &mut words);
                words.push(SplitWord { text: n.to_string(), origin: vec![at] });
            } else if is_whitespace(n) {
                flush(&mut current, &mut words);
            } else {
                current.text.push(n);
                current.origin.push(at);
            }
        }
    }
    flush(&mut current, &mut words);
    words
}

/// Step 3 for one normalised word: its pieces as (id, first char, end char) within the word,
/// or `None` when the word has no complete split (or is too long).
pub fn split_word(word: &str, index: &HashMap<String, u32>) -> Option<Vec<(u32, usize, usize)>> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() > MAX_WORD_CHARS {
        return None;
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut candidate = String::new();
    while start < chars.len() {
        let mut found = None;
        for end in (start + 1..=chars.len()).rev() {
            candidate.clear();
            if start > 0 {
                candidate.push_str(CONTINUATION);
            }
            candidate.extend(&chars[start..end]);
            if let Some(&id) = index.get(candidate.as_str()) {
                found = Some((id, end));
                break;
            }
        }
        let (id, end) = found?;
        pieces.push((id, start, end));
        start = end;
    }
    Some(pieces)
}

/// Steps 1 to 3: the pieces of `text` with their input character spans; `unk` stands for a word
/// without a split.
pub fn tokenize(text: &str, lowercase: bool, index: &HashMap<String, u32>, unk: u32) -> Vec<Piece> {
    let mut pieces = Vec::new();
    for (w, word) in basic_split(text, lowercase).into_iter().enumerate() {
        match split_word(&word.text, index) {
            Some(parts) => pieces.extend(parts.into_iter().map(|(id, a, b)| Piece {
                id,
                start: word.origin[a],
                end: word.origin[b - 1] + 1,
                word: w,
            })),
            None => {
                let (start, end) = word.span();
                pieces.push(Piece { id: unk, start, end, word: w });
            }
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(tokens: &[&str]) -> HashMap<String, u32> {
        tokens.iter().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect()
    }

    #[test]
    fn the_basic_split_isolates_punctuation_and_strips_accents_when_lowercasing() {
        let words: Vec<String> = basic_split("Héllo, wörld!\u{200B}x", true).into_iter().map(|w| w.text).collect();
        assert_eq!(words, ["hello", ",", "world", "!", "x"]);
        let cased: Vec<String> = basic_split("Héllo,  WÖRLD", false).into_iter().map(|w| w.text).collect();
        assert_eq!(cased, ["Héllo", ",", "WÖRLD"]);
        let cjk = basic_split("ab中文", false);
        assert_eq!(cjk.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["ab", "中", "文"]);
        assert_eq!(cjk[2].origin, [3]);
    }

    #[test]
    fn greedy_longest_match_first_with_continuations() {
        let vocab = index(&["[UNK]", "un", "##aff", "##able", "una", "##ff", "a"]);
        let pieces = tokenize("unaffable a unxyz", true, &vocab, 0);
        let ids: Vec<u32> = pieces.iter().map(|p| p.id).collect();
        // "una" is longer than "un" but leaves "ffable", which has no split: greedy takes "una",
        // then "##ff", then "##able".
        assert_eq!(ids, [4, 5, 3, 6, 0]);
        assert_eq!((pieces[1].start, pieces[1].end), (3, 5));
        assert_eq!((pieces[4].start, pieces[4].end, pieces[4].word), (12, 17, 2));
    }
}
