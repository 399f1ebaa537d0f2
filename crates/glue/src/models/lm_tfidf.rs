//! `lm-tfidf`: TF-IDF + logistic regression with a pretrained language model's view of each
//! text as extra columns, the acceptability measures of Lau, Clark & Lappin (2017, "Grammaticality,
//! acceptability, and probability"). Any model [`nlp::lm::load_model`] opens works (an ARPA
//! n-gram file or a neural model folder, [`Context::pretrained`]); `cargo xtask glue` pretrains
//! a Kneser-Ney model on shipped text that no task evaluates on.
//!
//! Per text (for a pair, per field), from the model's token scores (the end token included):
//!
//! - mean log10 probability per token, and SLOR: that mean minus the mean log10 unigram
//!   probability, the unigram counted (add-one) on the task's training texts, so that rare
//!   words do not read as disfluent;
//! - the lowest token log10 probability and the mean of the lowest three (a corruption is local),
//!   and the same of each token's log10 probability minus its unigram's (a token SLOR: a rare word
//!   is improbable anywhere, a misplaced one only where it stands);
//! - the share and the number of tokens the model scored from a unigram alone (an unseen pair of
//!   words, for an n-gram model), and the share outside its vocabulary;
//! - the log of the length.
//!
//! Each column is standardised on the training split (clipped to ±5) and appended to the TF-IDF
//! row; the regression is [`TfidfLogReg`]'s, so with the columns left out the model is `tfidf-lr`.

use std::collections::HashMap;

use nlp::lm::{LanguageModel, load_model};
use nlp::tokenize::WordTokenizer;
use serde_json::json;

use super::tfidf::ExtraFeatures;
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

/// Add-one unigram log10 probabilities counted on training texts.
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

    /// The log10 probability of `token` (the end token when `None`).
    pub fn log10_prob(&self, token: Option<&str>) -> f64 {
        let count = token.map_or(self.ends, |t| self.counts.get(t).copied().unwrap_or(0));
        let types = self.counts.len() as u64 + 2;
        ((count + 1) as f64 / (self.total + types) as f64).log10()
    }
}

/// The [`LM_COLUMNS`] measures of one tokenised text.
pub fn lm_columns(model: &dyn LanguageModel, unigram: &Unigram, tokens: &[String]) -> Result<Vec<f64>> {
    let score = model.score_sentence(&tokens.join(" "))?;
    let n = score.tokens.len().max(1) as f64;
    let unigram_logs: Vec<f64> =
        tokens.iter().map(|t| Some(t.as_str())).chain([None]).map(|t| unigram.log10_prob(t)).collect();
    let logs: Vec<f64> = score.tokens.iter().map(|t| t.score.log10_prob).collect();
    let token_slor: Vec<f64> = logs.iter().zip(&unigram_logs).map(|(lm, uni)| lm - uni).collect();
    let mean = logs.iter().sum::<f64>() / n;
    let unigram_mean = unigram_logs.iter().sum::<f64>() / n;
    let (lowest, low3) = lowest_and_low3(logs);
    let (lowest_slor, low3_slor) = lowest_and_low3(token_slor);
    let backoffs = score.tokens.iter().filter(|t| !t.oov && t.score.order_used <= 1).count() as f64;
    let oov_share = score.tokens.iter().filter(|t| t.oov).count() as f64 / n;
    Ok(vec![mean, mean - unigram_mean, lowest, low3, lowest_slor, low3_slor, backoffs / n, backoffs, oov_share, n.ln()])
}

/// The lowest value and the mean of the lowest three (of all, when fewer).
fn lowest_and_low3(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let lowest = values.first().copied().unwrap_or(0.0);
    (lowest, values.iter().take(3).sum::<f64>() / values.len().clamp(1, 3) as f64)
}

/// Standardised language-model columns of every example of a task.
struct LmColumns {
    /// Columns by the example's text (and second text), standardised.
    by_text: HashMap<(String, Option<String>), Vec<f64>>,
    width: usize,
    model: String,
}

impl ExtraFeatures for LmColumns {
    fn width(&self) -> usize {
        self.width
    }

    fn features(&self, example: &Example) -> Vec<f64> {
        let key = (example.text.clone(), example.second.clone());
        self.by_text.get(&key).cloned().unwrap_or_else(|| vec![0.0; self.width])
    }

    fn describe(&self) -> serde_json::Value {
        json!({ "language_model": self.model, "columns_per_text": LM_COLUMN_NAMES })
    }
}

/// Scores every text of `task` with `model` and standardises the columns on the training split.
fn lm_columns_of(task: &TaskData, model: &dyn LanguageModel) -> Result<LmColumns> {
    let tokenizer = WordTokenizer::default();
    let pair = task.spec.kind == TaskKind::Pair;
    let tokenize = |e: &Example| -> Vec<Vec<String>> {
        let mut fields = vec![tokenizer.tokenize(&e.text)];
        if pair {
            fields.push(tokenizer.tokenize(e.second.as_deref().unwrap_or("")));
        }
        fields
    };
    let train_tokens: Vec<Vec<Vec<String>>> = task.train.iter().map(tokenize).collect();
    let unigram = Unigram::count(train_tokens.iter().flatten().map(Vec::as_slice));
    let width = if pair { 2 * LM_COLUMNS } else { LM_COLUMNS };
    let mut raw: HashMap<(String, Option<String>), Vec<f64>> = HashMap::new();
    let mut train_rows = Vec::with_capacity(task.train.len());
    for (split, example) in [(0, &task.train), (1, &task.dev), (2, &task.test)]
        .into_iter()
        .flat_map(|(split, examples)| examples.iter().map(move |e| (split, e)))
    {
        let key = (example.text.clone(), example.second.clone());
        if !raw.contains_key(&key) {
            let mut row = Vec::with_capacity(width);
            for tokens in tokenize(example) {
                row.extend(lm_columns(model, &unigram, &tokens)?);
            }
            raw.insert(key.clone(), row);
        }
        if split == 0 {
            train_rows.push(raw[&key].clone());
        }
    }
    let (mean, std) = column_moments(&train_rows, width);
    let by_text = raw
        .into_iter()
        .map(|(key, row)| {
            let z = row.iter().zip(&mean).zip(&std).map(|((v, m), s)| ((v - m) / s).clamp(-5.0, 5.0)).collect();
            (key, z)
        })
        .collect();
    Ok(LmColumns { by_text, width, model: model.describe() })
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
                "model `lm-tfidf` needs a language model (--pretrained: an ARPA file or an LM model folder)".into(),
            )
        })?;
        let model = load_model(path, &ctx.device)?;
        let columns = lm_columns_of(task, model.as_ref())?;
        drop(model);
        self.regression.fit_with(task, ctx, &columns)
    }
}
