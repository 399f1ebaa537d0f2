//! TF-IDF features and a logistic (or, for scores, ridge) regression on Tessera's optimizers,
//! set up to match scikit-learn's `TfidfVectorizer()` + `LogisticRegression(C=1)` (and
//! `Ridge(alpha=1)`):
//!
//! - tokens: lower-cased, `(?u)\b\w\w+\b`; vocabulary from the training split (for a pair,
//!   from both fields' training texts); raw counts × `idf = ln((1+n)/(1+df)) + 1`, rows scaled
//!   to unit L2 norm. A pair's features are the two fields' vectors side by side.
//! - objective: `C·Σ loss + ½‖W‖²` with an unpenalised intercept, divided by `C·N`; binary tasks
//!   use one weight vector (scikit-learn's binary form), more classes the multinomial softmax.
//!   Ridge: `Σ (y − ŷ)² + α‖w‖²`.
//! - the product `X·W` of the sparse rows is a gather of the weight rows of every stored value,
//!   scaled by the values and scatter-added into their rows, so it runs on every backend and
//!   costs what the non-zeros cost; a matrix of at most 2^25 elements is multiplied dense
//!   instead (a matmul, cheap on every backend). The optimum is found full-batch with Adam and a cosine-decayed step (the
//!   problem is convex; see `docs/benchmark.md` for the agreement with scikit-learn's L-BFGS).

use std::collections::HashMap;
use std::sync::Arc;

use autograd::{Var, no_grad};
use nn_layers::Param;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use regex::Regex;
use serde_json::json;
use tensor_core::{DType, Device, Tensor};

use super::{Context, Fitted, Model, Outputs, class_of, score_of};
use crate::data::{Example, TaskData};
use crate::error::Result;
use crate::spec::TaskKind;

/// scikit-learn's default `TfidfVectorizer`, fitted on a list of documents.
#[derive(Clone, Debug)]
pub struct TfidfVectorizer {
    vocab: HashMap<String, usize>,
    idf: Vec<f64>,
    pattern: Regex,
}

impl TfidfVectorizer {
    /// Fits the vocabulary and smoothed IDF on `docs`.
    #[allow(clippy::expect_used, reason = "an invariant, not input: a valid literal pattern")]
    pub fn fit<'a>(docs: impl IntoIterator<Item = &'a str>) -> Self {
        let pattern = Regex::new(r"\b\w\w+\b").expect("a valid literal pattern");
        let mut vocab: HashMap<String, usize> = HashMap::new();
        let mut df: Vec<f64> = Vec::new();
        let mut n = 0usize;
        for doc in docs {
            n += 1;
            let lower = doc.to_lowercase();
            let mut seen: Vec<usize> = pattern
                .find_iter(&lower)
                .map(|m| {
                    let next = vocab.len();
                    *vocab.entry(m.as_str().to_string()).or_insert(next)
                })
                .collect();
            seen.sort_unstable();
            seen.dedup();
            df.resize(vocab.len(), 0.0);
            for id in seen {
                df[id] += 1.0;
            }
        }
        let idf = df.iter().map(|&d| ((1.0 + n as f64) / (1.0 + d)).ln() + 1.0).collect();
        TfidfVectorizer { vocab, idf, pattern }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    /// Whether no term was seen.
    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// The unit-norm TF-IDF vector of `doc` as (feature, value) pairs in feature order.
    pub fn transform(&self, doc: &str) -> Vec<(usize, f64)> {
        let lower = doc.to_lowercase();
        let mut counts: HashMap<usize, f64> = HashMap::new();
        for m in self.pattern.find_iter(&lower) {
            if let Some(&id) = self.vocab.get(m.as_str()) {
                *counts.entry(id).or_insert(0.0) += 1.0;
            }
        }
        let mut row: Vec<(usize, f64)> = counts.into_iter().map(|(id, c)| (id, c * self.idf[id])).collect();
        row.sort_by_key(|&(id, _)| id);
        let norm = row.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|(_, v)| *v /= norm);
        }
        row
    }
}

/// Sparse rows in coordinate form: for each stored value its row and column (i64, `[nnz]`)
/// and the value (`[nnz, 1]`).
/// A small matrix is also kept dense (`[N, features]`) and multiplied as such: a matmul is
/// cheap everywhere, while a scatter-add is slow on backends without float atomics (the GPU's
/// walks every index entry per output element).
struct SparseBatch {
    rows: Tensor,
    cols: Tensor,
    values: Tensor,
    n: usize,
    dense: Option<Tensor>,
}

/// Matrices of at most this many elements (128 MiB of f32) are multiplied dense.
const DENSE_LIMIT: usize = 1 << 25;

fn sparse_batch(matrix: &[Vec<(usize, f64)>], width: usize, device: &Arc<dyn Device>) -> Result<SparseBatch> {
    let (mut rows, mut cols, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (r, row) in matrix.iter().enumerate() {
        for &(c, v) in row {
            rows.push(r as i64);
            cols.push(c as i64);
            values.push(v as f32);
        }
    }
    let nnz = values.len();
    let dense = if matrix.len() * width <= DENSE_LIMIT {
        let mut full = vec![0f32; matrix.len() * width];
        for ((&r, &c), &v) in rows.iter().zip(&cols).zip(&values) {
            full[r as usize * width + c as usize] = v;
        }
        Some(Tensor::from_vec(full, [matrix.len(), width], device)?)
    } else {
        None
    };
    Ok(SparseBatch {
        dense,
        rows: Tensor::from_vec(rows, [nnz], device)?,
        cols: Tensor::from_vec(cols, [nnz], device)?,
        values: Tensor::from_vec(values, [nnz, 1], device)?,
        n: matrix.len(),
    })
}

/// TF-IDF + logistic regression (ridge for scores).
#[derive(Clone, Debug)]
pub struct TfidfLogReg {
    /// Inverse regularisation strength (scikit-learn's `C`; ridge uses `alpha = 1/C`).
    pub c: f64,
    /// Full-batch Adam steps.
    pub steps: usize,
    /// Peak Adam step size (cosine decay to 0).
    pub lr: f64,
}

impl Default for TfidfLogReg {
    fn default() -> Self {
        TfidfLogReg { c: 1.0, steps: 400, lr: 0.1 }
    }
}

/// The linear model: `weight [features, outputs]` and `bias [outputs]`.
struct Linear {
    weight: Param,
    bias: Param,
    /// Binary classification with one score column (the logits are `[0, s]`).
    binary: bool,
}

impl Linear {
    /// `X·W + b`: the weight rows of every stored value (a gather), scaled by the values and
    /// added into their rows (a scatter-add), so the cost follows the non-zeros.
    fn forward(&self, batch: &SparseBatch) -> Result<Var> {
        let w = self.weight.var();
        if let Some(x) = &batch.dense {
            let scores = Var::constant(x.clone()).matmul(&w)?.add(&self.bias.var())?;
            return self.binary_logits(scores);
        }
        let picked = w.index_select(0, &batch.cols)?.mul(&Var::constant(batch.values.clone()))?;
        let k = w.dims()[1];
        let zeros = Var::constant(Tensor::zeros([batch.n, k], DType::F32, batch.values.device())?);
        let scores = zeros.index_add(0, &batch.rows, &picked)?.add(&self.bias.var())?;
        self.binary_logits(scores)
    }

    /// For a binary task, the logits `[0, s]` of the one score column.
    fn binary_logits(&self, scores: Var) -> Result<Var> {
        if self.binary {
            let zeros = Var::constant(scores.value().try_zeros_like()?);
            Ok(Var::cat(&[&zeros, &scores], 1)?)
        } else {
            Ok(scores)
        }
    }
}

fn predict(model: &Linear, batch: &SparseBatch, regression: bool) -> Result<Outputs> {
    no_grad(|| {
        let out = model.forward(batch)?.value();
        Ok(if regression {
            Outputs::Scores(out.try_reshape([out.dims()[0]])?.to_vec::<f32>()?.into_iter().map(f64::from).collect())
        } else {
            let ids = out.try_arg_reduce(tensor_core::ArgReduceOp::ArgMax, -1, false)?.to_vec::<i64>()?;
            Outputs::Classes(ids.into_iter().map(|c| c as usize).collect())
        })
    })
}

impl Model for TfidfLogReg {
    fn name(&self) -> &'static str {
        "tfidf-lr"
    }

    fn supports(&self, kind: TaskKind) -> bool {
        kind != TaskKind::Tagging
    }

    fn fit(&self, task: &TaskData, ctx: &Context) -> Result<Fitted> {
        self.fit_with(task, ctx, None)
    }
}

/// Dense columns appended to every TF-IDF row (a pair's after both fields' vectors), one row
/// per example of each split, e.g. a language model's scores of the text ([`super::LmTfidf`]).
pub(crate) struct ExtraColumns {
    /// Columns per row.
    pub width: usize,
    /// One row per training example, in order.
    pub train: Vec<Vec<f64>>,
    /// One row per development example, in order.
    pub dev: Vec<Vec<f64>>,
    /// One row per test example, in order.
    pub test: Vec<Vec<f64>>,
    /// What the run record says about them.
    pub describe: serde_json::Value,
}

impl TfidfLogReg {
    /// Fits the linear model on TF-IDF rows with `extra`'s columns after them.
    pub(crate) fn fit_with(&self, task: &TaskData, ctx: &Context, extra: Option<&ExtraColumns>) -> Result<Fitted> {
        let device = &ctx.device;
        let pair = task.spec.kind == TaskKind::Pair;
        let regression = task.spec.kind == TaskKind::Regression;
        let fit_docs = task.train.iter().flat_map(|e| std::iter::once(e.text.as_str()).chain(e.second.as_deref()));
        let vectorizer = TfidfVectorizer::fit(fit_docs);
        let f = vectorizer.len();
        let text_width = if pair { 2 * f } else { f };
        let features = |e: &Example, extra_row: Option<&Vec<f64>>| {
            let mut row = vectorizer.transform(&e.text);
            if pair {
                let second = e.second.as_deref().unwrap_or("");
                row.extend(vectorizer.transform(second).into_iter().map(|(id, v)| (id + f, v)));
            }
            row.extend(extra_row.into_iter().flatten().enumerate().map(|(i, &v)| (text_width + i, v)));
            row
        };
        let width = (text_width + extra.map_or(0, |x| x.width)).max(1);
        let encode = |split: &[Example], rows: Option<&Vec<Vec<f64>>>| {
            let matrix: Vec<_> =
                split.iter().enumerate().map(|(i, e)| features(e, rows.and_then(|r| r.get(i)))).collect();
            sparse_batch(&matrix, width, device)
        };
        let train = encode(&task.train, extra.map(|x| &x.train))?;
        let dev = encode(&task.dev, extra.map(|x| &x.dev))?;
        let test = encode(&task.test, extra.map(|x| &x.test))?;
        let classes = task.classes.len();
        let outputs = if regression || classes == 2 { 1 } else { classes };
        let model = Linear {
            weight: Param::new(Tensor::zeros([width, outputs], DType::F32, device)?),
            bias: Param::new(Tensor::zeros([outputs], DType::F32, device)?),
            binary: !regression && classes == 2,
        };
        let n = task.train.len() as f64;
        let params = vec![("weight".to_string(), model.weight.clone()), ("bias".to_string(), model.bias.clone())];
        let mut adam = Adam::new(params, AdamConfig::adam(self.lr));
        let labels = if regression {
            Tensor::from_vec(
                task.train.iter().map(|e| score_of(e) as f32).collect::<Vec<_>>(),
                [task.train.len(), 1],
                device,
            )?
        } else {
            Tensor::from_vec(
                task.train.iter().map(|e| class_of(e) as i64).collect::<Vec<_>>(),
                [task.train.len()],
                device,
            )?
        };
        // Mean data loss plus the penalty divided by C·N (ridge: alpha / N with alpha = 1/C).
        let penalty = if regression { 1.0 / (self.c * n) } else { 1.0 / (2.0 * self.c * n) };
        let steps = if ctx.quick { self.steps / 4 } else { self.steps };
        let mut last_loss = f64::NAN;
        for step in 0..steps {
            let lr = 0.5 * self.lr * (1.0 + (std::f64::consts::PI * step as f64 / steps as f64).cos());
            adam.set_lr(lr);
            adam.zero_grad();
            let out = model.forward(&train)?;
            let data = if regression {
                out.sub(&Var::constant(labels.clone()))?.square()?.mean_all()?
            } else {
                cross_entropy(&out, &labels, CrossEntropy::default())?
            };
            let loss = data.add(&model.weight.var().square()?.sum_all()?.scale(penalty)?)?;
            loss.backward()?;
            adam.step()?;
            last_loss = loss.value().to_scalar()?;
        }
        Ok(Fitted {
            dev: predict(&model, &dev, regression)?,
            test: predict(&model, &test, regression)?,
            config: json!({
                "C": self.c, "features": width, "optimizer": "full-batch Adam, cosine",
                "steps": steps, "lr": self.lr, "final_objective": last_loss,
                "extra_features": extra.map_or(serde_json::Value::Null, |x| x.describe.clone()),
            }),
            examples_seen: task.train.len() * steps,
        })
    }
}
