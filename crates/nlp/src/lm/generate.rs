//! Text generation with any [`LanguageModel`]: the model's reader moves one token at a time (a
//! neural model keeps its state, it never rereads the history), a [`Sampler`] chooses each next
//! token (greedy, temperature, top-k, top-p, repetition penalty; see [`super::sampling`]), and
//! each token is handed to a callback as soon as it is chosen.

use super::sampling::Sampler;
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

/// The ids of a prompt; [`NlpError::UnknownPrompt`] when it has words but every one is outside
/// the vocabulary (the model would be conditioned on nothing but unknown tokens). An empty
/// prompt starts a document.
pub fn encode_prompt(vocab: &dyn Vocabulary, prompt: &str) -> Result<Vec<u32>> {
    let tokens = vocab.encode(prompt);
    if !tokens.is_empty() && tokens.iter().all(|t| t.oov) {
        return Err(NlpError::UnknownPrompt { prompt: prompt.to_string(), vocab: vocab.size() });
    }
    Ok(tokens.iter().map(|t| t.id).collect())
}

/// Generates after `prompt` (ids): `sampler` draws each next id from the reader's scores
/// ([`super::LmReader::logits`]), its repetition penalty applied to the history so far (prompt
/// and generated ids, as Hugging Face penalises its `input_ids`); `on_token` sees every id as
/// soon as it is chosen. Returns the generated ids (the stop id included when reached).
///
/// ```
/// # use std::sync::Arc;
/// # use nlp::lm::sampling::{Sampler, SamplingConfig};
/// # use nlp::lm::{GenerateConfig, LanguageModel, Vocabulary, generate};
/// # use nlp::ngram::{KneserNeyConfig, NgramCounter, kneser_ney};
/// let mut counter = NgramCounter::new(2)?;
/// for line in ["the cat sat", "the cat ran", "a dog sat"] {
///     counter.add_line(line)?;
/// }
/// let model = kneser_ney(counter.finish()?, &KneserNeyConfig::default())?;
/// let prompt = [model.vocabulary().id("the").unwrap()];
/// let mut greedy = Sampler::new(SamplingConfig::greedy())?;
/// let config = GenerateConfig { max_tokens: 5, stop: Some(model.vocabulary().end_id()) };
/// let ids = generate(&model, &prompt, &config, &mut greedy, &mut |_| Ok(()))?;
/// assert_eq!(model.vocabulary().decode(&ids), "cat sat </s>");
/// # Ok::<(), nlp::NlpError>(())
/// ```
pub fn generate(
    model: &dyn LanguageModel,
    prompt: &[u32],
    config: &GenerateConfig,
    sampler: &mut Sampler,
    on_token: &mut dyn FnMut(u32) -> Result<()>,
) -> Result<Vec<u32>> {
    let mut reader = model.reader(prompt)?;
    let mut history = prompt.to_vec();
    let mut generated = Vec::new();
    for _ in 0..config.max_tokens {
        let id = sampler.sample(reader.logits(), &history)?;
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
