//! The CoNLL column format shared by tagging corpora (CoNLL-2000 chunks, CoNLL-2003 entities,
//! users' own files): one token per line as whitespace-separated columns, a blank line between
//! sentences, `-DOCSTART-` lines between documents; plain or gzip. This reader splits a file
//! into documents, sentences and token lines, each line keeping its number, and leaves what the
//! columns mean (and how many there must be) to the caller.

use std::path::Path;

use super::read_bytes;
use crate::{NlpError, Result};

/// One token line: its 1-based line number and its columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConllLine {
    /// 1-based line of the file.
    pub line: usize,
    /// The whitespace-separated columns (at least one).
    pub fields: Vec<String>,
}

/// A document: its sentences, each a run of token lines.
pub type ConllDocument = Vec<Vec<ConllLine>>;

/// The documents of CoNLL `text`: a `-DOCSTART-` line starts a new document (one document when
/// there is none), blank lines end sentences; with `comments`, lines starting with `#` are
/// skipped. Empty documents are dropped.
pub fn parse_conll_lines(text: &str, comments: bool) -> Vec<ConllDocument> {
    let mut documents: Vec<ConllDocument> = Vec::new();
    let mut document: ConllDocument = Vec::new();
    let mut sentence: Vec<ConllLine> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let starts_document = fields.first() == Some(&"-DOCSTART-");
        if fields.is_empty() || starts_document {
            if !sentence.is_empty() {
                document.push(std::mem::take(&mut sentence));
            }
            if starts_document && !document.is_empty() {
                documents.push(std::mem::take(&mut document));
            }
            continue;
        }
        if comments && line.starts_with('#') {
            continue;
        }
        sentence.push(ConllLine { line: index + 1, fields: fields.into_iter().map(str::to_string).collect() });
    }
    if !sentence.is_empty() {
        document.push(sentence);
    }
    documents.push(document);
    documents.retain(|d| !d.is_empty());
    documents
}

/// Reads a CoNLL file (gzip or not) into documents (see [`parse_conll_lines`]); a file that is
/// not UTF-8 is an error naming the line of the first bad byte.
pub fn read_conll_lines(path: &Path, comments: bool) -> Result<Vec<ConllDocument>> {
    let bytes = read_bytes(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        NlpError::Parse { path: path.to_path_buf(), line, msg: format!("not UTF-8: {e}") }
    })?;
    Ok(parse_conll_lines(text, comments))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_sentences_and_line_numbers() {
        let text = "-DOCSTART- -X- O\n\nEU B-ORG\nrejects O\n\n# a comment\nPeter B-PER\n-DOCSTART- -X- O\n\nx O\n";
        let docs = parse_conll_lines(text, true);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].len(), 2);
        assert_eq!(docs[0][1], [ConllLine { line: 7, fields: vec!["Peter".into(), "B-PER".into()] }]);
        assert_eq!(docs[1][0][0].line, 10);
        let kept = parse_conll_lines("# O\nx O\n", false);
        assert_eq!(kept[0][0].len(), 2, "without comments a `#` token is a token");
    }
}
