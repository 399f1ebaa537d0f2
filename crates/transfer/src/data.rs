//! Labelled examples from Tessera's data files, and the splits of a learning-curve
//! experiment: a fixed test split, a dev split, and label budgets drawn per seed.

use std::path::Path;

use nlp::corpus::{read_brown, read_rated_text, simplify_brown_tag};
use nn_layers::data::permutation;

use crate::task::{Example, TaskKind};
use crate::{Result, TransferError};

/// Examples of `task` from a VADER ground-truth file (`id<TAB>score<TAB>text`): the sign of
/// the score for classification (zero-rated sentences dropped), the score for regression, and
/// for pairs, neighbouring sentences labelled 1 when they share a sign.
pub fn vader_examples(path: &Path, task: TaskKind) -> Result<Vec<Example>> {
    let rated = read_rated_text(path)?;
    Ok(match task {
        TaskKind::Classify => {
            rated.iter().filter(|r| r.score != 0.0).map(|r| Example::class(&r.text, i64::from(r.score > 0.0))).collect()
        }
        TaskKind::Regress => rated.iter().map(|r| Example::value(&r.text, r.score)).collect(),
        TaskKind::Pair => {
            let polar: Vec<_> = rated.iter().filter(|r| r.score != 0.0).collect();
            polar
                .windows(2)
                .map(|w| Example::pair(&w[0].text, &w[1].text, i64::from((w[0].score > 0.0) == (w[1].score > 0.0))))
                .collect()
        }
        TaskKind::Tag => {
            return Err(TransferError::Invalid(format!(
                "{}: a VADER file has sentence scores, not word tags; tag a Brown corpus file (*.jsonl.gz)",
                path.display()
            )));
        }
    })
}

/// Tagging examples from a Brown corpus file (JSON lines of tagged documents), with coarse
/// tags (the first two letters of the simplified tag), and the tag names by id.
pub fn brown_examples(path: &Path) -> Result<(Vec<Example>, Vec<String>)> {
    let mut tags: Vec<String> = Vec::new();
    let mut examples = Vec::new();
    for document in read_brown(path)? {
        for sentence in &document.sentences {
            let words = sentence.iter().map(|(w, _)| w.to_lowercase()).collect();
            let ids = sentence
                .iter()
                .map(|(_, t)| {
                    let coarse: String = simplify_brown_tag(t).chars().take(2).collect();
                    let at = tags.iter().position(|x| *x == coarse).unwrap_or_else(|| {
                        tags.push(coarse);
                        tags.len() - 1
                    });
                    at as i64
                })
                .collect();
            examples.push(Example::tagged(words, ids));
        }
    }
    Ok((examples, tags))
}

/// Examples of `task` from `path`: a Brown file (`*.jsonl.gz` / `*.jsonl`) for tagging, a VADER
/// file otherwise.
pub fn read_examples(path: &Path, task: TaskKind) -> Result<Vec<Example>> {
    if task == TaskKind::Tag {
        return Ok(brown_examples(path)?.0);
    }
    vader_examples(path, task)
}

/// The splits of one experiment: `test` and `dev` fixed (drawn with seed 0, whatever the run's
/// seed), the rest a pool from which each run draws its labelled examples.
#[derive(Clone, Debug)]
pub struct Splits {
    /// Held-out test examples.
    pub test: Vec<Example>,
    /// Dev examples (early stopping).
    pub dev: Vec<Example>,
    /// The labelled pool.
    pub pool: Vec<Example>,
}

impl Splits {
    /// Splits `examples`: the first `test` of a fixed shuffle are the test split, the next `dev`
    /// the dev split, the rest the pool.
    pub fn new(examples: Vec<Example>, test: usize, dev: usize) -> Result<Splits> {
        if examples.len() <= test + dev {
            return Err(TransferError::Invalid(format!(
                "{} examples leave none to train on after {test} for test and {dev} for dev",
                examples.len()
            )));
        }
        let order = permutation(examples.len(), 0);
        let pick = |range: std::ops::Range<usize>| order[range].iter().map(|&i| examples[i].clone()).collect();
        Ok(Splits { test: pick(0..test), dev: pick(test..test + dev), pool: pick(test + dev..examples.len()) })
    }

    /// `labels` examples of the pool (all of it for `None`), drawn with `seed`.
    pub fn train(&self, labels: Option<usize>, seed: u64) -> Vec<Example> {
        let order = permutation(self.pool.len(), seed.wrapping_add(1));
        let n = labels.unwrap_or(self.pool.len()).min(self.pool.len());
        order[..n].iter().map(|&i| self.pool[i].clone()).collect()
    }
}
