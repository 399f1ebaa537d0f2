//! Prose to sentences: paragraphs (separated by blank lines) are tokenized and cut after
//! sentence-final punctuation, for running text such as novels (one sentence per line corpora
//! need none of this).

use std::path::Path;

use super::Lines;
use crate::Result;
use crate::tokenize::WordTokenizer;

/// Tokens that end a sentence.
fn is_terminal(token: &str) -> bool {
    matches!(token, "." | "!" | "?")
}

/// Whether `token` after the end of `sentence` closes it: a closing quote or bracket, or a
/// straight quote that the sentence opened (an odd number of them so far).
fn is_closing(token: &str, sentence: &[String]) -> bool {
    match token {
        "”" | "’" | ")" | "]" => true,
        "\"" | "'" => sentence.iter().filter(|t| *t == token).count() % 2 == 1,
        _ => false,
    }
}

/// Lower-cased abbreviations whose full stop does not end a sentence.
fn is_abbreviation(token: &str) -> bool {
    matches!(
        token.to_lowercase().as_str(),
        "mr" | "mrs" | "ms" | "dr" | "st" | "messrs" | "col" | "capt" | "gen" | "rev"
    )
}

/// The sentences of one paragraph, each a list of tokens.
pub fn prose_sentences(paragraph: &str, tokenizer: &WordTokenizer) -> Vec<Vec<String>> {
    let tokens = tokenizer.tokenize(paragraph);
    let mut sentences = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        let ends = is_terminal(token) && !(token == "." && current.last().is_some_and(|w| is_abbreviation(w)));
        current.push(token.clone());
        i += 1;
        if ends {
            while i < tokens.len() && (is_terminal(&tokens[i]) || is_closing(&tokens[i], &current)) {
                current.push(tokens[i].clone());
                i += 1;
            }
            sentences.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        sentences.push(current);
    }
    sentences
}

/// Streams the sentences of a prose file (plain or gzip), paragraph by paragraph.
pub fn for_each_prose_sentence(
    path: &Path,
    tokenizer: &WordTokenizer,
    mut each: impl FnMut(&[String]) -> Result<()>,
) -> Result<()> {
    let mut paragraph = String::new();
    let mut flush = |paragraph: &mut String| -> Result<()> {
        for sentence in prose_sentences(paragraph, tokenizer) {
            each(&sentence)?;
        }
        paragraph.clear();
        Ok(())
    };
    Lines::open(path)?.for_each(|_, line| {
        if line.trim().is_empty() {
            flush(&mut paragraph)
        } else {
            paragraph.push_str(line);
            paragraph.push('\n');
            Ok(())
        }
    })?;
    flush(&mut paragraph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_at_final_punctuation_not_abbreviations() {
        let t = WordTokenizer::default();
        let text = "Mr. Henry Dashwood came.  \"Is it so?!\" she asked; it was. And then";
        let sentences: Vec<String> = prose_sentences(text, &t).iter().map(|s| s.join(" ")).collect();
        assert_eq!(sentences, ["mr . henry dashwood came .", "\" is it so ? ! \"", "she asked ; it was .", "and then"]);
    }
}
