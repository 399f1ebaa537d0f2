//! Corpus chrF (Popović 2015) with sacreBLEU 2.x's defaults: character 6-grams, β = 2.

use std::collections::HashMap;

use super::{check_pairs, python_split};
use crate::Result;

/// The largest character n-gram order.
const ORDER: usize = 6;
/// Recall weighs β² = 4 times as much as precision.
const BETA: f64 = 2.0;

/// Corpus chrF (0-100) of `hypotheses` against one reference each, as
/// `sacrebleu.corpus_chrf(hyps, [refs])` computes it: statistics summed over the corpus, then
/// precision and recall averaged over the orders that both sides have, then the F-β score. An
/// error when the two lists differ in length.
pub fn corpus_chrf(hypotheses: &[String], references: &[String]) -> Result<f64> {
    check_pairs(hypotheses, references)?;
    // Per order: hypothesis n-grams (counted only where the reference has some), reference
    // n-grams, matches.
    let mut stats = [[0u64; 3]; ORDER];
    for (hyp, reference) in hypotheses.iter().zip(references) {
        let hyp_chars: Vec<char> = python_split(hyp).flat_map(str::chars).collect();
        let ref_chars: Vec<char> = python_split(reference).flat_map(str::chars).collect();
        for (n, slot) in stats.iter_mut().enumerate() {
            let hyp_grams = char_ngrams(&hyp_chars, n + 1);
            let ref_grams = char_ngrams(&ref_chars, n + 1);
            let (mut hyp_count, mut matches) = (0, 0);
            for (gram, &count) in &hyp_grams {
                hyp_count += count;
                if let Some(&in_ref) = ref_grams.get(gram) {
                    matches += count.min(in_ref);
                }
            }
            slot[0] += if ref_grams.is_empty() { 0 } else { hyp_count };
            slot[1] += ref_grams.values().sum::<u64>();
            slot[2] += matches;
        }
    }
    Ok(f_score(&stats))
}

/// Counts of the character n-grams of order `n`.
fn char_ngrams(chars: &[char], n: usize) -> HashMap<&[char], u64> {
    let mut counts = HashMap::new();
    for window in chars.windows(n) {
        *counts.entry(window).or_insert(0) += 1;
    }
    counts
}

/// sacreBLEU's `_compute_f_score` without ε smoothing.
fn f_score(stats: &[[u64; 3]; ORDER]) -> f64 {
    let factor = BETA * BETA;
    let (mut avg_prec, mut avg_rec, mut orders) = (0.0, 0.0, 0usize);
    for &[hyp, reference, matches] in stats {
        if hyp > 0 && reference > 0 {
            avg_prec += matches as f64 / hyp as f64;
            avg_rec += matches as f64 / reference as f64;
            orders += 1;
        }
    }
    if orders == 0 {
        return 0.0;
    }
    avg_prec /= orders as f64;
    avg_rec /= orders as f64;
    if avg_prec + avg_rec == 0.0 {
        return 0.0;
    }
    100.0 * (1.0 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec)
}

#[cfg(test)]
mod tests {
    use super::corpus_chrf;

    #[test]
    fn identical_text_scores_100_and_empty_hypotheses_0() {
        let text = vec!["Guten Morgen!".to_string(), "abc".to_string()];
        assert!((corpus_chrf(&text, &text).unwrap() - 100.0).abs() < 1e-9);
        let empty = vec![String::new(), String::new()];
        assert_eq!(corpus_chrf(&empty, &text).unwrap(), 0.0);
    }
}
