//! Token ids of sentence pairs, length-bucketed batches by token count, and the padded
//! [`SourceBatch`] / [`TargetBatch`] a model reads.

use std::sync::Arc;

use tensor_core::{Device, Tensor};

use super::{Pair, Vocabulary};
use crate::{Result, SourceBatch, TargetBatch, TranslateError};

/// A sentence pair as subword ids, without special tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// Source ids.
    pub source: Vec<u32>,
    /// Target ids.
    pub target: Vec<u32>,
}

/// Encodes `pairs`; with `max_tokens`, pairs with a side longer than that many subwords are
/// left out (training only: decoding reads every source whole).
pub fn encode_pairs(vocab: &Vocabulary, pairs: &[Pair], max_tokens: Option<usize>) -> Vec<Example> {
    pairs
        .iter()
        .map(|p| Example { source: vocab.encode(&p.source), target: vocab.encode(&p.target) })
        .filter(|e| max_tokens.is_none_or(|m| !e.source.is_empty() && e.source.len() <= m && e.target.len() <= m))
        .collect()
}

/// Groups example indices into batches of at most `max_tokens` padded tokens (batch size times
/// the longest source or target plus its `</s>`), similar lengths together: examples sorted by
/// length, cut greedily, then (with `seed`) the batch order shuffled. Every example lands in
/// exactly one batch; one longer than `max_tokens` alone forms a batch.
pub fn token_batches(lengths: &[(usize, usize)], max_tokens: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| (lengths[i].0, lengths[i].1, i));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let len = lengths[i].0.max(lengths[i].1) + 1;
        let wider = longest.max(len);
        if !current.is_empty() && wider * (current.len() + 1) > max_tokens {
            batches.push(std::mem::take(&mut current));
            longest = len;
        } else {
            longest = wider;
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    if let Some(seed) = seed {
        shuffle(&mut batches, seed);
    }
    batches
}

/// Fisher-Yates with SplitMix64: a reproducible order from a seed.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Sources `ids </s>`, right-padded with `<pad>` into `[B, S]`.
pub fn source_batch(sources: &[&[u32]], vocab: &Vocabulary, device: &Arc<dyn Device>) -> Result<SourceBatch> {
    if sources.is_empty() {
        return Err(TranslateError::Invalid("a batch needs at least one source sentence".into()));
    }
    let lengths: Vec<usize> = sources.iter().map(|s| s.len() + 1).collect();
    let width = lengths.iter().copied().max().unwrap_or(1);
    let mut ids = vec![vocab.pad() as i64; sources.len() * width];
    for (b, source) in sources.iter().enumerate() {
        for (t, &id) in source.iter().chain([vocab.eos()].iter()).enumerate() {
            ids[b * width + t] = id as i64;
        }
    }
    Ok(SourceBatch { ids: Tensor::from_vec(ids, [sources.len(), width], device)?, lengths })
}

/// Decoder inputs `<s> y` and outputs `y </s>`, right-padded with `<pad>` into `[B, T]`.
pub fn target_batch(targets: &[&[u32]], vocab: &Vocabulary, device: &Arc<dyn Device>) -> Result<TargetBatch> {
    if targets.is_empty() {
        return Err(TranslateError::Invalid("a batch needs at least one target sentence".into()));
    }
    let lengths: Vec<usize> = targets.iter().map(|t| t.len() + 1).collect();
    let width = lengths.iter().copied().max().unwrap_or(1);
    let mut input = vec![vocab.pad() as i64; targets.len() * width];
    let mut output = input.clone();
    for (b, target) in targets.iter().enumerate() {
        for (t, &id) in [vocab.bos()].iter().chain(target.iter()).enumerate() {
            input[b * width + t] = id as i64;
        }
        for (t, &id) in target.iter().chain([vocab.eos()].iter()).enumerate() {
            output[b * width + t] = id as i64;
        }
    }
    let shape = [targets.len(), width];
    Ok(TargetBatch {
        input: Tensor::from_vec(input, shape, device)?,
        output: Tensor::from_vec(output, shape, device)?,
        lengths,
    })
}

/// The source and target batches of the examples `indices`.
pub fn pair_batch(
    examples: &[Example],
    indices: &[usize],
    vocab: &Vocabulary,
    device: &Arc<dyn Device>,
) -> Result<(SourceBatch, TargetBatch)> {
    let sources: Vec<&[u32]> = indices.iter().map(|&i| examples[i].source.as_slice()).collect();
    let targets: Vec<&[u32]> = indices.iter().map(|&i| examples[i].target.as_slice()).collect();
    Ok((source_batch(&sources, vocab, device)?, target_batch(&targets, vocab, device)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_token_budget_and_cover_every_example() {
        let lengths: Vec<(usize, usize)> = (0..100).map(|i| (1 + i % 17, 2 + (i * 7) % 13)).collect();
        let batches = token_batches(&lengths, 64, Some(3));
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        for batch in &batches {
            let longest = batch.iter().map(|&i| lengths[i].0.max(lengths[i].1) + 1).max().unwrap();
            assert!(longest * batch.len() <= 64 || batch.len() == 1);
        }
        assert_eq!(batches, token_batches(&lengths, 64, Some(3)));
    }
}
