//! Choosing the next token from a model's logits: greedy, temperature, top-k, nucleus (top-p)
//! and repetition penalty, with the semantics of Hugging Face's `generate`.
//!
//! The steps run in Hugging Face's order on one vector of logits:
//!
//! 1. **Repetition penalty** (Keskar et al. 2019, CTRL): every token that occurs in the history
//!    has its logit divided by the penalty when positive and multiplied by it when negative, so a
//!    penalty above 1 makes a seen token less likely whatever its sign.
//! 2. **Temperature**: logits are divided by it before the softmax. Temperature 0 is greedy
//!    decoding: the argmax, ties going to the lowest id. A small positive temperature converges to
//!    the same choice (tied maxima then share the mass instead).
//! 3. **Top-k**: only the `k` highest logits stay. Exactly `k` tokens are kept; a tie at the
//!    boundary keeps the lower ids (Hugging Face keeps every token tied with the `k`-th).
//! 4. **Top-p** (nucleus, Holtzman et al. 2020): of what is left, only the smallest set of most
//!    likely tokens whose probability mass reaches `p`, and always at least one. Tied tokens are
//!    taken lowest id first, so the set is unique.
//!
//! The kept tokens are renormalised and one is drawn with the sampler's seeded ChaCha8 stream, so
//! a seed fixes the whole sequence. Probabilities are computed in f64.

use std::cmp::Ordering;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Slack when comparing the nucleus mass with `top_p`: logits are f32, so probabilities carry
/// relative errors near 1e-7 and a crafted set of mass exactly `p` must count as reaching it.
const TOP_P_TOLERANCE: f64 = 1e-6;

/// Why a token could not be sampled.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SamplingError {
    /// The model produced no logits at all.
    #[error("sampling: the logits are empty (a model with an empty vocabulary?)")]
    EmptyLogits,
    /// A logit is NaN or +inf (-inf is allowed: it masks a token).
    #[error("sampling: logit {index} is {value}; logits must be finite or -inf")]
    InvalidLogit {
        /// Position of the logit (the token id).
        index: usize,
        /// Its value.
        value: f32,
    },
    /// Every logit is -inf, so no token can be chosen.
    #[error("sampling: every one of the {vocab} logits is -inf, so no token can be chosen")]
    NoCandidate {
        /// Number of logits.
        vocab: usize,
    },
    /// A history token is not an index of the logits.
    #[error("sampling: history token {token} is outside the vocabulary of {vocab} logits")]
    HistoryOutOfVocab {
        /// The token id.
        token: u32,
        /// Number of logits.
        vocab: usize,
    },
    /// The temperature is negative or not finite.
    #[error("sampling: temperature {0} must be finite and >= 0 (0 means greedy)")]
    InvalidTemperature(f32),
    /// `top_k` is `Some(0)`.
    #[error("sampling: top_k must be at least 1 (leave it unset to keep every token)")]
    InvalidTopK,
    /// `top_p` lies outside (0, 1].
    #[error("sampling: top_p {0} must lie in (0, 1]")]
    InvalidTopP(f32),
    /// The repetition penalty is not a finite positive number.
    #[error("sampling: repetition penalty {0} must be finite and > 0 (1 leaves logits as they are)")]
    InvalidRepetitionPenalty(f32),
}

/// How the next token is chosen. Field meanings follow Hugging Face's `GenerationConfig`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplingConfig {
    /// Divides the logits before the softmax; 0 is greedy decoding, 1 leaves them as they are.
    pub temperature: f32,
    /// Keep only the `k` most likely tokens (`None`: all).
    pub top_k: Option<usize>,
    /// Keep only the smallest set of most likely tokens whose mass reaches `p` (`None`: all).
    pub top_p: Option<f32>,
    /// CTRL's penalty on tokens of the history; 1 disables it, above 1 discourages repeats.
    pub repetition_penalty: f32,
    /// Seed of the random stream.
    pub seed: u64,
}

impl SamplingConfig {
    /// Greedy decoding: always the most likely token (ties to the lowest id), no penalty.
    pub fn greedy() -> Self {
        SamplingConfig { temperature: 0.0, top_k: None, top_p: None, repetition_penalty: 1.0, seed: 0 }
    }

    /// Plain ancestral sampling from the softmax at `temperature`, seeded with `seed`.
    pub fn with_temperature(temperature: f32, seed: u64) -> Self {
        SamplingConfig { temperature, ..SamplingConfig::greedy() }.seeded(seed)
    }

    /// The same configuration with another seed.
    pub fn seeded(self, seed: u64) -> Self {
        SamplingConfig { seed, ..self }
    }

    /// Checks every field, naming the first that is out of range.
    pub fn validate(&self) -> Result<(), SamplingError> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(SamplingError::InvalidTemperature(self.temperature));
        }
        if self.top_k == Some(0) {
            return Err(SamplingError::InvalidTopK);
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(SamplingError::InvalidTopP(p));
        }
        if !(self.repetition_penalty.is_finite() && self.repetition_penalty > 0.0) {
            return Err(SamplingError::InvalidRepetitionPenalty(self.repetition_penalty));
        }
        Ok(())
    }

    fn is_greedy(&self) -> bool {
        self.temperature == 0.0
    }
}

impl Default for SamplingConfig {
    /// Sampling from the model's own distribution (temperature 1, nothing filtered), seed 0.
    fn default() -> Self {
        SamplingConfig::with_temperature(1.0, 0)
    }
}

/// Draws tokens with one [`SamplingConfig`] and a seeded random stream.
#[derive(Clone, Debug)]
pub struct Sampler {
    config: SamplingConfig,
    rng: ChaCha8Rng,
    /// Reused buffer of `(token, weight)` candidates, so sampling does not allocate per token.
    candidates: Vec<(u32, f64)>,
}

impl Sampler {
    /// A sampler for `config`, its random stream seeded with `config.seed`.
    pub fn new(config: SamplingConfig) -> Result<Self, SamplingError> {
        config.validate()?;
        Ok(Sampler { config, rng: ChaCha8Rng::seed_from_u64(config.seed), candidates: Vec::new() })
    }

    /// The configuration this sampler draws with.
    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }

    /// Chooses the next token from `logits` (one per vocabulary entry), penalising the tokens of
    /// `history` (the prompt and what was generated so far).
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> Result<u32, SamplingError> {
        let total = kept_candidates(&self.config, logits, history, &mut self.candidates)?;
        if self.candidates.len() == 1 {
            return Ok(self.candidates[0].0);
        }
        let target = unit_uniform(&mut self.rng) * total;
        let mut cumulative = 0.0;
        for &(token, weight) in &self.candidates {
            cumulative += weight;
            if target < cumulative {
                return Ok(token);
            }
        }
        // Rounding left `target` at or past the summed weights: the last kept token owns that end.
        Ok(self.candidates.last().expect("at least one candidate is kept").0)
    }

    /// The distribution the next draw uses: the kept tokens with their renormalised
    /// probabilities, most likely first when top-p is set (otherwise in no particular order).
    /// Greedy decoding yields the single argmax with probability 1. Draws nothing.
    pub fn distribution(&self, logits: &[f32], history: &[u32]) -> Result<Vec<(u32, f64)>, SamplingError> {
        let mut kept = Vec::new();
        let total = kept_candidates(&self.config, logits, history, &mut kept)?;
        for (_, weight) in &mut kept {
            *weight /= total;
        }
        Ok(kept)
    }
}

/// The `k` most likely tokens with their natural-log probabilities under the softmax of
/// `logits`, most likely first (ties to the lowest id). Fewer when fewer tokens have a finite
/// logit; none when `k` is 0.
pub fn top_k_tokens(logits: &[f32], k: usize) -> Result<Vec<(u32, f32)>, SamplingError> {
    check_logits(logits)?;
    let mut candidates: Vec<(u32, f64)> = finite_scores(logits.iter().map(|&l| f64::from(l))).collect();
    let max = candidates.iter().map(|&(_, s)| s).fold(f64::NEG_INFINITY, f64::max);
    let log_normaliser = max + candidates.iter().map(|&(_, s)| (s - max).exp()).sum::<f64>().ln();
    keep_most_likely(&mut candidates, k, true);
    Ok(candidates.into_iter().map(|(token, score)| (token, (score - log_normaliser) as f32)).collect())
}

/// Fills `out` with the tokens that survive the configuration's filters and their unnormalised
/// weights (the largest is 1), and returns the sum of the weights.
fn kept_candidates(
    config: &SamplingConfig,
    logits: &[f32],
    history: &[u32],
    out: &mut Vec<(u32, f64)>,
) -> Result<f64, SamplingError> {
    check_logits(logits)?;
    if let Some(&token) = history.iter().find(|&&t| t as usize >= logits.len()) {
        return Err(SamplingError::HistoryOutOfVocab { token, vocab: logits.len() });
    }
    out.clear();
    out.extend(finite_scores(logits.iter().map(|&l| f64::from(l))));
    if config.repetition_penalty != 1.0 {
        // Tokens are visited in id order, so `penalised` can walk a sorted copy of the history.
        let penalty = f64::from(config.repetition_penalty);
        let mut seen = history.to_vec();
        seen.sort_unstable();
        seen.dedup();
        let mut seen = seen.into_iter().peekable();
        for (token, score) in out.iter_mut() {
            while seen.next_if(|&t| t < *token).is_some() {}
            if seen.peek() == Some(token) {
                *score = if *score > 0.0 { *score / penalty } else { *score * penalty };
            }
        }
    }
    if config.is_greedy() {
        let best = *out.iter().min_by(|a, b| more_likely(a, b)).expect("check_logits found a finite logit");
        out.clear();
        out.push((best.0, 1.0));
        return Ok(1.0);
    }
    // Top-p needs the candidates in order; top-k alone only needs the k best in any order.
    let nucleus = config.top_p.filter(|&p| p < 1.0);
    keep_most_likely(out, config.top_k.unwrap_or(usize::MAX), nucleus.is_some());
    let max = out.iter().map(|&(_, s)| s).fold(f64::NEG_INFINITY, f64::max);
    let temperature = f64::from(config.temperature);
    let mut total = 0.0;
    for (_, score) in out.iter_mut() {
        *score = ((*score - max) / temperature).exp();
        total += *score;
    }
    if let Some(p) = nucleus {
        let target = (f64::from(p) - TOP_P_TOLERANCE) * total;
        let mut mass = 0.0;
        let kept = out.iter().position(|&(_, w)| {
            mass += w;
            mass >= target
        });
        out.truncate(kept.map_or(out.len(), |last| last + 1));
        total = out.iter().map(|&(_, w)| w).sum();
    }
    Ok(total)
}

/// Rejects logits that no distribution can come from.
fn check_logits(logits: &[f32]) -> Result<(), SamplingError> {
    if logits.is_empty() {
        return Err(SamplingError::EmptyLogits);
    }
    if let Some((index, &value)) = logits.iter().enumerate().find(|(_, l)| l.is_nan() || **l == f32::INFINITY) {
        return Err(SamplingError::InvalidLogit { index, value });
    }
    if logits.iter().all(|&l| l == f32::NEG_INFINITY) {
        return Err(SamplingError::NoCandidate { vocab: logits.len() });
    }
    Ok(())
}

/// `(token, score)` for every token whose score is finite (-inf masks a token out).
fn finite_scores(scores: impl Iterator<Item = f64>) -> impl Iterator<Item = (u32, f64)> {
    scores.enumerate().filter(|(_, s)| s.is_finite()).map(|(token, s)| (token as u32, s))
}

/// Orders candidates from most to least likely: higher score first, then lower id.
fn more_likely(a: &(u32, f64), b: &(u32, f64)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Keeps the `k` most likely candidates (all when fewer), sorted most likely first when `sorted`.
/// Selection is linear; only the kept prefix is sorted.
fn keep_most_likely(candidates: &mut Vec<(u32, f64)>, k: usize, sorted: bool) {
    if k < candidates.len() {
        if k == 0 {
            candidates.clear();
            return;
        }
        candidates.select_nth_unstable_by(k - 1, more_likely);
        candidates.truncate(k);
    }
    if sorted {
        candidates.sort_unstable_by(more_likely);
    }
}

/// A uniform draw in [0, 1) from the top 53 bits of the stream (every f64 step equally likely).
fn unit_uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}
