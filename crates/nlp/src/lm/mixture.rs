//! Linear interpolation of two language models, `p(w | h) = λ p₁(w | h) + (1 - λ) p₂(w | h)`,
//! with λ fitted on validation text by expectation-maximisation (Mikolov's RNN + Kneser-Ney
//! combination is the classic use). Tokens are matched by their text, so an n-gram model and
//! a neural model over the same words combine; the end of sentence and the unknown word match
//! whatever each model calls them.

use super::{LanguageModel, LmReader, Vocabulary, WordScore};
use crate::{NlpError, Result};

/// Two models mixed with weight `weight` on the first. The mixture reads text with the first
/// model's vocabulary.
pub struct Mixture {
    first: Box<dyn LanguageModel>,
    second: Box<dyn LanguageModel>,
    weight: f64,
    /// For each id of the first vocabulary, the second's id for the same token.
    to_second: Vec<u32>,
}

/// For each id of `first`, the id of the same token in `second`.
fn match_vocabularies(first: &dyn Vocabulary, second: &dyn Vocabulary) -> Result<Vec<u32>> {
    let mismatch = |why: &str| NlpError::Invalid(format!("the two models' vocabularies cannot be matched: {why}"));
    match (first.unknown_id(), second.unknown_id()) {
        (Some(_), Some(unknown)) => Ok((0..first.size() as u32)
            .map(|id| {
                if id == first.end_id() {
                    second.end_id()
                } else if Some(id) == first.unknown_id() {
                    unknown
                } else {
                    second.id(&first.token(id)).unwrap_or(unknown)
                }
            })
            .collect()),
        (None, None) => {
            let same = first.size() == second.size()
                && (0..first.size() as u32).all(|id| first.token(id) == second.token(id))
                && first.end_id() == second.end_id();
            if same { Ok((0..first.size() as u32).collect()) } else { Err(mismatch("different subword tokenizers")) }
        }
        _ => Err(mismatch("one reads words, the other subwords")),
    }
}

/// `ln(λ e^a + (1 - λ) e^b)` without underflow.
fn mix_ln(weight: f64, a: f64, b: f64) -> f64 {
    let (x, y) = (weight.ln() + a, (1.0 - weight).ln() + b);
    let high = x.max(y);
    if high == f64::NEG_INFINITY { high } else { high + ((x - high).exp() + (y - high).exp()).ln() }
}

impl Mixture {
    /// Mixes `first` (weight `weight`, in `[0, 1]`) with `second`.
    pub fn new(first: Box<dyn LanguageModel>, second: Box<dyn LanguageModel>, weight: f64) -> Result<Mixture> {
        if !(0.0..=1.0).contains(&weight) {
            return Err(NlpError::Invalid(format!("the mixture weight must be in [0, 1], got {weight}")));
        }
        let to_second = match_vocabularies(first.vocabulary(), second.vocabulary())?;
        Ok(Mixture { first, second, weight, to_second })
    }

    /// Mixes two models with the weight that maximises the likelihood of `validation`
    /// (sentences read as one document); see [`fit_mixture_weight`].
    pub fn fit(first: Box<dyn LanguageModel>, second: Box<dyn LanguageModel>, validation: &[&str]) -> Result<Mixture> {
        let mut mixture = Mixture::new(first, second, 0.5)?;
        let (first_scores, second_scores) = mixture.component_scores(&mixture.encode(validation))?;
        mixture.weight = fit_mixture_weight(&first_scores, &second_scores);
        Ok(mixture)
    }

    /// The weight of the first model.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    fn encode(&self, sentences: &[&str]) -> Vec<Vec<u32>> {
        let vocab = self.first.vocabulary();
        sentences.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect()).collect()
    }

    fn translate(&self, ids: &[u32]) -> Vec<u32> {
        ids.iter().map(|&id| self.to_second.get(id as usize).copied().unwrap_or(id)).collect()
    }

    /// Both models' scores of a document given in the first model's ids.
    fn component_scores(&self, sentences: &[Vec<u32>]) -> Result<(Vec<WordScore>, Vec<WordScore>)> {
        let translated: Vec<Vec<u32>> = sentences.iter().map(|s| self.translate(s)).collect();
        let first = self.first.score_document(sentences)?;
        let second = self.second.score_document(&translated)?;
        if first.len() != second.len() {
            return Err(NlpError::Invalid(format!(
                "the two models scored {} and {} tokens of the same text",
                first.len(),
                second.len()
            )));
        }
        Ok((first, second))
    }
}

/// The λ maximising `Σ ln(λ p₁ + (1 - λ) p₂)` over tokens scored by both models, by EM:
/// `λ ← mean over tokens of λ p₁ / (λ p₁ + (1 - λ) p₂)`, which never lowers the likelihood.
pub fn fit_mixture_weight(first: &[WordScore], second: &[WordScore]) -> f64 {
    let ln10 = std::f64::consts::LN_10;
    let pairs: Vec<(f64, f64)> = first
        .iter()
        .zip(second)
        .map(|(a, b)| (a.log10_prob * ln10, b.log10_prob * ln10))
        .filter(|(a, b)| a.is_finite() || b.is_finite())
        .collect();
    let mut weight: f64 = 0.5;
    for _ in 0..200 {
        let responsibility: f64 =
            pairs.iter().map(|&(a, b)| (weight.ln() + a - mix_ln(weight, a, b)).exp()).sum::<f64>();
        let next = responsibility / pairs.len().max(1) as f64;
        let converged = (next - weight).abs() < 1e-7;
        weight = next;
        if converged {
            break;
        }
    }
    weight
}

impl LanguageModel for Mixture {
    fn vocabulary(&self) -> &dyn Vocabulary {
        self.first.vocabulary()
    }

    fn describe(&self) -> String {
        format!(
            "mixture {:.3} x [{}] + {:.3} x [{}]",
            self.weight,
            self.first.describe(),
            1.0 - self.weight,
            self.second.describe()
        )
    }

    fn reader(&self, history: &[u32]) -> Result<Box<dyn LmReader + '_>> {
        let mut reader = MixtureReader {
            mixture: self,
            first: self.first.reader(history)?,
            second: self.second.reader(&self.translate(history))?,
            log_probs: Vec::new(),
        };
        reader.refresh();
        Ok(Box::new(reader))
    }

    fn score_document(&self, sentences: &[Vec<u32>]) -> Result<Vec<WordScore>> {
        let (first, second) = self.component_scores(sentences)?;
        let ln10 = std::f64::consts::LN_10;
        Ok(first
            .iter()
            .zip(&second)
            .map(|(a, b)| {
                let ln_prob = mix_ln(self.weight, a.log10_prob * ln10, b.log10_prob * ln10);
                WordScore::from_ln(ln_prob, a.order_used.max(b.order_used))
            })
            .collect())
    }
}

/// Both models' readers, moved together.
struct MixtureReader<'a> {
    mixture: &'a Mixture,
    first: Box<dyn LmReader + 'a>,
    second: Box<dyn LmReader + 'a>,
    log_probs: Vec<f32>,
}

impl MixtureReader<'_> {
    fn refresh(&mut self) {
        let (a, b) = (self.first.log_probs(), self.second.log_probs());
        let vocab = self.mixture.first.vocabulary();
        self.log_probs = (0..a.len())
            .map(|id| {
                if !vocab.predictable(id as u32) {
                    return f32::NEG_INFINITY;
                }
                let other = b.get(self.mixture.to_second[id] as usize).copied().unwrap_or(f32::NEG_INFINITY);
                mix_ln(self.mixture.weight, a[id] as f64, other as f64) as f32
            })
            .collect();
    }
}

impl LmReader for MixtureReader<'_> {
    fn log_probs(&self) -> &[f32] {
        &self.log_probs
    }

    fn push(&mut self, id: u32) -> Result<()> {
        self.first.push(id)?;
        self.second.push(self.mixture.translate(&[id])[0])?;
        self.refresh();
        Ok(())
    }
}
