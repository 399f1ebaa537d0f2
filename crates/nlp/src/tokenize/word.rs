//! The word tokenizer: runs of letters and digits are words (keeping inner apostrophes and
//! hyphens, as in "don't" and "well-made"); every other visible character is a token of its
//! own; whitespace separates. Unicode-aware: letters of any script count.

/// Splits text into word and punctuation tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WordTokenizer {
    /// Lower-case every token.
    pub lowercase: bool,
    /// Drop punctuation tokens, keeping only words.
    pub words_only: bool,
}

impl Default for WordTokenizer {
    fn default() -> Self {
        WordTokenizer { lowercase: true, words_only: false }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// An apostrophe or hyphen joins two word characters ("don't", "co-writer").
fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '’' | '-')
}

impl WordTokenizer {
    /// The tokens of `text`, in order.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if is_word_char(c) {
                let start = i;
                while i < chars.len()
                    && (is_word_char(chars[i])
                        || (is_joiner(chars[i]) && i + 1 < chars.len() && is_word_char(chars[i + 1]) && i > start))
                {
                    i += 1;
                }
                tokens.push(self.finish(chars[start..i].iter().collect()));
            } else {
                if !self.words_only {
                    tokens.push(c.to_string());
                }
                i += 1;
            }
        }
        tokens
    }

    fn finish(&self, word: String) -> String {
        if self.lowercase { word.to_lowercase() } else { word }
    }
}

#[cfg(test)]
mod tests {
    use super::WordTokenizer;

    #[test]
    fn words_punctuation_and_unicode() {
        let t = WordTokenizer::default();
        assert_eq!(t.tokenize("The Rock's new ''Conan''!"), ["the", "rock's", "new", "'", "'", "conan", "'", "'", "!"]);
        assert_eq!(t.tokenize("co-writer/director, 21st"), ["co-writer", "/", "director", ",", "21st"]);
        assert_eq!(t.tokenize("Café  naïve ÉTÉ"), ["café", "naïve", "été"]);
        assert_eq!(t.tokenize("- -x y-"), ["-", "-", "x", "y", "-"]);
        let words = WordTokenizer { lowercase: false, words_only: true };
        assert_eq!(words.tokenize("Hello, World!"), ["Hello", "World"]);
        assert!(t.tokenize("   ").is_empty());
    }
}
