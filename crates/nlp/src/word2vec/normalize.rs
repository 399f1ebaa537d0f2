//! Turning lines of raw text into word2vec tokens: whitespace splitting with optional
//! lower-casing, or Matt Mahoney's text8 normalisation (lower-case letters a-z only, each digit
//! spelt out, everything else a space), which gensim's and the C tool's text8 benchmarks use.

/// How a line becomes tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextNormalizer {
    /// Lower-case every token.
    pub lowercase: bool,
    /// text8 rules: keep a-z (after lower-casing), spell digits ("2" -> "two"), drop the rest.
    pub text8: bool,
}

const DIGITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

impl TextNormalizer {
    /// Calls `each` with every token of `line`, reusing one buffer.
    pub fn for_each_token(&self, line: &str, buffer: &mut String, mut each: impl FnMut(&str)) {
        if !self.text8 {
            for token in whitespace_tokens(line) {
                if self.lowercase && token.chars().any(char::is_uppercase) {
                    buffer.clear();
                    buffer.extend(token.chars().flat_map(char::to_lowercase));
                    each(buffer);
                } else {
                    each(token);
                }
            }
            return;
        }
        buffer.clear();
        let mut flush = |buffer: &mut String| {
            if !buffer.is_empty() {
                each(buffer);
                buffer.clear();
            }
        };
        for c in line.chars() {
            match c {
                'a'..='z' => buffer.push(c),
                'A'..='Z' => buffer.push(c.to_ascii_lowercase()),
                '0'..='9' => {
                    flush(buffer);
                    buffer.push_str(DIGITS[c as usize - '0' as usize]);
                    flush(buffer);
                }
                _ => flush(buffer),
            }
        }
        flush(buffer);
    }

    /// The tokens of `line` (allocating; for tests and small inputs).
    pub fn tokens(&self, line: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(line, &mut String::new(), |t| out.push(t.to_string()));
        out
    }
}

/// `line.split_whitespace()`, a byte at a time when the line is ASCII (the common case, and
/// several times faster than decoding and classifying every character).
fn whitespace_tokens(line: &str) -> impl Iterator<Item = &str> {
    let ascii = line.is_ascii();
    let (ascii_line, unicode_line) = if ascii { (line, "") } else { ("", line) };
    // The ASCII characters `char::is_whitespace` accepts.
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
    let ascii_tokens = ascii_line.as_bytes().split(space).filter(|t| !t.is_empty()).map(|t| {
        // SAFETY: an ASCII line split at ASCII bytes leaves ASCII, hence UTF-8, pieces.
        unsafe { std::str::from_utf8_unchecked(t) }
    });
    ascii_tokens.chain(unicode_line.split_whitespace())
}

#[cfg(test)]
mod tests {
    use super::{TextNormalizer, whitespace_tokens};

    #[test]
    fn ascii_lines_split_like_split_whitespace() {
        for line in ["", "  ", "a", " a  b\tc\r\n", "x\x0By\x0Cz", "mixed é\u{a0}space  ok", "tail "] {
            assert_eq!(
                whitespace_tokens(line).collect::<Vec<_>>(),
                line.split_whitespace().collect::<Vec<_>>(),
                "{line:?}"
            );
        }
    }

    #[test]
    fn plain_lowercase_and_text8() {
        let line = "The Café, 1984's  best-seller";
        assert_eq!(TextNormalizer::default().tokens(line), ["The", "Café,", "1984's", "best-seller"]);
        let lower = TextNormalizer { lowercase: true, text8: false };
        assert_eq!(lower.tokens(line), ["the", "café,", "1984's", "best-seller"]);
        let text8 = TextNormalizer { lowercase: true, text8: true };
        assert_eq!(text8.tokens(line), ["the", "caf", "one", "nine", "eight", "four", "s", "best", "seller"]);
    }
}
