//! The CoNLL-2003 file format: one token per line as four space-separated columns
//! `word POS chunk NER`, a blank line between sentences, `-DOCSTART- -X- -X- O` between
//! documents; plain or gzip. NER tags must be IOB2 (`O`, `B-TYPE`, `I-TYPE`, and an `I-X`
//! only after a `B-X` or `I-X`).

use std::path::Path;

use nlp::corpus::{ConllDocument, ConllLine};

use crate::error::{NerError, Result};

/// One sentence: its words and their NER tags (same length, at least one word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sentence {
    /// The words as written.
    pub words: Vec<String>,
    /// One IOB2 tag per word.
    pub tags: Vec<String>,
}

/// Reads a CoNLL-2003 file (plain or gzip).
pub fn read_conll(path: &Path) -> Result<Vec<Sentence>> {
    sentences(nlp::corpus::read_conll_lines(path, false)?, path)
}

/// Parses CoNLL-2003 text; `path` only names the source in errors.
pub fn parse_conll(text: &str, path: &Path) -> Result<Vec<Sentence>> {
    sentences(nlp::corpus::parse_conll_lines(text, false), path)
}

/// The sentences of the documents, each line checked: four columns, an IOB2 tag that may
/// follow the one before it.
fn sentences(documents: Vec<ConllDocument>, path: &Path) -> Result<Vec<Sentence>> {
    let error = |line: usize, msg: String| NerError::Data { path: path.to_path_buf(), line, msg };
    let mut out = Vec::new();
    for lines in documents.into_iter().flatten() {
        let mut sentence = Sentence { words: Vec::with_capacity(lines.len()), tags: Vec::with_capacity(lines.len()) };
        for ConllLine { line, mut fields } in lines {
            if fields.len() != 4 {
                return Err(error(line, format!("{} columns, expected 4 (word POS chunk NER)", fields.len())));
            }
            let tag = fields.pop().unwrap_or_default();
            check_iob2(&tag, sentence.tags.last().map(String::as_str)).map_err(|msg| error(line, msg))?;
            sentence.words.push(fields.swap_remove(0));
            sentence.tags.push(tag);
        }
        out.push(sentence);
    }
    Ok(out)
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
