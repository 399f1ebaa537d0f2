//! Raw text to tokens and entities: the tokenizer `tessera ner tag` applies to text that is
//! not already in CoNLL columns, keeping each token's character offsets, and the entities of
//! a tagged sentence as character spans.

use crate::metric::entities;

/// A token of raw text and where it is (character offsets).
pub use nlp::tokenize::OffsetToken as Token;

/// Splits text the way CoNLL-2003 is tokenised: a run of letters and digits, with inner
/// `.`, `'`, `-` or `,` joining two such runs (`U.S`, `O'Neill`, `1996-08-22`, `1,000`),
/// is one token; every other visible character is a token of its own.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        if chars[i].is_alphanumeric() {
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || (matches!(chars[i], '.' | '\'' | '’' | '-' | ',')
                        && chars.get(i + 1).is_some_and(|c| c.is_alphanumeric())
                        && (chars[i] != ',' || (chars[i - 1].is_ascii_digit() && chars[i + 1].is_ascii_digit()))))
            {
                i += 1;
            }
        } else {
            i += 1;
        }
        tokens.push(Token { text: chars[start..i].iter().collect(), start, end: i });
    }
    tokens
}

/// An entity found in raw text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The entity type.
    pub kind: String,
    /// Its text, from the first token's start to the last token's end.
    pub text: String,
    /// Character offset of the start.
    pub start: usize,
    /// Character offset one past the end.
    pub end: usize,
}

/// The entities of `tags` (one per token of `tokens`) as character spans of `text`.
pub fn spans<S: AsRef<str>>(text: &str, tokens: &[Token], tags: &[S]) -> Vec<Span> {
    entities(tags)
        .into_iter()
        .map(|e| {
            let (start, end) = (tokens[e.start].start, tokens[e.end - 1].end);
            Span { kind: e.kind, text: text.chars().skip(start).take(end - start).collect(), start, end }
        })
        .collect()
}
