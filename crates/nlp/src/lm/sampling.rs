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
    /// Buffers reused from token to token, so sampling does not allocate.
    scratch: Scratch,
}

/// Working buffers of one sampling step.
#[derive(Clone, Debug, Default)]
struct Scratch {
    /// `(token, score)` candidates, then `(token, weight)` once the filters ran.
    candidates: Vec<(u32, f64)>,
    /// The history's distinct tokens, sorted.
    seen: Vec<u32>,
}

impl Sampler {
    /// A sampler for `config`, its random stream seeded with `config.seed`.
    pub fn new(config: SamplingConfig) -> Result<Self, SamplingError> {
        config.validate()?;
        Ok(Sampler { config, rng: ChaCha8Rng::seed_from_u64(config.seed), scratch: Scratch::default() })
    }

    /// The configuration this sampler draws with.
    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }

    /// Chooses the next token from `logits` (one per vocabulary entry), penalising the tokens of
    /// `history` (the prompt and what was generated so far).
    #[allow(clippy::expect_used, reason = "an invariant, not input: at least one candidate is kept")]
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> Result<u32, SamplingError> {
        let total = kept_candidates(&self.config, logits, history, &mut self.scratch)?;
        let candidates = &self.scratch.candidates;
        if candidates.len() == 1 {
            return Ok(candidates[0].0);
        }
        let target = unit_uniform(&mut self.rng) * total;
        let mut cumulative = 0.0;
        for &(token, weight) in candidates {
            cumulative += weight;
            if target < cumulative {
                return Ok(token);
            }
        }
        // Rounding left `target` at or past the summed weights: the last kept token owns that end.
        Ok(candidates.last().expect("at least one candidate is kept").0)
    }

    /// The distribution the next draw uses: the kept tokens with their renormalised
    /// probabilities, in no particular order.
    /// Greedy decoding yields the single argmax with probability 1. Draws nothing.
    pub fn distribution(&self, logits: &[f32], history: &[u32]) -> Result<Vec<(u32, f64)>, SamplingError> {
        let mut scratch = Scratch::default();
        let total = kept_candidates(&self.config, logits, history, &mut scratch)?;
        let mut kept = scratch.candidates;
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
    let mut candidates: Vec<(u32, f64)> = penalised_scores(logits, &[], 1.0).collect();
    let max = candidates.iter().map(|&(_, s)| s).fold(f64::NEG_INFINITY, f64::max);
    let log_normaliser = max + candidates.iter().map(|&(_, s)| (s - max).exp()).sum::<f64>().ln();
    keep_most_likely(&mut candidates, k, true);
    Ok(candidates.into_iter().map(|(token, score)| (token, (score - log_normaliser) as f32)).collect())
}

/// Fills `scratch.candidates` with the tokens that survive the configuration's filters and their
/// unnormalised weights (the largest is 1), and returns the sum of the weights.
#[allow(clippy::expect_used, reason = "an invariant, not input: check_logits found a finite logit")]
fn kept_candidates(
    config: &SamplingConfig,
    logits: &[f32],
    history: &[u32],
    scratch: &mut Scratch,
) -> Result<f64, SamplingError> {
    check_logits(logits)?;
    if let Some(&token) = history.iter().find(|&&t| t as usize >= logits.len()) {
        return Err(SamplingError::HistoryOutOfVocab { token, vocab: logits.len() });
    }
    let Scratch { candidates: out, seen } = scratch;
    seen.clear();
    if config.repetition_penalty != 1.0 {
        seen.extend_from_slice(history);
        seen.sort_unstable();
        seen.dedup();
    }
    let scores = penalised_scores(logits, seen, f64::from(config.repetition_penalty));
    out.clear();
    if config.is_greedy() {
        // The first strict maximum in id order, so ties go to the lowest id. Without a penalty a
        // plain scan of the logits does it several times faster than the scored path.
        let best = if seen.is_empty() {
            (1..logits.len()).fold(0, |best, token| if logits[token] > logits[best] { token } else { best }) as u32
        } else {
            let best = scores.reduce(|best, next| if next.1 > best.1 { next } else { best });
            best.expect("check_logits found a finite logit").0
        };
        out.push((best, 1.0));
        return Ok(1.0);
    }
    out.extend(scores);
    keep_most_likely(out, config.top_k.unwrap_or(usize::MAX), false);
    let max = out.iter().map(|&(_, s)| s).fold(f64::NEG_INFINITY, f64::max);
    let temperature = f64::from(config.temperature);
    let mut total = 0.0;
    for (_, score) in out.iter_mut() {
        *score = ((*score - max) / temperature).exp();
        total += *score;
    }
    if let Some(p) = config.top_p.filter(|&p| p < 1.0) {
        keep_nucleus(out, (f64::from(p) - TOP_P_TOLERANCE) * total);
        total = out.iter().map(|&(_, w)| w).sum();
    }
    Ok(total)
}

/// Keeps the smallest set of most likely candidates whose weights reach `target`: a quickselect
/// that halves the range holding the cut at each step, so it runs in linear time on average
/// instead of sorting the vocabulary.
fn keep_nucleus(candidates: &mut Vec<(u32, f64)>, target: f64) {
    // Invariant: `candidates[..low]` are more likely than the rest and weigh `mass` < `target`,
    // and the prefix `candidates[..high]` reaches `target` (or is everything).
    let (mut low, mut high, mut mass) = (0, candidates.len(), 0.0);
    while high - low > 32 {
        let middle = low + (high - low) / 2;
        candidates[low..high].select_nth_unstable_by(middle - low, more_likely);
        let upper: f64 = candidates[low..=middle].iter().map(|&(_, w)| w).sum();
        if mass + upper >= target {
            high = middle + 1;
        } else {
            mass += upper;
            low = middle + 1;
        }
    }
    candidates[low..high].sort_unstable_by(more_likely);
    let cut = (low..high).find(|&last| {
        mass += candidates[last].1;
        mass >= target
    });
    candidates.truncate(cut.map_or(high, |last| last + 1));
}

/// Rejects logits that no distribution can come from.
fn check_logits(logits: &[f32]) -> Result<(), SamplingError> {
    if logits.is_empty() {
        return Err(SamplingError::EmptyLogits);
    }
    let mut any_finite = false;
    for (index, &value) in logits.iter().enumerate() {
        if value.is_nan() || value == f32::INFINITY {
            return Err(SamplingError::InvalidLogit { index, value });
        }
        any_finite |= value.is_finite();
    }
    if !any_finite {
        return Err(SamplingError::NoCandidate { vocab: logits.len() });
    }
    Ok(())
}

/// `(token, score)` for every token with a finite logit, in id order, where the score is the
/// logit with CTRL's repetition penalty applied to the tokens of `seen` (sorted, distinct).
fn penalised_scores<'a>(logits: &'a [f32], seen: &'a [u32], penalty: f64) -> impl Iterator<Item = (u32, f64)> + 'a {
    let mut seen = seen.iter().copied().peekable();
    logits.iter().enumerate().filter(|(_, logit)| logit.is_finite()).map(move |(token, &logit)| {
        let (token, score) = (token as u32, f64::from(logit));
        while seen.next_if(|&t| t < token).is_some() {}
        match seen.peek() {
            Some(&t) if t == token && score > 0.0 => (token, score / penalty),
            Some(&t) if t == token => (token, score * penalty),
            _ => (token, score),
        }
    })
}

/// Orders candidates from most to least likely: higher score (or weight) first, then lower id.
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
