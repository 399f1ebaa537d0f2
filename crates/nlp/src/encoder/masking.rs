//! Masked-LM inputs (Devlin et al. 2019): of each input's word tokens (never `[CLS]`, `[SEP]`
//! or padding) a fraction is chosen; a chosen token becomes `[MASK]` with probability 0.8, a
//! random word with 0.1, and stays itself with 0.1; the model is scored on the chosen positions
//! only.

use std::sync::Arc;

use tensor_core::{Device, Tensor, TensorRng};

use super::{BertBatch, BertVocab, EncodedInput};
use crate::{NlpError, Result};

/// How tokens are chosen and replaced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Masking {
    /// Probability that a word token is chosen (BERT's 0.15).
    pub rate: f64,
    /// Probability that a chosen token becomes `[MASK]` (0.8).
    pub mask: f64,
    /// Probability that a chosen token becomes a random word (0.1); otherwise it stays.
    pub random: f64,
}

impl Default for Masking {
    fn default() -> Self {
        Masking { rate: 0.15, mask: 0.8, random: 0.1 }
    }
}

impl Masking {
    /// Checks that the probabilities are probabilities.
    pub fn validate(&self) -> Result<()> {
        let ok = |p: f64| (0.0..=1.0).contains(&p);
        if !(ok(self.rate) && self.rate > 0.0 && ok(self.mask) && ok(self.random) && self.mask + self.random <= 1.0) {
            return Err(NlpError::Invalid(format!("masking needs 0 < rate <= 1 and mask + random <= 1, got {self:?}")));
        }
        Ok(())
    }
}

/// A batch with some tokens hidden, and what the model must recover.
#[derive(Clone, Debug)]
pub struct MaskedBatch {
    /// The inputs after replacement, padded.
    pub batch: BertBatch,
    /// The chosen positions as flat indices `b·T + t` (i64 `[N]`), the rows
    /// [`super::Bert::mlm_logits`] reads.
    pub rows: Tensor,
    /// The original ids at the chosen positions (i64 `[N]`).
    pub labels: Tensor,
    /// The same original ids, on the host.
    pub targets: Vec<u32>,
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut TensorRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Chooses and replaces tokens of `inputs` as `masking` says, with draws from `rng`. Every input
/// with a word token gets at least one chosen position (one at random when the draws chose
/// none), so no input is wasted.
pub fn mask_inputs(
    inputs: &[EncodedInput],
    vocab: &BertVocab,
    masking: &Masking,
    rng: &mut TensorRng,
    device: &Arc<dyn Device>,
) -> Result<MaskedBatch> {
    masking.validate()?;
    let words: Vec<u32> = (0..vocab.size() as u32).filter(|&id| !vocab.is_special(id)).collect();
    if words.is_empty() {
        return Err(NlpError::Invalid("the vocabulary has no word to draw random replacements from".into()));
    }
    let steps = inputs.iter().map(EncodedInput::len).max().unwrap_or(0);
    let (mut masked, mut rows, mut targets) = (Vec::with_capacity(inputs.len()), Vec::new(), Vec::new());
    for (row, input) in inputs.iter().enumerate() {
        let candidates: Vec<usize> = (0..input.len()).filter(|&t| !vocab.is_special(input.ids[t])).collect();
        let mut chosen: Vec<usize> = candidates.iter().copied().filter(|_| unit(rng) < masking.rate).collect();
        if chosen.is_empty() && !candidates.is_empty() {
            chosen.push(candidates[(rng.next_u64() % candidates.len() as u64) as usize]);
        }
        let mut ids = input.ids.clone();
        for &t in &chosen {
            let draw = unit(rng);
            if draw < masking.mask {
                ids[t] = vocab.mask_id();
            } else if draw < masking.mask + masking.random {
                ids[t] = words[(rng.next_u64() % words.len() as u64) as usize];
            }
            rows.push((row * steps + t) as i64);
            targets.push(input.ids[t]);
        }
        masked.push(EncodedInput { ids, segments: input.segments.clone() });
    }
    if rows.is_empty() {
        return Err(NlpError::Invalid("no input of the batch has a word token to mask".into()));
    }
    let batch = BertBatch::from_inputs(&masked, vocab.pad_id(), device)?;
    let count = rows.len();
    let labels: Vec<i64> = targets.iter().map(|&id| id as i64).collect();
    Ok(MaskedBatch {
        batch,
        rows: Tensor::from_vec(rows, [count], device)?,
        labels: Tensor::from_vec(labels, [count], device)?,
        targets,
    })
}
