//! Predictions of a trained [`TaskModel`], for callers that score them with metrics of their own
//! (the GLUE-style benchmark).

use nn_layers::ModuleExt;
use tensor_core::DType;

use crate::task::{Example, TaskKind, TaskModel};
use crate::{Result, TransferError};

/// What a task model predicts for one example.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// A class id (classification and sentence pairs).
    Class(usize),
    /// A number (regression).
    Value(f64),
    /// A class id per word (tagging).
    Tags(Vec<usize>),
}

/// Index of the largest value of `row` (the first of equals).
fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold((0, f32::MIN), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

impl TaskModel {
    /// Predictions for `examples`, in batches of `batch`, without dropout. Words of a tagged
    /// sentence past the body's context get the tag `fallback` (e.g. the most frequent one).
    pub fn predict(&self, examples: &[Example], batch: usize, fallback: usize) -> Result<Vec<Prediction>> {
        self.eval();
        let predictions = autograd::no_grad(|| -> Result<Vec<Prediction>> {
            let mut predictions = Vec::with_capacity(examples.len());
            for chunk in examples.chunks(batch.max(1)) {
                if self.task == TaskKind::Tag {
                    self.predict_tags(chunk, fallback, &mut predictions)?;
                    continue;
                }
                let (features, _) = self.features(chunk, None)?;
                let out = self.head_forward(&features)?.value();
                let width = out.dims()[1];
                let values = out.try_cast(DType::F32)?.to_vec::<f32>()?;
                predictions.extend(values.chunks(width).map(|row| match self.task {
                    TaskKind::Regress => Prediction::Value(f64::from(row[0])),
                    _ => Prediction::Class(argmax(row)),
                }));
            }
            Ok(predictions)
        });
        self.train();
        predictions
    }

    /// Tags of each word of `chunk`, appended to `predictions`.
    fn predict_tags(&self, chunk: &[Example], fallback: usize, predictions: &mut Vec<Prediction>) -> Result<()> {
        let sentences: Vec<Vec<String>> = chunk.iter().map(|e| e.words.clone()).collect();
        let states = self.body.states(&sentences, None)?;
        let dims = states.hidden.dims();
        let (rows, steps, width) = (dims[0], dims[1], dims[2]);
        if rows != chunk.len() {
            return Err(TransferError::Invalid(format!("{rows} rows of states for {} sentences", chunk.len())));
        }
        let out = self.head_forward(&states.hidden.reshape([rows * steps, width])?)?.value();
        let classes = out.dims()[1];
        let values = out.try_cast(DType::F32)?.to_vec::<f32>()?;
        for (row, example) in chunk.iter().enumerate() {
            let kept = states.words[row].min(example.words.len());
            let tags = (0..example.words.len())
                .map(|i| {
                    if i < kept {
                        let at = (row * steps + states.offset + i) * classes;
                        argmax(&values[at..at + classes])
                    } else {
                        fallback
                    }
                })
                .collect();
            predictions.push(Prediction::Tags(tags));
        }
        Ok(())
    }
}
