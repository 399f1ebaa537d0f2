//! The standard intrinsic evaluations, with gensim's protocols: analogy questions
//! (`evaluate_word_analogies`: 3CosAdd, question words excluded, top-N vocabulary, per-section
//! and semantic/syntactic totals, coverage) and word-pair similarity (`evaluate_word_pairs`:
//! Spearman correlation, out-of-vocabulary ratio).

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use super::embeddings::Embeddings;
use crate::corpus::Lines;
use crate::{NlpError, Result};

/// One section of an analogy file (e.g. `capital-common-countries`, `gram3-comparative`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalogySection {
    /// The section's name.
    pub name: String,
    /// Questions answered correctly.
    pub correct: usize,
    /// Questions answered wrongly.
    pub incorrect: usize,
    /// Questions skipped because a word is outside the (restricted) vocabulary.
    pub skipped: usize,
}

impl AnalogySection {
    /// Accuracy over the questions answered (0 when none was).
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct, self.correct + self.incorrect)
    }

    /// Whether the section is syntactic (gensim and the C tool: names starting with `gram`).
    pub fn is_syntactic(&self) -> bool {
        self.name.starts_with("gram")
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The result of an analogy evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalogyReport {
    /// Per section, in file order.
    pub sections: Vec<AnalogySection>,
}

impl AnalogyReport {
    fn total(&self, keep: impl Fn(&AnalogySection) -> bool) -> AnalogySection {
        let mut total = AnalogySection { name: String::new(), correct: 0, incorrect: 0, skipped: 0 };
        for s in self.sections.iter().filter(|s| keep(s)) {
            total.correct += s.correct;
            total.incorrect += s.incorrect;
            total.skipped += s.skipped;
        }
        total
    }

    /// All sections together.
    pub fn overall(&self) -> AnalogySection {
        AnalogySection { name: "total".into(), ..self.total(|_| true) }
    }

    /// The semantic sections together.
    pub fn semantic(&self) -> AnalogySection {
        AnalogySection { name: "semantic".into(), ..self.total(|s| !s.is_syntactic()) }
    }

    /// The syntactic sections together.
    pub fn syntactic(&self) -> AnalogySection {
        AnalogySection { name: "syntactic".into(), ..self.total(AnalogySection::is_syntactic) }
    }

    /// The share of questions whose four words are all in the vocabulary.
    pub fn coverage(&self) -> f64 {
        let t = self.overall();
        ratio(t.correct + t.incorrect, t.correct + t.incorrect + t.skipped)
    }
}

/// The result of a word-pair similarity evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimilarityReport {
    /// Spearman correlation between cosine similarity and the human scores.
    pub spearman: f64,
    /// Pairs scored.
    pub pairs: usize,
    /// Pairs skipped because a word is outside the vocabulary.
    pub oov: usize,
}

impl SimilarityReport {
    /// The share of pairs skipped, in percent (gensim's `oov_ratio`).
    pub fn oov_ratio(&self) -> f64 {
        100.0 * ratio(self.oov, self.oov + self.pairs)
    }
}

/// Ranks with ties averaged (1-based).
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        order[i..=j].iter().for_each(|&k| ranks[k] = rank);
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation of two equally long samples.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    let (rx, ry) = (ranks(x), ranks(y));
    let n = rx.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let (vx, vy): (f64, f64) = (rx.iter().map(|a| (a - mx).powi(2)).sum(), ry.iter().map(|b| (b - my).powi(2)).sum());
    cov / (vx * vy).sqrt()
}

impl Embeddings {
    /// The word ids usable in evaluations: the first `restrict` words, keyed case-insensitively
    /// (upper-cased, the most frequent spelling winning) when asked.
    fn evaluation_vocab(&self, restrict: usize, case_insensitive: bool) -> HashMap<String, usize> {
        let mut ok = HashMap::new();
        for (i, word) in self.words().iter().enumerate().take(restrict).rev() {
            ok.insert(if case_insensitive { word.to_uppercase() } else { word.clone() }, i);
        }
        ok
    }

    /// Analogy accuracy on a file of `: section` lines and `a b c d` questions (the Google
    /// set), over the `restrict` most frequent words (gensim's default is 300,000).
    pub fn evaluate_analogies(&self, path: &Path, restrict: usize, case_insensitive: bool) -> Result<AnalogyReport> {
        let ok = self.evaluation_vocab(restrict, case_insensitive);
        let mut sections: Vec<(String, Vec<Option<[usize; 4]>>)> = Vec::new();
        Lines::open(path)?.for_each(|line, text| {
            if let Some(name) = text.strip_prefix(':') {
                sections.push((name.trim().to_string(), Vec::new()));
                return Ok(());
            }
            let words: Vec<&str> = text.split_whitespace().collect();
            if words.is_empty() {
                return Ok(());
            }
            let parse_error = |msg: String| NlpError::Parse { path: path.to_path_buf(), line, msg };
            let Some((_, questions)) = sections.last_mut() else {
                return Err(parse_error("a question before the first `: section` line".into()));
            };
            if words.len() != 4 {
                return Err(parse_error(format!("expected 4 words, found {}", words.len())));
            }
            let key = |w: &str| if case_insensitive { w.to_uppercase() } else { w.to_string() };
            let ids: Option<Vec<usize>> = words.iter().map(|w| ok.get(&key(w)).copied()).collect();
            questions.push(ids.map(|ids| [ids[0], ids[1], ids[2], ids[3]]));
            Ok(())
        })?;
        let restrict = restrict.min(self.len());
        let sections = sections
            .into_iter()
            .map(|(name, questions)| {
                let answered: Vec<bool> =
                    questions.par_iter().flatten().map(|&[a, b, c, d]| self.answer(a, b, c, restrict) == d).collect();
                let correct = answered.iter().filter(|&&ok| ok).count();
                AnalogySection {
                    name,
                    correct,
                    incorrect: answered.len() - correct,
                    skipped: questions.len() - answered.len(),
                }
            })
            .collect();
        Ok(AnalogyReport { sections })
    }

    /// 3CosAdd's answer to `a : b :: c : ?` among the first `restrict` words, `a`, `b`, `c` excluded.
    fn answer(&self, a: usize, b: usize, c: usize, restrict: usize) -> usize {
        let query: Vec<f32> =
            (0..self.dim()).map(|k| self.unit_row(b)[k] - self.unit_row(a)[k] + self.unit_row(c)[k]).collect();
        let mut best = (usize::MAX, f32::NEG_INFINITY);
        for i in (0..restrict).filter(|&i| i != a && i != b && i != c) {
            let score = super::kernels::dot(&query, self.unit_row(i));
            if score > best.1 {
                best = (i, score);
            }
        }
        best.0
    }

    /// Spearman correlation with human similarity judgements in a `w1<TAB>w2<TAB>score` file
    /// (`#` lines are comments), over the pairs whose words are both known.
    pub fn evaluate_word_pairs(&self, path: &Path, case_insensitive: bool) -> Result<SimilarityReport> {
        let ok = self.evaluation_vocab(self.len(), case_insensitive);
        let (mut model, mut human, mut oov) = (Vec::new(), Vec::new(), 0);
        Lines::open(path)?.for_each(|line, text| {
            if text.starts_with('#') || text.trim().is_empty() {
                return Ok(());
            }
            let fields: Vec<&str> = text.split('\t').collect();
            let parse_error = |msg: String| NlpError::Parse { path: path.to_path_buf(), line, msg };
            let [a, b, score] = fields[..] else {
                return Err(parse_error(format!("expected `word<TAB>word<TAB>score`, found `{text}`")));
            };
            let score: f64 =
                score.trim().parse().map_err(|_| parse_error(format!("score `{score}` is not a number")))?;
            let key = |w: &str| if case_insensitive { w.to_uppercase() } else { w.to_string() };
            match (ok.get(&key(a)), ok.get(&key(b))) {
                (Some(&i), Some(&j)) => {
                    model.push(super::kernels::dot(self.unit_row(i), self.unit_row(j)) as f64);
                    human.push(score);
                }
                _ => oov += 1,
            }
            Ok(())
        })?;
        let spearman = if model.len() > 1 { spearman(&model, &human) } else { 0.0 };
        Ok(SimilarityReport { spearman, pairs: model.len(), oov })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_with_ties() {
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[5.0, 1.0, 5.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]).correlation
        assert!((spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]) - 0.9486832980505138).abs() < 1e-12);
    }
}
