//! What scoring text with a language model yields: per-token scores, a sentence's score, and
//! the totals behind a perplexity. Shared by every kind of model (n-gram, neural, mixture).

/// The score of one predicted token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WordScore {
    /// Log10 probability of the token given its history.
    pub log10_prob: f64,
    /// How much history the probability came from, counting the token: the n-gram length for
    /// an n-gram model (1 = unigram); for a model that reads the whole history, the number of
    /// tokens it had read since its state was last reset, plus one.
    pub order_used: usize,
}

impl WordScore {
    /// A score from a natural-log probability.
    pub fn from_ln(ln_prob: f64, order_used: usize) -> WordScore {
        WordScore { log10_prob: ln_prob / std::f64::consts::LN_10, order_used }
    }
}

/// One token of a scored sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenScore {
    /// The token as given (the end token, e.g. `</s>`, for the end of the sentence).
    pub token: String,
    /// Whether the token is outside the vocabulary (scored as the unknown token).
    pub oov: bool,
    /// Its score.
    pub score: WordScore,
}

/// A sentence's probability, token by token.
#[derive(Clone, Debug, PartialEq)]
pub struct SentenceScore {
    /// Every token, the end token last.
    pub tokens: Vec<TokenScore>,
    /// Log10 probability of the whole sentence (the sum over tokens).
    pub log10_prob: f64,
}

impl SentenceScore {
    /// Assembles a sentence's score from its tokens (the end token last) and their scores.
    pub fn new(tokens: Vec<(String, bool)>, scores: &[WordScore]) -> SentenceScore {
        let tokens: Vec<TokenScore> =
            tokens.into_iter().zip(scores).map(|((token, oov), &score)| TokenScore { token, oov, score }).collect();
        let log10_prob = tokens.iter().map(|t| t.score.log10_prob).sum();
        SentenceScore { tokens, log10_prob }
    }

    /// Fluency: the mean log10 probability per token, the end token included. Unlike the
    /// sentence probability it does not favour short sentences; higher is more natural.
    pub fn fluency(&self) -> f64 {
        self.log10_prob / self.tokens.len() as f64
    }

    /// The sentence's own perplexity.
    pub fn perplexity(&self) -> f64 {
        10f64.powf(-self.fluency())
    }
}

/// Totals of scoring many sentences.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Perplexity {
    /// Sentences scored.
    pub sentences: u64,
    /// Tokens predicted, the end token of every sentence included.
    pub tokens: u64,
    /// Tokens outside the vocabulary (scored as the unknown token and included in `tokens`).
    pub oovs: u64,
    /// Sum of log10 probabilities.
    pub log10_prob: f64,
}

impl Perplexity {
    /// Perplexity: 10^(-log10 probability / tokens) = exp(mean negative log-likelihood).
    pub fn perplexity(&self) -> f64 {
        10f64.powf(-self.log10_prob / self.tokens as f64)
    }

    /// Mean negative natural-log likelihood per predicted token (the cross-entropy in nats).
    pub fn mean_nll(&self) -> f64 {
        -self.log10_prob * std::f64::consts::LN_10 / self.tokens as f64
    }

    /// Adds a sentence's score.
    pub fn add(&mut self, sentence: &SentenceScore) {
        self.sentences += 1;
        self.tokens += sentence.tokens.len() as u64;
        self.oovs += sentence.tokens.iter().filter(|t| t.oov).count() as u64;
        self.log10_prob += sentence.log10_prob;
    }
}

/// The `k` best of `(id, score)` pairs, highest score first (ties by id), in time linear in
/// the number of pairs.
pub fn top_k(mut scored: Vec<(u32, f64)>, k: usize) -> Vec<(u32, f64)> {
    let k = k.min(scored.len());
    if k == 0 {
        return Vec::new();
    }
    scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored
}

/// Candidate sentences' scores ordered from most to least fluent, each with its index.
pub fn rank_by_fluency(scores: Vec<SentenceScore>) -> Vec<(usize, SentenceScore)> {
    let mut ranked: Vec<(usize, SentenceScore)> = scores.into_iter().enumerate().collect();
    ranked.sort_by(|a, b| b.1.fluency().total_cmp(&a.1.fluency()));
    ranked
}
