//! `lm-tfidf`: TF-IDF + logistic regression with a pretrained language model's view of each
//! text as extra columns, the acceptability measures of Lau, Clark & Lappin (2017, "Grammaticality,
//! acceptability, and probability"). Any word-level model [`nlp::lm::load_model`] opens works (an
//! ARPA n-gram file, or a neural model folder with a word vocabulary: [`Context::pretrained`]);
//! a model that scores subwords or characters is a typed error. `cargo xtask glue` pretrains a
//! Kneser-Ney model on shipped text that no task evaluates on.
//!
//! Per text (for a pair, per field), from the model's token scores (the end token included):
//!
//! - mean log10 probability per token, and SLOR: that mean minus the mean log10 unigram
//!   probability, the unigram counted (add-one) on the task's training texts (a training text's
//!   own words left out of the counts it is measured against), so that rare words do not read
//!   as disfluent;
//! - the lowest token log10 probability and the mean of the lowest three (a corruption is local),
//!   and the same of each token's log10 probability minus its unigram's (a token SLOR: a rare word
//!   is improbable anywhere, a misplaced one only where it stands);
//! - the share and the number of tokens the model scored from a unigram alone (an unseen pair of
//!   words, for an n-gram model), and the share outside its vocabulary;
//! - the log of the length.
//!
//! Log-probabilities are floored at 10^−20 and a NaN score is an error. Each column is
//! standardised on the training split (clipped to ±5) and appended to the TF-IDF
//! row; the regression is [`TfidfLogReg`]'s, so with the columns left out the model is `tfidf-lr`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use nlp::lm::{LanguageModel, load_model};
use nlp::tokenize::WordTokenizer;
use serde_json::json;

use super::tfidf::ExtraColumns;
use super::{Context, Fitted, Model, TfidfLogReg};
use crate::data::{Example, TaskData};
use crate::error::{GlueError, Result};
use crate::spec::TaskKind;

/// Columns per text.
pub const LM_COLUMNS: usize = 10;

/// Names of the columns, in order.
pub const LM_COLUMN_NAMES: [&str; LM_COLUMNS] = [
    "mean_log10p",
    "slor",
    "min_log10p",
    "low3_log10p",
    "min_token_slor",
    "low3_token_slor",
    "unigram_share",
    "unigram_count",
    "oov_share",
    "ln_length",
];

/// TF-IDF + logistic regression with language-model columns.
#[derive(Clone, Debug, Default)]
pub struct LmTfidf {
    /// The regression (its `C`, steps and rate).
    pub regression: TfidfLogReg,
}

/// Log10 probabilities below this are read as this: an impossible token (`-inf`) or an unknown
/// word of a model without `<unk>` (−100) would otherwise swamp the training mean of a column.
const LOG10_FLOOR: f64 = -20.0;

/// Add-one unigram log10 probabilities counted on training texts.
#[derive(Clone, Debug)]
pub struct Unigram {
    counts: HashMap<String, u64>,
    /// End tokens counted: one per text.
    ends: u64,
    total: u64,
}

impl Unigram {
    /// Counts the tokens of `texts`, one end token per text.
    pub fn count<'a>(texts: impl IntoIterator<Item = &'a [String]>) -> Unigram {
        let mut counts = HashMap::new();
        let (mut total, mut ends) = (0, 0);
        for tokens in texts {
            for token in tokens {
                *counts.entry(token.clone()).or_insert(0) += 1;
            }
            total += tokens.len() as u64 + 1;
            ends += 1;
        }
        Unigram { counts, ends, total }
    }

    /// The log10 probability of each of `tokens` and of the end token after them. With
    /// `leave_out`, the text was one of those counted and its own tokens are taken off first
    /// (leave-one-out), so that a training text's words are as new to it as a test text's are.
    pub fn log10_probs(&self, tokens: &[String], leave_out: bool) -> Vec<f64> {
        let mut own: HashMap<&str, u64> = HashMap::new();
        let (mut total, mut ends) = (self.total, self.ends);
        if leave_out {
            tokens.iter().for_each(|t| *own.entry(t.as_str()).or_insert(0) += 1);
            total = total.saturating_sub(tokens.len() as u64 + 1);
            ends = ends.saturating_sub(1);
        }
        let denominator = (total + self.counts.len() as u64 + 2) as f64;
        let prob = |count: u64| ((count + 1) as f64 / denominator).log10();
        let words = tokens.iter().map(|t| {
            let count = self.counts.get(t).copied().unwrap_or(0);
            prob(count.saturating_sub(own.get(t.as_str()).copied().unwrap_or(0)))
        });
        words.chain([prob(ends)]).collect()
    }
}

/// What a language model says of one text: each token's log10 probability (the end token
/// last, floored at [`LOG10_FLOOR`]), how many tokens it scored from a unigram alone, and how
/// many were outside its vocabulary.
#[derive(Clone, Debug)]
struct LmScores {
    logs: Vec<f64>,
    backoffs: f64,
    oovs: f64,
}

/// Scores `sentence` (`words` tokens joined by spaces) with `model`, which must read words: one
/// score per word and one for the end.
fn score_words(model: &dyn LanguageModel, sentence: &str, words: usize) -> Result<LmScores> {
    let score = model.score_sentence(sentence)?;
    if score.tokens.len() != words + 1 {
        return Err(GlueError::Invalid(format!(
            "lm-tfidf reads word-level language models (an n-gram ARPA file, or a model folder with a word \
             vocabulary); {} gave {} scores for {} words and the end",
            model.describe(),
            score.tokens.len(),
            words
        )));
    }
    let mut logs = Vec::with_capacity(score.tokens.len());
    for token in &score.tokens {
        let log = token.score.log10_prob;
        if log.is_nan() {
            return Err(GlueError::Invalid(format!("{} scored `{}` as NaN", model.describe(), token.token)));
        }
        logs.push(log.clamp(LOG10_FLOOR, 0.0));
    }
    let backoffs = score.tokens.iter().filter(|t| !t.oov && t.score.order_used <= 1).count() as f64;
    let oovs = score.tokens.iter().filter(|t| t.oov).count() as f64;
    Ok(LmScores { logs, backoffs, oovs })
}

/// The [`LM_COLUMNS`] measures from a text's scores and its unigram log-probabilities (both with
/// the end token last).
fn columns_of(scores: &LmScores, unigram_logs: &[f64]) -> Vec<f64> {
    let n = scores.logs.len() as f64;
    let token_slor: Vec<f64> = scores.logs.iter().zip(unigram_logs).map(|(lm, uni)| lm - uni).collect();
    let mean = scores.logs.iter().sum::<f64>() / n;
    let unigram_mean = unigram_logs.iter().sum::<f64>() / n;
    let (lowest, low3) = lowest_and_low3(scores.logs.clone());
    let (lowest_slor, low3_slor) = lowest_and_low3(token_slor);
    let b = scores.backoffs;
    vec![mean, mean - unigram_mean, lowest, low3, lowest_slor, low3_slor, b / n, b, scores.oovs / n, n.ln()]
}

/// The [`LM_COLUMNS`] measures of one tokenised text that was not among those `unigram` counted.
pub fn lm_columns(model: &dyn LanguageModel, unigram: &Unigram, tokens: &[String]) -> Result<Vec<f64>> {
    Ok(columns_of(&score_words(model, &tokens.join(" "), tokens.len())?, &unigram.log10_probs(tokens, false)))
}

/// The lowest value and the mean of the lowest three (of all, when fewer).
fn lowest_and_low3(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let lowest = values.first().copied().unwrap_or(0.0);
    (lowest, values.iter().take(3).sum::<f64>() / values.len().clamp(1, 3) as f64)
}

/// Scores every text of `task` with `model` (named `name` in the run record) and standardises
/// the columns on the training split.
fn lm_columns_of(task: &TaskData, model: &dyn LanguageModel, name: String) -> Result<ExtraColumns> {
    let tokenizer = WordTokenizer::default();
    let pair = task.spec.kind == TaskKind::Pair;
    let fields = |e: &Example| -> Vec<Vec<String>> {
        let mut fields = vec![tokenizer.tokenize(&e.text)];
        if pair {
            fields.push(tokenizer.tokenize(e.second.as_deref().unwrap_or("")));
        }
        fields
    };
    let split_fields = |split: &[Example]| split.iter().map(fields).collect::<Vec<_>>();
    let train_fields = split_fields(&task.train);
    let unigram = Unigram::count(train_fields.iter().flatten().map(Vec::as_slice));
    // A text's language-model scores do not depend on the split: each distinct text is scored once.
    let mut scored = HashMap::new();
    let mut train = rows_of(&train_fields, true, model, &unigram, &mut scored)?;
    let mut dev = rows_of(&split_fields(&task.dev), false, model, &unigram, &mut scored)?;
    let mut test = rows_of(&split_fields(&task.test), false, model, &unigram, &mut scored)?;
    let width = if pair { 2 * LM_COLUMNS } else { LM_COLUMNS };
    let (mean, std) = column_moments(&train, width);
    for row in train.iter_mut().chain(dev.iter_mut()).chain(test.iter_mut()) {
        row.iter_mut().zip(&mean).zip(&std).for_each(|((v, m), s)| *v = ((*v - m) / s).clamp(-5.0, 5.0));
    }
    let describe = json!({ "language_model": name, "columns_per_text": LM_COLUMN_NAMES });
    Ok(ExtraColumns { width, train, dev, test, describe })
}

/// The columns of examples given as their fields' tokens, each distinct field scored once:
/// looked up in `scored`, or scored and added to it. `leave_out` for training examples (see
/// [`Unigram::log10_probs`]).
fn rows_of(
    examples: &[Vec<Vec<String>>],
    leave_out: bool,
    model: &dyn LanguageModel,
    unigram: &Unigram,
    scored: &mut HashMap<String, LmScores>,
) -> Result<Vec<Vec<f64>>> {
    let mut rows = Vec::with_capacity(examples.len());
    for fields in examples {
        let mut row = Vec::with_capacity(fields.len() * LM_COLUMNS);
        for tokens in fields {
            let scores = match scored.entry(tokens.join(" ")) {
                Entry::Occupied(seen) => seen.into_mut(),
                Entry::Vacant(new) => {
                    let scores = score_words(model, new.key(), tokens.len())?;
                    new.insert(scores)
                }
            };
            row.extend(columns_of(scores, &unigram.log10_probs(tokens, leave_out)));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Mean and standard deviation (1 where a column is constant) of each column.
fn column_moments(rows: &[Vec<f64>], width: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len().max(1) as f64;
    let mean: Vec<f64> = (0..width).map(|c| rows.iter().map(|r| r[c]).sum::<f64>() / n).collect();
    let std = (0..width)
        .map(|c| {
            let var = rows.iter().map(|r| (r[c] - mean[c]).powi(2)).sum::<f64>() / n;
            if var > 1e-12 { var.sqrt() } else { 1.0 }
        })
        .collect();
    (mean, std)
}

impl Model for LmTfidf {
    fn name(&self) -> &'static str {
        "lm-tfidf"
    }

    fn supports(&self, kind: TaskKind) -> bool {
        kind != TaskKind::Tagging
    }

    fn fit(&self, task: &TaskData, ctx: &Context) -> Result<Fitted> {
        let path = ctx.pretrained.as_deref().ok_or_else(|| {
            GlueError::Invalid(
                "model `lm-tfidf` needs a word-level language model (--pretrained: an ARPA file or an LM model folder)"
                    .into(),
            )
        })?;
        let model = load_model(path, &ctx.device)?;
        let columns = lm_columns_of(task, model.as_ref(), format!("{} ({})", model.describe(), path.display()))?;
        drop(model);
        self.regression.fit_with(task, ctx, Some(&columns))
    }
}
