//! GPT-2's byte-level pre-tokenization: text is split into word-like pieces by GPT-2's pattern,
//! and each piece's UTF-8 bytes are written as printable characters (bytes that are printable
//! Latin-1 stand for themselves, the others for U+0100 onwards), so any text is representable
//! with a base alphabet of 256 symbols.

use std::sync::LazyLock;

use regex::Regex;

/// GPT-2's pattern without its look-ahead `\s+(?!\S)`, which [`split`] applies by hand.
#[allow(clippy::expect_used, reason = "an invariant, not input: a literal pattern that compiles")]
static PIECES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+").expect("a valid pattern")
});

/// The character standing for each byte.
#[allow(clippy::expect_used, reason = "an invariant, not input: U+0000..U+01FF are all valid chars")]
pub(crate) static BYTE_CHARS: LazyLock<[char; 256]> = LazyLock::new(|| {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
    let mut table = ['\0'; 256];
    let mut next_free = 256;
    for b in 0..256u32 {
        table[b as usize] = if printable(b) {
            char::from_u32(b).expect("Latin-1 is valid")
        } else {
            next_free += 1;
            char::from_u32(next_free - 1).expect("U+0100.. are valid")
        };
    }
    table
});

/// The byte a byte-level character stands for, if it is one.
pub(crate) fn char_byte(c: char) -> Option<u8> {
    let code = c as u32;
    match code {
        0..=255 if BYTE_CHARS[code as usize] == c => Some(code as u8),
        256..=323 => BYTE_CHARS.iter().position(|&b| b == c).map(|b| b as u8),
        _ => None,
    }
}

/// Splits `text` into GPT-2 pieces: contractions, optionally space-led runs of letters, of
/// digits or of other symbols, and whitespace (a whitespace run followed by a word leaves its
/// last character to lead the word).
pub(crate) fn split(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut at = 0;
    while let Some(found) = PIECES.find_at(text, at) {
        let (start, mut end) = (found.start(), found.end());
        let piece = found.as_str();
        if end < text.len() && piece.chars().all(char::is_whitespace) && piece.chars().nth(1).is_some() {
            // `\s+(?!\S)`: leave the last whitespace character to the next piece.
            end -= piece.chars().next_back().map_or(0, char::len_utf8);
        }
        pieces.push(&text[start..end]);
        at = end;
    }
    pieces
}

/// The byte-level spelling of a piece.
pub(crate) fn to_byte_chars(piece: &str) -> String {
    piece.bytes().map(|b| BYTE_CHARS[b as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_pieces() {
        let text = "hello  world!\n\n x's 12ab  \t";
        let pieces: Vec<String> = split(text).into_iter().map(to_byte_chars).collect();
        // As the `tokenizers` package's ByteLevel pre-tokenizer splits it.
        assert_eq!(pieces, ["hello", "Ġ", "Ġworld", "!", "ĊĊ", "Ġx", "'s", "Ġ12", "ab", "ĠĠĉ"]);
        assert_eq!(split("\tx"), ["\t", "x"]);
        assert_eq!(split("a  "), ["a", "  "]);
        assert_eq!(split("日本 ok"), ["日本", " ok"]);
        assert_eq!(split("").len(), 0);
    }

    #[test]
    fn byte_characters_are_a_bijection() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = BYTE_CHARS[b as usize];
            assert!(seen.insert(c));
            assert_eq!(char_byte(c), Some(b));
        }
        assert_eq!((BYTE_CHARS[b' ' as usize], BYTE_CHARS[b'\n' as usize], BYTE_CHARS[b'a' as usize]), ('Ġ', 'Ċ', 'a'));
        assert_eq!(char_byte('Ř'), None);
    }
}
