//! Text generation with any [`LanguageModel`] and any token chooser: the model's reader moves
//! one token at a time (a neural model keeps its state, it never rereads the history), and each
//! token is handed to a callback as soon as it is chosen.

use super::{LanguageModel, Vocabulary};
use crate::{NlpError, Result};

/// When generation stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenerateConfig {
    /// Tokens to generate at most.
    pub max_tokens: usize,
    /// Stop after this token (usually the end of sentence); `None` runs to `max_tokens`.
    pub stop: Option<u32>,
}

/// The id with the highest score (the first of equals): greedy decoding.
pub fn greedy(logits: &[f32], _history: &[u32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// The ids of a prompt; an error when it has words but every one is outside the vocabulary
/// (the model would be conditioned on nothing but unknown tokens).
pub fn encode_prompt(vocab: &dyn Vocabulary, prompt: &str) -> Result<Vec<u32>> {
    let tokens = vocab.encode(prompt);
    if !tokens.is_empty() && tokens.iter().all(|t| t.oov) {
        return Err(NlpError::Invalid(format!(
            "every word of the prompt `{prompt}` is outside the model's vocabulary of {} ids",
            vocab.size()
        )));
    }
    Ok(tokens.iter().map(|t| t.id).collect())
}

/// Generates after `prompt` (ids): `choose(log_probs, history)` picks each next id from the
/// model's natural-log probabilities and the history so far (prompt and generated ids);
/// `on_token` sees every id as it is chosen. Returns the generated ids (the stop id included
/// when reached).
pub fn generate(
    model: &dyn LanguageModel,
    prompt: &[u32],
    config: &GenerateConfig,
    choose: &mut dyn FnMut(&[f32], &[u32]) -> u32,
    on_token: &mut dyn FnMut(u32) -> Result<()>,
) -> Result<Vec<u32>> {
    let size = model.vocabulary().size();
    let mut reader = model.reader(prompt)?;
    let mut history = prompt.to_vec();
    let mut generated = Vec::new();
    for _ in 0..config.max_tokens {
        let id = choose(reader.log_probs(), &history);
        if id as usize >= size {
            return Err(NlpError::Invalid(format!("the chooser picked id {id}, outside the vocabulary of {size}")));
        }
        on_token(id)?;
        generated.push(id);
        history.push(id);
        if Some(id) == config.stop {
            break;
        }
        reader.push(id)?;
    }
    Ok(generated)
}
