//! Tokenisation that keeps character offsets, so a predicted token span maps back to the exact
//! passage substring.
//!
//! A token is a maximal run of alphanumeric characters, or any other single non-space
//! character. Offsets count Unicode scalar values (`char`s), as SQuAD's `answer_start` counts
//! Python string indices. Forced breaks (the start and end of every answer when reading
//! training data) split a run there, so no answer ever begins or ends inside a token.

/// A token of raw text and where it is (character offsets).
pub use nlp::tokenize::OffsetToken as Token;

/// Tokens of `text` with their character offsets.
///
/// ```
/// let tokens = qa::tokenize::tokenize("Zürich's 1990s.");
/// let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
/// assert_eq!(texts, ["Zürich", "'", "s", "1990s", "."]);
/// assert_eq!((tokens[3].start, tokens[3].end), (9, 14));
/// ```
pub fn tokenize(text: &str) -> Vec<Token> {
    tokenize_with_breaks(text, &[])
}

/// Tokens of `text`, also split at each character offset in `breaks` (a token never spans
/// one). Offsets past the end are ignored.
pub fn tokenize_with_breaks(text: &str, breaks: &[usize]) -> Vec<Token> {
    let mut forced: Vec<usize> = breaks.to_vec();
    forced.sort_unstable();
    forced.dedup();
    let mut tokens: Vec<Token> = Vec::new();
    let mut current: Option<Token> = None;
    let mut next_break = forced.iter().peekable();
    for (i, c) in text.chars().enumerate() {
        let mut broken = false;
        while next_break.peek().is_some_and(|&&b| b <= i) {
            broken |= next_break.next() == Some(&i);
        }
        if broken || c.is_whitespace() || !c.is_alphanumeric() {
            tokens.extend(current.take());
        }
        if c.is_whitespace() {
            continue;
        }
        if !c.is_alphanumeric() {
            tokens.push(Token { text: c.to_string(), start: i, end: i + 1 });
            continue;
        }
        match &mut current {
            Some(token) => {
                token.text.push(c);
                token.end = i + 1;
            }
            None => current = Some(Token { text: c.to_string(), start: i, end: i + 1 }),
        }
    }
    tokens.extend(current);
    tokens
}

/// The characters `[start, end)` of `text` (character offsets, clamped to its length).
pub fn char_slice(text: &str, start: usize, end: usize) -> &str {
    let byte = |n: usize| text.char_indices().nth(n).map_or(text.len(), |(b, _)| b);
    let (from, to) = (byte(start), byte(end.max(start)));
    &text[from..to]
}

/// The token span `(first, last)` (inclusive) covering the characters `[start, end)`: the
/// first token ending after `start` and the last beginning before `end`. `None` when no token
/// lies inside (an all-space span).
pub fn char_span_to_tokens(tokens: &[Token], start: usize, end: usize) -> Option<(usize, usize)> {
    let first = tokens.iter().position(|t| t.end > start && t.start < end)?;
    let last = tokens.iter().rposition(|t| t.start < end && t.end > start)?;
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_split_runs_and_spans_round_trip() {
        let text = "Les années 1990s — à Zürich";
        let plain = tokenize(text);
        assert_eq!(
            plain.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
            ["Les", "années", "1990s", "—", "à", "Zürich"]
        );
        // "1990" starts at char 11 and ends at 15: a break at 15 splits "1990s".
        let split = tokenize_with_breaks(text, &[11, 15]);
        let (a, b) = char_span_to_tokens(&split, 11, 15).unwrap();
        assert_eq!((a, b), (2, 2));
        assert_eq!(char_slice(text, split[a].start, split[b].end), "1990");
        for t in &split {
            assert_eq!(char_slice(text, t.start, t.end), t.text);
        }
    }

    #[test]
    fn empty_and_space_only_text_has_no_tokens() {
        assert!(tokenize("").is_empty());
        assert!(tokenize(" \n\t").is_empty());
        assert_eq!(char_span_to_tokens(&tokenize("a  b"), 1, 3), None);
    }
}
