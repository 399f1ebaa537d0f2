//! The official SQuAD v1.1 evaluation, from its published definition: both strings are
//! normalised (lower-case, ASCII punctuation removed, the articles a/an/the removed as whole
//! words, whitespace collapsed); exact match compares the normalised strings; F1 is the
//! harmonic mean of token precision and recall over the bag of normalised tokens (0 when they
//! share none, so two empty strings score EM 1 and F1 0, as in v1.1); each question takes its
//! best score over the references, and the scores are averaged over all questions, a question
//! without a prediction counting 0. Results are percentages.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::squad::SquadSet;
use crate::{QaError, Result};

/// Lower-cases, removes ASCII punctuation (Python's `string.punctuation`), removes the words
/// `a`, `an`, `the` and collapses whitespace to single spaces.
///
/// ```
/// assert_eq!(qa::metric::normalize("The  Cat's (big) hat!"), "cats big hat");
/// ```
pub fn normalize(text: &str) -> String {
    let lowered = text.to_lowercase();
    let unpunctuated: String = lowered.chars().filter(|c| !c.is_ascii_punctuation()).collect();
    // `\b(a|an|the)\b` replaced by a space: a maximal run of word characters equal to an article.
    let mut spaced = String::with_capacity(unpunctuated.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if matches!(run.as_str(), "a" | "an" | "the") {
            out.push(' ');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in unpunctuated.chars() {
        if c.is_alphanumeric() || c == '_' {
            run.push(c);
        } else {
            flush(&mut run, &mut spaced);
            spaced.push(c);
        }
    }
    flush(&mut run, &mut spaced);
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the normalised strings are equal.
pub fn exact_match(prediction: &str, reference: &str) -> bool {
    normalize(prediction) == normalize(reference)
}

/// Token F1 of the normalised strings, in `[0, 1]`.
pub fn f1(prediction: &str, reference: &str) -> f64 {
    let predicted = normalize(prediction);
    let gold = normalize(reference);
    let predicted: Vec<&str> = predicted.split_whitespace().collect();
    let gold: Vec<&str> = gold.split_whitespace().collect();
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for t in &gold {
        *counts.entry(t).or_default() += 1;
    }
    let mut same = 0usize;
    for t in &predicted {
        if let Some(c) = counts.get_mut(t).filter(|c| **c > 0) {
            *c -= 1;
            same += 1;
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / predicted.len() as f64;
    let recall = same as f64 / gold.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The best exact match and F1 of `prediction` over `references` (0 and 0 without any).
pub fn best_over(prediction: &str, references: &[&str]) -> (f64, f64) {
    references.iter().fold((0.0, 0.0), |(em, f), r| {
        (em.max(if exact_match(prediction, r) { 1.0 } else { 0.0 }), f.max(f1(prediction, r)))
    })
}

/// Exact match and F1 as percentages, over the questions that were scored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SquadScore {
    /// Exact match, 0 to 100.
    pub exact_match: f64,
    /// Token F1, 0 to 100.
    pub f1: f64,
    /// Questions counted (every question of the set).
    pub questions: usize,
    /// Questions that had no prediction (scored 0).
    pub missing: usize,
}

/// Scores `predictions` (question id → answer text) against every question of `set`, as the
/// official script does.
pub fn evaluate(set: &SquadSet, predictions: &HashMap<String, String>) -> SquadScore {
    let (mut em, mut f, mut total, mut missing) = (0.0, 0.0, 0, 0);
    for (_, question) in set.questions() {
        total += 1;
        let Some(prediction) = predictions.get(&question.id) else {
            missing += 1;
            continue;
        };
        let references: Vec<&str> = question.answers.iter().map(|a| a.text.as_str()).collect();
        let (e, s) = best_over(prediction, &references);
        em += e;
        f += s;
    }
    let scale = if total == 0 { 0.0 } else { 100.0 / total as f64 };
    SquadScore { exact_match: em * scale, f1: f * scale, questions: total, missing }
}

/// Reads a predictions file: one JSON object mapping question ids to answer strings.
pub fn read_predictions(path: &Path) -> Result<HashMap<String, String>> {
    let bytes = std::fs::read(path).map_err(|e| QaError::io(path, e))?;
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| QaError::Predictions { path: path.to_path_buf(), msg: format!("invalid JSON: {e}") })?;
    let object = doc.as_object().ok_or_else(|| QaError::Predictions {
        path: path.to_path_buf(),
        msg: "expected one object mapping question ids to answer strings".into(),
    })?;
    object
        .iter()
        .map(|(id, v)| match v.as_str() {
            Some(s) => Ok((id.clone(), s.to_string())),
            None => Err(QaError::Predictions {
                path: path.to_path_buf(),
                msg: format!("the answer to question {id} is not a string"),
            }),
        })
        .collect()
}
