//! The CoNLL-2003 file format: one token per line as four space-separated columns
//! `word POS chunk NER`, a blank line between sentences, `-DOCSTART- -X- -X- O` between
//! documents; plain or gzip. NER tags must be IOB2 (`O`, `B-TYPE`, `I-TYPE`, and an `I-X`
//! only after a `B-X` or `I-X`).

use std::path::Path;

use crate::error::{NerError, Result};

/// One sentence: its words and their NER tags (same length, at least one word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sentence {
    /// The words as written.
    pub words: Vec<String>,
    /// One IOB2 tag per word.
    pub tags: Vec<String>,
}

/// Reads a CoNLL-2003 file (gunzipped when its name ends in `.gz`).
pub fn read_conll(path: &Path) -> Result<Vec<Sentence>> {
    let bytes = nn_layers::data::read_maybe_gz(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        NerError::Data { path: path.to_path_buf(), line, msg: format!("not UTF-8: {e}") }
    })?;
    parse_conll(text, path)
}

/// Parses CoNLL-2003 text; `path` only names the source in errors.
pub fn parse_conll(text: &str, path: &Path) -> Result<Vec<Sentence>> {
    let mut sentences = Vec::new();
    let mut current = Sentence { words: Vec::new(), tags: Vec::new() };
    let error = |line: usize, msg: String| NerError::Data { path: path.to_path_buf(), line, msg };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields[0] == "-DOCSTART-" {
            if !current.words.is_empty() {
                sentences.push(std::mem::replace(&mut current, Sentence { words: Vec::new(), tags: Vec::new() }));
            }
            continue;
        }
        if fields.len() != 4 {
            return Err(error(number, format!("{} columns, expected 4 (word POS chunk NER)", fields.len())));
        }
        let tag = fields[3];
        let previous = current.tags.last().map(String::as_str);
        check_iob2(tag, previous).map_err(|msg| error(number, msg))?;
        current.words.push(fields[0].to_string());
        current.tags.push(tag.to_string());
    }
    if !current.words.is_empty() {
        sentences.push(current);
    }
    Ok(sentences)
}

/// The entity type of an IOB2 tag (`None` for `O`), or why the tag is not IOB2.
pub fn tag_type(tag: &str) -> std::result::Result<Option<(bool, &str)>, String> {
    if tag == "O" {
        return Ok(None);
    }
    match tag.split_once('-') {
        Some(("B", ty)) if !ty.is_empty() => Ok(Some((false, ty))),
        Some(("I", ty)) if !ty.is_empty() => Ok(Some((true, ty))),
        _ => Err(format!("tag `{tag}` is not in the IOB2 scheme (expected O, B-TYPE or I-TYPE)")),
    }
}

/// Checks that `tag` is IOB2 and may follow `previous` (the sentence's previous tag, if any).
fn check_iob2(tag: &str, previous: Option<&str>) -> std::result::Result<(), String> {
    if let Some((true, ty)) = tag_type(tag)? {
        let continues = previous.and_then(|p| tag_type(p).ok().flatten()).is_some_and(|(_, p)| p == ty);
        if !continues {
            let after = previous.map_or("the sentence start".to_string(), |p| format!("`{p}`"));
            return Err(format!(
                "`{tag}` after {after} is not IOB2 (an I- tag must continue an entity of its type; IOB1 files need converting)"
            ));
        }
    }
    Ok(())
}
