//! From SQuAD records to padded tensors: the word vocabulary, per-question examples, batches
//! grouped by passage length, and the exact-match features.

use std::collections::HashSet;
use std::sync::Arc;

use nlp::vocab::{Vocab, VocabConfig};
use tensor_core::{Device, Tensor};

use crate::squad::SquadSet;
use crate::tokenize::Token;
use crate::{QaError, Result};

/// The additive mask of padded positions: softmax and cross-entropy give them no weight.
pub const MASKED: f32 = -1e9;

/// Exact-match features per passage token: the lower-cased word occurs in the question; the
/// word occurs there as written.
pub const FEATURES: usize = 2;

/// The vocabulary a reader uses: lower-cased tokens, `<pad>` = 0 and `<unk>` = 1.
pub fn build_vocab(set: &SquadSet, max_words: usize) -> Vocab {
    let lowered: Vec<String> = set
        .paragraphs
        .iter()
        .flat_map(|p| p.tokens.iter().chain(p.questions.iter().flat_map(|q| &q.tokens)))
        .map(|t| t.text.to_lowercase())
        .collect();
    Vocab::build(
        lowered.iter().map(String::as_str),
        &VocabConfig { max_size: Some(max_words), ..VocabConfig::default() },
    )
}

/// Ids of `tokens`, lower-cased (unknown words map to `<unk>`).
pub fn token_ids(vocab: &Vocab, tokens: &[Token]) -> Vec<i64> {
    let lowered: Vec<String> = tokens.iter().map(|t| t.text.to_lowercase()).collect();
    vocab.encode(&lowered).into_iter().map(|i| i as i64).collect()
}

/// One question ready for the reader: its passage and question ids and, when known, the
/// answer's token span.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// Index of the paragraph in its [`SquadSet`] (or 0 for a single passage).
    pub paragraph: usize,
    /// The question's id.
    pub id: String,
    /// Passage ids (possibly cut to a maximum length).
    pub passage: Vec<i64>,
    /// Question ids.
    pub question: Vec<i64>,
    /// Exact-match features, `FEATURES` per passage token.
    pub features: Vec<f32>,
    /// The answer's first and last token (inclusive), if known and inside the passage kept.
    pub span: Option<(usize, usize)>,
}

impl Example {
    /// An example from tokenised text; `max_passage` cuts the passage (training only).
    pub fn new(
        vocab: &Vocab,
        paragraph: usize,
        id: &str,
        passage: &[Token],
        question: &[Token],
        span: Option<(usize, usize)>,
        max_passage: Option<usize>,
    ) -> Example {
        let keep = max_passage.map_or(passage.len(), |m| m.min(passage.len()));
        let passage = &passage[..keep];
        let lower: HashSet<String> = question.iter().map(|t| t.text.to_lowercase()).collect();
        let exact: HashSet<&str> = question.iter().map(|t| t.text.as_str()).collect();
        let features = passage
            .iter()
            .flat_map(|t| {
                let flag = |b: bool| if b { 1.0 } else { 0.0 };
                [flag(lower.contains(&t.text.to_lowercase())), flag(exact.contains(t.text.as_str()))]
            })
            .collect();
        Example {
            paragraph,
            id: id.to_string(),
            passage: token_ids(vocab, passage),
            question: token_ids(vocab, question),
            features,
            span: span.filter(|&(_, end)| end < keep),
        }
    }
}

/// Examples for every question of `set`. For training (`max_passage` set) questions whose
/// answer has no span inside the kept passage are left out.
pub fn examples(set: &SquadSet, vocab: &Vocab, max_passage: Option<usize>) -> Vec<Example> {
    set.questions()
        .filter_map(|(p, q)| {
            let e = Example::new(vocab, p, &q.id, &set.paragraphs[p].tokens, &q.tokens, q.span, max_passage);
            (max_passage.is_none() || e.span.is_some()).then_some(e)
        })
        .collect()
}

/// Example indices in batches of about `batch_size`, grouped by passage length so little is
/// padding; with a seed the batches come in a shuffled order (deterministic per seed).
pub fn length_batches(examples: &[Example], batch_size: usize, seed: Option<u64>) -> Result<Vec<Vec<usize>>> {
    if batch_size == 0 {
        return Err(QaError::Invalid("the batch size must be at least 1".into()));
    }
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut state = seed.unwrap_or(0) ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // SplitMix64: a small, seeded generator for shuffles.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    // Shuffle first (when seeded) so equal lengths are not always batched together.
    if seed.is_some() {
        for i in (1..order.len()).rev() {
            order.swap(i, (next() % (i as u64 + 1)) as usize);
        }
    }
    order.sort_by_key(|&i| examples[i].passage.len());
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    if seed.is_some() {
        for i in (1..batches.len()).rev() {
            batches.swap(i, (next() % (i as u64 + 1)) as usize);
        }
    }
    Ok(batches)
}

/// Padded tensors of a batch of examples.
#[derive(Clone, Debug)]
pub struct QaBatch {
    /// Passage ids `[N, Tp]` (i64, `<pad>` = 0).
    pub passage: Tensor,
    /// Exact-match features `[N, Tp, FEATURES]`.
    pub features: Tensor,
    /// Question ids `[N, Tq]`.
    pub question: Tensor,
    /// Real passage lengths.
    pub passage_lengths: Vec<usize>,
    /// Real question lengths.
    pub question_lengths: Vec<usize>,
    /// 0 at real passage tokens, [`MASKED`] at padding, `[N, Tp]`.
    pub passage_mask: Tensor,
    /// 0 at real question tokens, [`MASKED`] at padding, `[N, Tq]`.
    pub question_mask: Tensor,
    /// Gold start tokens `[N]` (0 where unknown).
    pub starts: Tensor,
    /// Gold end tokens `[N]` (0 where unknown).
    pub ends: Tensor,
}

impl QaBatch {
    /// Pads `examples[indices]` into one batch on `device`. Empty passages or questions are
    /// an error (a reader needs at least one token of each).
    pub fn new(examples: &[Example], indices: &[usize], device: &Arc<dyn Device>) -> Result<QaBatch> {
        let chosen: Vec<&Example> = indices.iter().map(|&i| &examples[i]).collect();
        if let Some(e) = chosen.iter().find(|e| e.passage.is_empty() || e.question.is_empty()) {
            return Err(QaError::Invalid(format!("question {}: the passage or the question has no token", e.id)));
        }
        let n = chosen.len();
        let tp = chosen.iter().map(|e| e.passage.len()).max().unwrap_or(1);
        let tq = chosen.iter().map(|e| e.question.len()).max().unwrap_or(1);
        let (mut passage, mut question) = (vec![0i64; n * tp], vec![0i64; n * tq]);
        let mut features = vec![0f32; n * tp * FEATURES];
        let (mut passage_mask, mut question_mask) = (vec![MASKED; n * tp], vec![MASKED; n * tq]);
        let (mut starts, mut ends) = (vec![0i64; n], vec![0i64; n]);
        for (row, e) in chosen.iter().enumerate() {
            passage[row * tp..row * tp + e.passage.len()].copy_from_slice(&e.passage);
            question[row * tq..row * tq + e.question.len()].copy_from_slice(&e.question);
            features[row * tp * FEATURES..row * tp * FEATURES + e.features.len()].copy_from_slice(&e.features);
            passage_mask[row * tp..row * tp + e.passage.len()].fill(0.0);
            question_mask[row * tq..row * tq + e.question.len()].fill(0.0);
            if let Some((s, t)) = e.span {
                (starts[row], ends[row]) = (s as i64, t as i64);
            }
        }
        Ok(QaBatch {
            passage: Tensor::from_vec(passage, [n, tp], device)?,
            features: Tensor::from_vec(features, [n, tp, FEATURES], device)?,
            question: Tensor::from_vec(question, [n, tq], device)?,
            passage_lengths: chosen.iter().map(|e| e.passage.len()).collect(),
            question_lengths: chosen.iter().map(|e| e.question.len()).collect(),
            passage_mask: Tensor::from_vec(passage_mask, [n, tp], device)?,
            question_mask: Tensor::from_vec(question_mask, [n, tq], device)?,
            starts: Tensor::from_vec(starts, [n], device)?,
            ends: Tensor::from_vec(ends, [n], device)?,
        })
    }
}

/// The best span `(start, end)` for one passage of `len` tokens from its start and end scores:
/// the largest `start_scores[s] + end_scores[e]` with `s ≤ e < s + max_len`, and that score.
pub fn best_span(start_scores: &[f32], end_scores: &[f32], len: usize, max_len: usize) -> (usize, usize, f32) {
    let len = len.min(start_scores.len()).min(end_scores.len());
    let mut best = (0, 0, f32::NEG_INFINITY);
    for s in 0..len {
        for e in s..len.min(s + max_len.max(1)) {
            let score = start_scores[s] + end_scores[e];
            if score > best.2 {
                best = (s, e, score);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_span_respects_order_and_length() {
        // The best pair by sum would be (3, 1) = 11, which ends before it starts.
        let starts = [0.0, 0.0, 0.0, 5.0, 0.0];
        let ends = [0.0, 6.0, 0.0, 0.0, 2.0];
        assert_eq!(best_span(&starts, &ends, 5, 15), (3, 4, 7.0));
        // A maximum length of 1 allows only one-token spans.
        assert_eq!(best_span(&[1.0, 0.0, 0.0], &[0.0, 0.0, 3.0], 3, 1).0, 2);
        // Positions past `len` (padding) are never chosen.
        assert_eq!(best_span(&[0.0, 9.0], &[0.0, 9.0], 1, 15), (0, 0, 0.0));
    }
}
