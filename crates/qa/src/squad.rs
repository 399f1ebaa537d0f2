//! The SQuAD v1.1 reader: the official JSON (plain or gzip), every record checked, each
//! passage tokenised with character offsets and each answer mapped to a token span.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::tokenize::{Token, char_slice, char_span_to_tokens, tokenize, tokenize_with_breaks};
use crate::{QaError, Result};

/// One reference answer: its text and where it starts in the context (in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The answer as written in the context.
    pub text: String,
    /// Character offset of its first character in the context.
    pub start: usize,
}

/// One question about a paragraph.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// SQuAD's id of the question.
    pub id: String,
    /// The question text.
    pub text: String,
    /// Its tokens.
    pub tokens: Vec<Token>,
    /// The reference answers (one in train, usually three in dev).
    pub answers: Vec<Answer>,
    /// The first answer's token span in the paragraph's tokens (inclusive), if it has one.
    pub span: Option<(usize, usize)>,
}

/// A context paragraph and its questions.
#[derive(Clone, Debug, PartialEq)]
pub struct Paragraph {
    /// The passage.
    pub context: String,
    /// Its tokens; with answer breaks every answer starts and ends on a token boundary.
    pub tokens: Vec<Token>,
    /// The questions about it.
    pub questions: Vec<Question>,
}

/// A SQuAD file: paragraphs with their questions, in file order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SquadSet {
    /// Every paragraph of every article.
    pub paragraphs: Vec<Paragraph>,
}

impl SquadSet {
    /// Reads a SQuAD v1.1 JSON file (gzip when it starts with gzip's magic bytes). With
    /// `answer_breaks` the passage is also split at every answer's start and end, so an answer
    /// is always a whole number of tokens (use it for training data; evaluation data is
    /// tokenised as the reader will see raw text).
    pub fn read(path: &Path, answer_breaks: bool) -> Result<SquadSet> {
        let bytes = read_maybe_gzip(path)?;
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| QaError::format(path, format!("invalid JSON at line {}: {e}", e.line())))?;
        SquadSet::from_json(&doc, path, answer_breaks)
    }

    /// Builds the set from an already parsed document; `path` names it in errors.
    pub fn from_json(doc: &Value, path: &Path, answer_breaks: bool) -> Result<SquadSet> {
        let articles = doc["data"]
            .as_array()
            .ok_or_else(|| QaError::format(path, "expected a top-level object with a `data` list (SQuAD v1.1)"))?;
        let mut set = SquadSet::default();
        for (a, article) in articles.iter().enumerate() {
            let paragraphs = article["paragraphs"]
                .as_array()
                .ok_or_else(|| QaError::record(path, format!("article {a}"), "missing its `paragraphs` list"))?;
            for (p, paragraph) in paragraphs.iter().enumerate() {
                set.paragraphs.push(read_paragraph(
                    paragraph,
                    path,
                    &format!("article {a} paragraph {p}"),
                    answer_breaks,
                )?);
            }
        }
        Ok(set)
    }

    /// Every question with its paragraph index.
    pub fn questions(&self) -> impl Iterator<Item = (usize, &Question)> {
        self.paragraphs.iter().enumerate().flat_map(|(i, p)| p.questions.iter().map(move |q| (i, q)))
    }

    /// Number of questions.
    pub fn len(&self) -> usize {
        self.paragraphs.iter().map(|p| p.questions.len()).sum()
    }

    /// Whether the set has no question.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` questions' paragraphs (whole paragraphs, cut after the question count is
    /// reached), for training on a subset.
    pub fn truncated(&self, n: usize) -> SquadSet {
        let mut out = SquadSet::default();
        let mut count = 0;
        for paragraph in &self.paragraphs {
            if count >= n {
                break;
            }
            count += paragraph.questions.len();
            out.paragraphs.push(paragraph.clone());
        }
        out
    }
}

/// The bytes of `path`, gunzipped when they are gzip (nn-layers' reader).
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    Ok(nn_layers::data::read_maybe_gz(path)?)
}

fn read_paragraph(value: &Value, path: &Path, place: &str, answer_breaks: bool) -> Result<Paragraph> {
    let context = value["context"]
        .as_str()
        .ok_or_else(|| QaError::record(path, place, "missing its `context` string"))?
        .to_string();
    if context.trim().is_empty() {
        return Err(QaError::record(path, place, "the context is empty"));
    }
    let context_chars = context.chars().count();
    let qas = value["qas"].as_array().ok_or_else(|| QaError::record(path, place, "missing its `qas` list"))?;
    let mut questions = Vec::with_capacity(qas.len());
    for (k, qa) in qas.iter().enumerate() {
        let id = qa["id"].as_str().map(str::to_string).unwrap_or_else(|| format!("#{k} of {place}"));
        let here = format!("question {id}");
        let text = qa["question"].as_str().ok_or_else(|| QaError::record(path, &here, "missing its `question`"))?;
        if text.trim().is_empty() {
            return Err(QaError::record(path, &here, "the question is empty"));
        }
        let listed =
            qa["answers"].as_array().ok_or_else(|| QaError::record(path, &here, "missing its `answers` list"))?;
        let mut answers = Vec::with_capacity(listed.len());
        for answer in listed {
            answers.push(read_answer(answer, &context, context_chars, path, &here)?);
        }
        questions.push(Question { id, text: text.to_string(), tokens: tokenize(text), answers, span: None });
    }
    let breaks: Vec<usize> = if answer_breaks {
        questions.iter().flat_map(|q| &q.answers).flat_map(|a| [a.start, a.start + a.text.chars().count()]).collect()
    } else {
        Vec::new()
    };
    let tokens = tokenize_with_breaks(&context, &breaks);
    for question in &mut questions {
        question.span = question
            .answers
            .first()
            .and_then(|a| char_span_to_tokens(&tokens, a.start, a.start + a.text.chars().count()));
    }
    Ok(Paragraph { context, tokens, questions })
}

fn read_answer(value: &Value, context: &str, context_chars: usize, path: &Path, place: &str) -> Result<Answer> {
    let text = value["text"].as_str().ok_or_else(|| QaError::record(path, place, "an answer lacks its `text`"))?;
    let start = value["answer_start"]
        .as_u64()
        .ok_or_else(|| QaError::record(path, place, "an answer lacks a whole-number `answer_start`"))?
        as usize;
    let len = text.chars().count();
    if text.trim().is_empty() {
        return Err(QaError::record(path, place, "an answer's text is empty"));
    }
    // A start past the context (even one near usize::MAX) is an error, never an overflow.
    let end = start.saturating_add(len);
    if end > context_chars || char_slice(context, start, end) != text {
        let found = char_slice(context, start.min(context_chars), end.min(context_chars));
        return Err(QaError::record(
            path,
            place,
            format!("answer_start {start} does not point at the answer {text:?}: the context there reads {found:?}"),
        ));
    }
    Ok(Answer { text: text.to_string(), start })
}

/// A path to show in errors about text that came from no file (an argument).
pub fn no_file(what: &str) -> PathBuf {
    PathBuf::from(format!("<{what}>"))
}
