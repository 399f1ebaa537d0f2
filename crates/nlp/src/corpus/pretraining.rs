//! The unlabeled text a language model pretrains on: every shipped public-domain or freely
//! licensed text that is not a task's evaluation data — Shakespeare, Austen, Moby Dick, the
//! State of the Union addresses, the Wikipedia sample with its markup stripped, and the Brown
//! corpus's words. Never VitaminC (the benchmark's claims and evidence) and never the Penn
//! Treebank (a test set): [`PRETRAINING_SOURCES`] is the whole list, and nothing else is read.
//!
//! Each source is cut into documents (a book into runs of paragraphs of about 20,000
//! characters, a speech, a Brown file, an article); every `valid_every`-th document of each
//! source is held out, so validation covers every source.

use std::path::Path;

use serde_json::Value;

use super::{read_brown, read_text, wiki_articles};
use crate::{NlpError, Result};

/// How a source's file holds its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    /// Plain prose (gzip or not), paragraphs separated by blank lines.
    Prose,
    /// JSON Lines, one document per line, its text in this field.
    JsonLines(&'static str),
    /// The Brown corpus's tagged JSON Lines: the words, without their tags.
    BrownTagged,
    /// A MediaWiki XML export: articles, markup stripped, redirects skipped.
    MediaWiki,
}

/// One pretraining source: its name and file under the shared data folder.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// Short name in reports.
    pub name: &'static str,
    /// The file, relative to the data folder (`../shared/data`).
    pub path: &'static str,
    /// How the file holds its text.
    pub format: SourceFormat,
}

/// Every source of the pretraining corpus.
pub const PRETRAINING_SOURCES: [Source; 6] = [
    Source { name: "shakespeare", path: "shakespeare/shakespeare_gut.txt.gz", format: SourceFormat::Prose },
    Source { name: "austen", path: "austen/austen_novels.txt.gz", format: SourceFormat::Prose },
    Source { name: "moby-dick", path: "moby-dick/moby_dick.txt.gz", format: SourceFormat::Prose },
    Source { name: "sotu", path: "sotu/sotu.jsonl.gz", format: SourceFormat::JsonLines("text") },
    Source {
        name: "wikipedia",
        path: "enwiki-sample/enwiki-articles1-shortened.xml.gz",
        format: SourceFormat::MediaWiki,
    },
    Source { name: "brown", path: "brown/brown_tagged.jsonl.gz", format: SourceFormat::BrownTagged },
];

/// Characters per document when a book is cut into documents.
const BOOK_DOCUMENT_CHARS: usize = 20_000;

/// What one source gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceCount {
    /// The source's name.
    pub name: &'static str,
    /// Documents in the training and the validation text.
    pub documents: [usize; 2],
    /// Characters in the training and the validation text.
    pub chars: [usize; 2],
}

/// The pretraining text: training and validation documents, each document's paragraphs on
/// their own lines and documents separated by blank lines.
#[derive(Clone, Debug)]
pub struct PretrainingCorpus {
    /// The training text.
    pub train: String,
    /// The held-out text.
    pub valid: String,
    /// Per source, what went where.
    pub sources: Vec<SourceCount>,
}

/// The documents of one source.
pub fn source_documents(source: &Source, data_dir: &Path) -> Result<Vec<String>> {
    let path = data_dir.join(source.path);
    Ok(match source.format {
        SourceFormat::Prose => book_documents(&read_text(&path)?),
        SourceFormat::JsonLines(field) => {
            let text = read_text(&path)?;
            let mut docs = Vec::new();
            for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let bad = |msg: String| NlpError::Parse { path: path.clone(), line: i + 1, msg };
                let value: Value = serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
                let text = value[field].as_str().ok_or_else(|| bad(format!("no string field `{field}`")))?;
                docs.push(paragraphs(text));
            }
            docs
        }
        SourceFormat::BrownTagged => read_brown(&path)?
            .into_iter()
            .map(|doc| {
                doc.sentences
                    .iter()
                    .map(|s| s.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect(),
        SourceFormat::MediaWiki => wiki_articles(&read_text(&path)?)
            .into_iter()
            .map(|a| format!("{}\n{}", a.title, a.text.replace("\n\n", "\n")))
            .collect(),
    })
}

/// A text's paragraphs (blank-line separated, inner line breaks joined), one per line.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A book cut into documents of whole paragraphs, about [`BOOK_DOCUMENT_CHARS`] each.
fn book_documents(text: &str) -> Vec<String> {
    let text = text.replace("\r\n", "\n");
    let mut docs = Vec::new();
    let mut current = String::new();
    for paragraph in paragraphs(&text).lines() {
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(paragraph);
        if current.len() >= BOOK_DOCUMENT_CHARS {
            docs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        docs.push(current);
    }
    docs
}

/// Builds the corpus from `data_dir` (the shared data folder), holding out every
/// `valid_every`-th document of each source (`valid_every` ≥ 2).
pub fn build_pretraining_corpus(data_dir: &Path, valid_every: usize) -> Result<PretrainingCorpus> {
    if valid_every < 2 {
        return Err(NlpError::Invalid(format!("valid_every must be at least 2, got {valid_every}")));
    }
    let mut corpus = PretrainingCorpus { train: String::new(), valid: String::new(), sources: Vec::new() };
    for source in &PRETRAINING_SOURCES {
        let mut count = SourceCount { name: source.name, documents: [0; 2], chars: [0; 2] };
        for (i, doc) in source_documents(source, data_dir)?.into_iter().enumerate() {
            let side = usize::from(i % valid_every == valid_every - 1);
            let out = if side == 1 { &mut corpus.valid } else { &mut corpus.train };
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&doc);
            count.documents[side] += 1;
            count.chars[side] += doc.chars().count();
        }
        corpus.sources.push(count);
    }
    corpus.train.push('\n');
    corpus.valid.push('\n');
    Ok(corpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_evaluation_data_is_ever_a_source() {
        for source in PRETRAINING_SOURCES {
            let path = source.path.to_ascii_lowercase();
            assert!(!path.contains("vitaminc") && !path.contains("ptb"), "{path}");
        }
    }

    #[test]
    fn books_are_cut_at_paragraphs() {
        let paragraph = "word ".repeat(2500);
        let book = format!("{paragraph}\n\n{paragraph}\nsame paragraph\n\n\n{paragraph}\n\n{paragraph}");
        let docs = book_documents(&book);
        assert_eq!(docs.len(), 2);
        assert!(docs.iter().all(|d| d.lines().count() == 2));
        assert!(docs[0].lines().next().unwrap().ends_with("word"));
        assert!(docs[0].lines().nth(1).unwrap().ends_with("word same paragraph"));
    }
}
