//! Tasks and their heads: a [`TaskModel`] is a [`Body`] with a linear head for sequence
//! classification, sequence regression, token tagging or sentence-pair classification.

use std::sync::Arc;

use autograd::Var;
use nn_layers::layers::{Dropout, Linear};
use nn_layers::loss::{CrossEntropy, Reduction, cross_entropy, mse};
use nn_layers::{Module, ModuleExt, Param, join};
use tensor_core::{DType, Tensor, TensorRng};

use crate::body::{Body, words_of};
use crate::{Result, TransferError};

/// What a task predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// One class per sentence.
    Classify,
    /// One number per sentence.
    Regress,
    /// One class per word.
    Tag,
    /// One class per sentence pair.
    Pair,
}

impl TaskKind {
    /// Parses `classify`, `regress`, `tag` or `pair`.
    pub fn parse(name: &str) -> Result<TaskKind> {
        Ok(match name {
            "classify" => TaskKind::Classify,
            "regress" => TaskKind::Regress,
            "tag" => TaskKind::Tag,
            "pair" => TaskKind::Pair,
            other => {
                return Err(TransferError::Invalid(format!(
                    "unknown task `{other}`: expected classify, regress, tag or pair"
                )));
            }
        })
    }
}

/// What an example asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A class id.
    Class(i64),
    /// A number.
    Value(f64),
    /// A class id per word.
    Tags(Vec<i64>),
}

/// One labelled example: a sentence (already split into words), a second sentence for pair
/// tasks, and its target.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// The words.
    pub words: Vec<String>,
    /// The second sentence's words (pair tasks).
    pub second: Option<Vec<String>>,
    /// The target.
    pub target: Target,
}

impl Example {
    /// A sentence with a class.
    pub fn class(text: &str, class: i64) -> Example {
        Example { words: words_of(text), second: None, target: Target::Class(class) }
    }

    /// A sentence with a number.
    pub fn value(text: &str, value: f64) -> Example {
        Example { words: words_of(text), second: None, target: Target::Value(value) }
    }

    /// A pair of sentences with a class.
    pub fn pair(first: &str, second: &str, class: i64) -> Example {
        Example { words: words_of(first), second: Some(words_of(second)), target: Target::Class(class) }
    }

    /// Words with one tag each.
    pub fn tagged(words: Vec<String>, tags: Vec<i64>) -> Example {
        Example { words, second: None, target: Target::Tags(tags) }
    }
}

/// The number of classes the examples' labels need (largest id + 1), checked: every target
/// fits `task`, ids are not negative, and there are at least two classes.
pub fn classes_of(task: TaskKind, examples: &[Example]) -> Result<usize> {
    let mut seen = std::collections::BTreeMap::<i64, usize>::new();
    for (i, example) in examples.iter().enumerate() {
        let ids: &[i64] = match (&example.target, task) {
            (Target::Value(_), TaskKind::Regress) => continue,
            (Target::Class(c), TaskKind::Classify | TaskKind::Pair) => std::slice::from_ref(c),
            (Target::Tags(tags), TaskKind::Tag) if tags.len() == example.words.len() => tags,
            (target, _) => {
                return Err(TransferError::Invalid(format!(
                    "example {i}: target {target:?} does not fit a {task:?} task"
                )));
            }
        };
        if task == TaskKind::Pair && example.second.is_none() {
            return Err(TransferError::Invalid(format!("example {i}: a pair task needs a second sentence")));
        }
        for &id in ids {
            if id < 0 {
                return Err(TransferError::Invalid(format!("example {i}: class {id} is negative")));
            }
            *seen.entry(id).or_default() += 1;
        }
    }
    if task == TaskKind::Regress {
        return Ok(1);
    }
    match (seen.len(), seen.iter().next()) {
        (0, _) => Err(TransferError::Invalid("no labelled examples".into())),
        (1, Some((&class, &examples))) => Err(TransferError::OneClass { class, examples }),
        _ => Ok(*seen.keys().last().unwrap_or(&1) as usize + 1),
    }
}

/// A body with a task head. Parameter names: the body's own (as in its checkpoint), and
/// `head.weight` / `head.bias`.
pub struct TaskModel {
    /// The pretrained (or scratch) network.
    pub body: Body,
    /// The linear head.
    pub head: Linear,
    dropout: Dropout,
    /// The task.
    pub task: TaskKind,
    /// Classes (1 for regression).
    pub outputs: usize,
}

impl TaskModel {
    /// Puts a fresh head for `task` with `outputs` classes on `body`; `dropout` applies to the
    /// head's input while training.
    pub fn new(body: Body, task: TaskKind, outputs: usize, dropout: f64, rng: &mut TensorRng) -> Result<TaskModel> {
        if task == TaskKind::Tag && !body.word_level() {
            return Err(TransferError::WrongKind {
                path: body.source().to_path_buf(),
                found: format!("{} over subword tokens", body.kind().name()),
                expected: "token tagging needs a body with one token per word (a word vocabulary)".into(),
            });
        }
        let device = body.device();
        let head = Linear::new(Self::head_inputs(&body, task), outputs, rng, &device)?;
        Ok(TaskModel { body, head, dropout: Dropout::new(dropout, rng.next_u64())?, task, outputs })
    }

    /// The width of the head's input for `task` on `body`.
    pub fn head_inputs(body: &Body, task: TaskKind) -> usize {
        match task {
            TaskKind::Classify | TaskKind::Regress => body.pooled_width(),
            TaskKind::Tag => body.width(),
            TaskKind::Pair => body.pair_width(),
        }
    }

    /// The head's input for `examples`: a vector per example (`[B, F]`), or per position
    /// (`[B·T, width]`) for tagging, with the tagging labels `[B·T]` (-1 off the words).
    pub fn features(&self, examples: &[Example], dropout: Option<u64>) -> Result<(Var, Option<Tensor>)> {
        let sentences: Vec<Vec<String>> = examples.iter().map(|e| e.words.clone()).collect();
        Ok(match self.task {
            TaskKind::Classify | TaskKind::Regress => (self.body.pool(&sentences, dropout)?, None),
            TaskKind::Pair => {
                let second: Vec<Vec<String>> = examples.iter().map(|e| e.second.clone().unwrap_or_default()).collect();
                (self.body.pool_pair(&sentences, &second, dropout)?, None)
            }
            TaskKind::Tag => {
                let states = self.body.states(&sentences, dropout)?;
                let dims = states.hidden.dims();
                let (rows, steps) = (dims[0], dims[1]);
                let mut labels = vec![-1i64; rows * steps];
                for (row, example) in examples.iter().enumerate() {
                    if let Target::Tags(tags) = &example.target {
                        for (i, &tag) in tags.iter().take(states.words[row]).enumerate() {
                            labels[row * steps + states.offset + i] = tag;
                        }
                    }
                }
                let flat = states.hidden.reshape([rows * steps, dims[2]])?;
                (flat, Some(Tensor::from_vec(labels, [rows * steps], &self.body.device())?))
            }
        })
    }

    /// The head's output for features from [`TaskModel::features`].
    pub fn head_forward(&self, features: &Var) -> Result<Var> {
        Ok(self.head.forward(&self.dropout.forward(features)?)?)
    }

    /// The task's loss of outputs against the examples' targets (`tag_labels` from
    /// [`TaskModel::features`] for tagging): cross-entropy, or mean squared error.
    pub fn loss(&self, outputs: &Var, examples: &[Example], tag_labels: Option<&Tensor>) -> Result<Var> {
        let device = self.body.device();
        let ce = CrossEntropy { ignore_index: Some(-1), ..CrossEntropy::default() };
        Ok(match self.task {
            TaskKind::Tag => {
                let labels = tag_labels.ok_or_else(|| TransferError::Invalid("tagging needs its labels".into()))?;
                cross_entropy(outputs, labels, ce)?
            }
            TaskKind::Regress => {
                let values: Vec<f32> =
                    examples.iter().map(|e| if let Target::Value(v) = e.target { v as f32 } else { 0.0 }).collect();
                let target = Var::constant(Tensor::from_vec(values, [examples.len(), 1], &device)?);
                mse(outputs, &target, Reduction::Mean)?
            }
            TaskKind::Classify | TaskKind::Pair => cross_entropy(outputs, &class_labels(examples, &device)?, ce)?,
        })
    }

    /// Scores `examples` in batches of `batch` without dropout: accuracy (of words, for
    /// tagging) or, for regression, the negative mean squared error (higher is better).
    pub fn evaluate(&self, examples: &[Example], batch: usize) -> Result<f64> {
        self.eval();
        let (mut score, mut count) = (0.0, 0usize);
        autograd::no_grad(|| -> Result<()> {
            for chunk in examples.chunks(batch.max(1)) {
                let (features, labels) = self.features(chunk, None)?;
                let out = self.head_forward(&features)?.value();
                let (s, n) = score_outputs(self.task, &out, chunk, labels.as_ref())?;
                score += s;
                count += n;
            }
            Ok(())
        })?;
        self.train();
        Ok(if count == 0 { 0.0 } else { score / count as f64 })
    }

    /// Parameters the optimizer should see: unfrozen ones of body and head.
    pub fn trainable(&self) -> Vec<(String, Param)> {
        self.parameters().into_iter().filter(|(_, p)| !p.is_frozen()).collect()
    }

    /// Number of trainable weights.
    pub fn trainable_weights(&self) -> usize {
        self.trainable().iter().map(|(_, p)| p.value().numel()).sum()
    }
}

/// Class ids `[N]` of `examples` (0 for targets that are not classes).
pub fn class_labels(examples: &[Example], device: &Arc<dyn tensor_core::Device>) -> Result<Tensor> {
    let labels: Vec<i64> = examples.iter().map(|e| if let Target::Class(c) = e.target { c } else { 0 }).collect();
    Ok(Tensor::from_vec(labels, [examples.len()], device)?)
}

/// The summed score of outputs `out` against `examples` and how many predictions it covers.
pub fn score_outputs(
    task: TaskKind,
    out: &Tensor,
    examples: &[Example],
    tag_labels: Option<&Tensor>,
) -> Result<(f64, usize)> {
    let values = out.try_cast(DType::F32)?.to_vec::<f32>()?;
    let width = out.dims()[1];
    let argmax =
        |row: &[f32]| row.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b }).0;
    Ok(match task {
        TaskKind::Regress => {
            let sq: f64 = examples
                .iter()
                .zip(&values)
                .map(|(e, &p)| if let Target::Value(v) = e.target { (p as f64 - v).powi(2) } else { 0.0 })
                .sum();
            (-sq, examples.len())
        }
        TaskKind::Tag => {
            let labels = tag_labels.map(|t| t.to_vec::<i64>()).transpose()?.unwrap_or_default();
            let mut right = 0usize;
            let mut total = 0usize;
            for (row, &label) in values.chunks(width).zip(&labels) {
                if label >= 0 {
                    total += 1;
                    right += usize::from(argmax(row) as i64 == label);
                }
            }
            (right as f64, total)
        }
        TaskKind::Classify | TaskKind::Pair => {
            let right = values
                .chunks(width)
                .zip(examples)
                .filter(|(row, e)| matches!(e.target, Target::Class(c) if c == argmax(row) as i64))
                .count();
            (right as f64, examples.len())
        }
    })
}

impl Module for TaskModel {
    /// Not used: a task model reads examples, not one tensor (see [`TaskModel::features`]).
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.head.forward(input)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.body.module().visit_params(prefix, visit);
        self.head.visit_params(&join(prefix, "head"), visit);
    }

    fn set_training(&self, training: bool) {
        self.dropout.set_training(training);
        self.body.module().set_training(training);
    }
}
