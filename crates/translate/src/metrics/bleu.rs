//! Corpus BLEU (Papineni et al. 2002) with sacreBLEU 2.x's defaults.

use std::collections::HashMap;

use super::{check_pairs, python_split, tokenize_13a};
use crate::Result;

/// The largest n-gram order.
const ORDER: usize = 4;

/// A corpus BLEU score and the statistics it comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Bleu {
    /// BLEU on the 0-100 scale.
    pub score: f64,
    /// Clipped n-gram matches, orders 1 to 4.
    pub correct: [u64; ORDER],
    /// Hypothesis n-grams, orders 1 to 4.
    pub total: [u64; ORDER],
    /// Smoothed precisions (0-100), orders 1 to 4.
    pub precisions: [f64; ORDER],
    /// Brevity penalty.
    pub brevity_penalty: f64,
    /// Hypothesis tokens.
    pub hypothesis_length: u64,
    /// Reference tokens.
    pub reference_length: u64,
}

/// Corpus BLEU of `hypotheses` against one reference each, as `sacrebleu.corpus_bleu(hyps,
/// [refs])` computes it: `13a` tokens, case-sensitive, `exp` smoothing. An error when the two
/// lists differ in length.
pub fn corpus_bleu(hypotheses: &[String], references: &[String]) -> Result<Bleu> {
    check_pairs(hypotheses, references)?;
    let (mut correct, mut total) = ([0u64; ORDER], [0u64; ORDER]);
    let (mut hyp_len, mut ref_len) = (0u64, 0u64);
    for (hyp, reference) in hypotheses.iter().zip(references) {
        let (hyp_tokens, ref_tokens) = (tokenize_13a(hyp.trim_end()), tokenize_13a(reference.trim_end()));
        let (hyp_grams, h) = ngrams(&hyp_tokens);
        let (ref_grams, r) = ngrams(&ref_tokens);
        hyp_len += h;
        ref_len += r;
        for (gram, &count) in &hyp_grams {
            let n = gram.len() - 1;
            total[n] += count;
            if let Some(&in_ref) = ref_grams.get(gram) {
                correct[n] += count.min(in_ref);
            }
        }
    }
    Ok(score(correct, total, hyp_len, ref_len))
}

/// Counts of every n-gram (orders 1 to 4) of a tokenised line, and its token count.
fn ngrams(line: &str) -> (HashMap<Vec<&str>, u64>, u64) {
    let tokens: Vec<&str> = python_split(line).collect();
    let mut counts = HashMap::new();
    for n in 1..=ORDER {
        for window in tokens.windows(n) {
            *counts.entry(window.to_vec()).or_insert(0) += 1;
        }
    }
    (counts, tokens.len() as u64)
}

/// sacreBLEU's `compute_bleu` with `exp` smoothing and without effective order.
fn score(correct: [u64; ORDER], total: [u64; ORDER], hyp_len: u64, ref_len: u64) -> Bleu {
    let brevity_penalty = if hyp_len < ref_len {
        if hyp_len > 0 { (1.0 - ref_len as f64 / hyp_len as f64).exp() } else { 0.0 }
    } else {
        1.0
    };
    let mut precisions = [0.0; ORDER];
    let mut result = Bleu {
        score: 0.0,
        correct,
        total,
        precisions,
        brevity_penalty,
        hypothesis_length: hyp_len,
        reference_length: ref_len,
    };
    if correct.iter().all(|&c| c == 0) {
        return result;
    }
    let mut smooth = 1.0;
    for n in 0..ORDER {
        if total[n] == 0 {
            break;
        }
        precisions[n] = if correct[n] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * total[n] as f64)
        } else {
            100.0 * correct[n] as f64 / total[n] as f64
        };
    }
    // sacreBLEU floors log(0) at -9999999999, which sends the score to 0.
    let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
    result.score = brevity_penalty * (precisions.iter().map(|&p| log(p)).sum::<f64>() / ORDER as f64).exp();
    result.precisions = precisions;
    result
}

#[cfg(test)]
mod tests {
    use super::corpus_bleu;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn identical_text_scores_100_and_disjoint_text_0() {
        let text = strings(&["the cat sat on the mat .", "a b c d e"]);
        assert!((corpus_bleu(&text, &text).unwrap().score - 100.0).abs() < 1e-9);
        let other = strings(&["x y z w v u", "q r s t"]);
        assert_eq!(corpus_bleu(&other, &text).unwrap().score, 0.0);
        assert!(corpus_bleu(&other, &text[..1]).is_err());
    }
}
