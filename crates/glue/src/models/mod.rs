//! Baselines behind one [`Model`] trait, and the registry `tessera glue run --model` reads.
//!
//! A model is given a loaded task and a [`Context`] (device, seed), trains on the train split,
//! selects whatever it selects (an epoch, say) on dev, and returns its predictions for dev and
//! test. The pretrained models (through `crates/transfer`) are more implementations of the trait
//! in [`registry`], reading the model folder of [`Context::pretrained`].

mod lm_tfidf;
mod majority;
mod nets;
mod neural;
mod pretrained;
mod tfidf;
mod word2vec_mlp;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tensor_core::Device;

pub use lm_tfidf::{LM_COLUMN_NAMES, LM_COLUMNS, LmTfidf, Unigram, lm_columns};
pub use majority::Majority;
pub use neural::{BiLstmModel, TextCnnModel};
pub use pretrained::{PRETRAINED, Pretrained};
pub use tfidf::{TfidfLogReg, TfidfVectorizer};
pub use word2vec_mlp::Word2VecMlp;

use crate::data::{Example, Target, TaskData};
use crate::error::{GlueError, Result};
use crate::spec::TaskKind;

/// Where and how a model trains.
#[derive(Clone)]
pub struct Context {
    /// The device tensors live on.
    pub device: Arc<dyn Device>,
    /// Seed of initialisation, shuffles and sampling.
    pub seed: u64,
    /// Fewer epochs and smaller sizes, for tests and smoke runs.
    pub quick: bool,
    /// The model folder the pretrained models (`bert-finetune`, ...) read, or the language model
    /// (an ARPA file or a word-level LM folder) `lm-tfidf` reads.
    pub pretrained: Option<PathBuf>,
}

/// Predictions for one split.
#[derive(Clone, Debug, PartialEq)]
pub enum Outputs {
    /// Class ids.
    Classes(Vec<usize>),
    /// Real scores.
    Scores(Vec<f64>),
    /// Tag ids per token.
    Tags(Vec<Vec<usize>>),
}

/// What a trained model hands back.
#[derive(Clone, Debug)]
pub struct Fitted {
    /// Predictions on dev.
    pub dev: Outputs,
    /// Predictions on test.
    pub test: Outputs,
    /// Hyper-parameters and what was selected on dev (an epoch), for the run record.
    pub config: Value,
    /// Training examples processed (epochs × train size), for examples/s.
    pub examples_seen: usize,
}

/// A baseline (or, later, a pretrained model) that can be trained and evaluated on a task.
pub trait Model {
    /// The registry name (`tfidf-lr`).
    fn name(&self) -> &'static str;

    /// Whether the model handles tasks of `kind`.
    fn supports(&self, kind: TaskKind) -> bool;

    /// Trains on `task.train`, selects on `task.dev`, predicts dev and test.
    fn fit(&self, task: &TaskData, ctx: &Context) -> Result<Fitted>;
}

/// Every registered model.
pub fn registry() -> Vec<Box<dyn Model>> {
    let mut models: Vec<Box<dyn Model>> = vec![
        Box::new(Majority),
        Box::new(TfidfLogReg::default()),
        Box::new(Word2VecMlp),
        Box::new(TextCnnModel),
        Box::new(BiLstmModel),
        Box::new(LmTfidf::default()),
    ];
    models.extend(PRETRAINED.iter().map(|m| Box::new(*m) as Box<dyn Model>));
    models
}

/// The model registered as `name`.
pub fn by_name(name: &str) -> Result<Box<dyn Model>> {
    registry().into_iter().find(|m| m.name() == name).ok_or_else(|| {
        let known: Vec<&str> = registry().iter().map(|m| m.name()).collect();
        GlueError::Invalid(format!("no model `{name}` (known: {})", known.join(", ")))
    })
}

/// Class id of a class example (0 otherwise).
pub(crate) fn class_of(example: &Example) -> usize {
    match example.target {
        Target::Class(c) => c,
        _ => 0,
    }
}

/// Score of a regression example (0 otherwise).
pub(crate) fn score_of(example: &Example) -> f64 {
    match example.target {
        Target::Score(s) => s,
        _ => 0.0,
    }
}
