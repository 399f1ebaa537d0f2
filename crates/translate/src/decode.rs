//! Greedy and beam-search decoding, written once over [`Seq2Seq`].
//!
//! Both decode a batch of sentences at once; rows of the decoding state are hypotheses, and
//! finished ones are dropped from the state with [`Seq2Seq::select`]. Output length is capped
//! at `a·|source| + b` tokens (and by the model's positions). Beam search ranks finished
//! hypotheses by log-probability divided by Wu et al.'s (2016) length penalty
//! `((5 + |Y|) / 6)^α`, and a sentence stops once `beam` hypotheses have ended (early stop).

use std::sync::Arc;

use tensor_core::Device;

use crate::data::{Vocabulary, source_batch};
use crate::{Result, Seq2Seq, SourceBatch, TranslateError};

/// Options of decoding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecodeOptions {
    /// Hypotheses kept per sentence; 1 is greedy.
    pub beam: usize,
    /// Length penalty exponent α (0: raw log-probability).
    pub length_penalty: f64,
    /// Output tokens at most `max_len_a · |source| + max_len_b` (`</s>` included).
    pub max_len_a: f64,
    /// See `max_len_a`.
    pub max_len_b: usize,
    /// Hypotheses returned per sentence, best first (at most `beam`).
    pub n_best: usize,
}

impl Default for DecodeOptions {
    /// Greedy, α = 0.6, at most `1.5·|source| + 10` tokens, the best hypothesis only.
    fn default() -> Self {
        DecodeOptions { beam: 1, length_penalty: 0.6, max_len_a: 1.5, max_len_b: 10, n_best: 1 }
    }
}

/// A finished translation as ids.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    /// Output ids, without `</s>`.
    pub tokens: Vec<u32>,
    /// Sum of the tokens' log-probabilities (`</s>` included when the hypothesis ended).
    pub log_prob: f64,
    /// `log_prob` divided by the length penalty: what ranks hypotheses.
    pub score: f64,
}

/// Wu et al.'s length penalty `((5 + len) / 6)^α`.
pub fn length_penalty(len: usize, alpha: f64) -> f64 {
    ((5.0 + len as f64) / 6.0).powf(alpha)
}

/// The output cap of each sentence of `source`.
fn max_lengths<M: Seq2Seq>(model: &M, source: &SourceBatch, options: &DecodeOptions) -> Vec<usize> {
    source
        .lengths
        .iter()
        .map(|&len| {
            let cap = (options.max_len_a * len.saturating_sub(1) as f64).floor() as usize + options.max_len_b;
            cap.clamp(1, model.max_target_positions().max(1))
        })
        .collect()
}

/// The greedy output of each source: the most likely token at every step, until `</s>` or the
/// length cap.
pub fn greedy<M: Seq2Seq>(
    model: &M,
    source: &SourceBatch,
    bos: u32,
    eos: u32,
    options: &DecodeOptions,
) -> Result<Vec<Vec<u32>>> {
    let caps = max_lengths(model, source, options);
    let mut outputs = vec![Vec::new(); caps.len()];
    let mut state = model.encode(source)?;
    let mut alive: Vec<usize> = (0..caps.len()).collect();
    let mut previous = vec![bos; alive.len()];
    let mut step = 0;
    while !alive.is_empty() {
        let log_probs = model.step(&mut state, &previous)?;
        let vocab = log_probs.dims()[1];
        let values = log_probs.to_f64_vec()?;
        let (mut keep, mut next) = (Vec::new(), Vec::new());
        for (row, &sentence) in alive.iter().enumerate() {
            let best = argmax(&values[row * vocab..(row + 1) * vocab]);
            if best == eos {
                continue;
            }
            outputs[sentence].push(best);
            if step + 1 < caps[sentence] {
                keep.push(row);
                next.push(best);
            }
        }
        if keep.len() < alive.len() && !keep.is_empty() {
            state = model.select(&state, &keep)?;
        }
        alive = keep.iter().map(|&r| alive[r]).collect();
        previous = next;
        step += 1;
    }
    Ok(outputs)
}

/// The index of the largest value (the first on ties).
fn argmax(values: &[f64]) -> u32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u32
}

/// A hypothesis still growing.
#[derive(Clone, Debug)]
struct Beam {
    tokens: Vec<u32>,
    log_prob: f64,
}

/// The search of one sentence.
#[derive(Debug, Default)]
struct Search {
    beams: Vec<Beam>,
    finished: Vec<Hypothesis>,
}

/// Beam search: the `n_best` hypotheses of each source, best first.
pub fn beam_search<M: Seq2Seq>(
    model: &M,
    source: &SourceBatch,
    bos: u32,
    eos: u32,
    options: &DecodeOptions,
) -> Result<Vec<Vec<Hypothesis>>> {
    if options.beam == 0 || options.n_best == 0 || options.n_best > options.beam {
        return Err(TranslateError::Invalid(format!(
            "beam search needs 1 <= n_best <= beam, got n_best {} and beam {}",
            options.n_best, options.beam
        )));
    }
    let k = options.beam;
    let caps = max_lengths(model, source, options);
    let finish = |beam: &Beam, ended: bool| {
        let len = beam.tokens.len() + usize::from(ended);
        Hypothesis {
            tokens: beam.tokens.clone(),
            log_prob: beam.log_prob,
            score: beam.log_prob / length_penalty(len, options.length_penalty),
        }
    };
    let mut searches: Vec<Search> = (0..caps.len())
        .map(|_| Search { beams: vec![Beam { tokens: Vec::new(), log_prob: 0.0 }], finished: Vec::new() })
        .collect();
    let mut state = model.encode(source)?;
    // Row r of the state belongs to sentence rows[r].0, beam rows[r].1.
    let mut rows: Vec<(usize, usize)> = (0..caps.len()).map(|s| (s, 0)).collect();
    let mut step = 0;
    while !rows.is_empty() {
        let previous: Vec<u32> =
            rows.iter().map(|&(s, b)| searches[s].beams[b].tokens.last().copied().unwrap_or(bos)).collect();
        let log_probs = model.step(&mut state, &previous)?;
        let vocab = log_probs.dims()[1];
        let values = log_probs.to_f64_vec()?;
        let (mut parents, mut next_rows) = (Vec::new(), Vec::new());
        let mut first = 0;
        while first < rows.len() {
            let sentence = rows[first].0;
            let last = first + rows[first..].iter().take_while(|r| r.0 == sentence).count();
            // Candidates (score, raw log-prob, row, token): the best 2k of every beam.
            let mut candidates = Vec::new();
            for row in first..last {
                let beam = &searches[sentence].beams[rows[row].1];
                let scores = &values[row * vocab..(row + 1) * vocab];
                for token in top_indices(scores, 2 * k) {
                    candidates.push((beam.log_prob + scores[token], scores[token], row, token as u32));
                }
            }
            candidates
                .sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)).then(a.3.cmp(&b.3)));
            let search = &mut searches[sentence];
            let mut grown = Vec::new();
            for (log_prob, _, row, token) in candidates {
                if grown.len() == k || search.finished.len() >= k {
                    break;
                }
                let parent = &search.beams[rows[row].1];
                if token == eos {
                    search.finished.push(finish(&Beam { tokens: parent.tokens.clone(), log_prob }, true));
                } else {
                    let mut tokens = parent.tokens.clone();
                    tokens.push(token);
                    grown.push((row, Beam { tokens, log_prob }));
                }
            }
            let out_of_room = step + 1 >= caps[sentence];
            if search.finished.len() >= k || out_of_room || grown.is_empty() {
                if search.finished.len() < options.n_best {
                    let mut rest: Vec<Hypothesis> = grown.iter().map(|(_, b)| finish(b, false)).collect();
                    search.finished.append(&mut rest);
                }
                search.beams.clear();
            } else {
                search.beams = Vec::with_capacity(grown.len());
                for (b, (row, beam)) in grown.into_iter().enumerate() {
                    parents.push(row);
                    next_rows.push((sentence, b));
                    search.beams.push(beam);
                }
            }
            first = last;
        }
        if !parents.is_empty() {
            state = model.select(&state, &parents)?;
        }
        rows = next_rows;
        step += 1;
    }
    Ok(searches
        .into_iter()
        .map(|s| {
            let mut done = s.finished;
            done.sort_by(|a, b| b.score.total_cmp(&a.score));
            done.truncate(options.n_best);
            done
        })
        .collect())
}

/// The indices of the `count` largest values, largest first (lower index first on ties).
fn top_indices(values: &[f64], count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    let by_value = |a: &usize, b: &usize| values[*b].total_cmp(&values[*a]).then(a.cmp(b));
    if count < order.len() {
        order.select_nth_unstable_by(count, by_value);
        order.truncate(count);
    }
    order.sort_by(by_value);
    order
}

/// Translates `texts` in batches of `batch_size` sentences: greedy when `options.beam` is 1,
/// beam search otherwise; returns the detokenised best output of each text, in order (an empty
/// line for an empty text). Any UTF-8 text is accepted: byte-level BPE has no unknown token.
pub fn translate_texts<M: Seq2Seq>(
    model: &M,
    vocab: &Vocabulary,
    texts: &[String],
    options: &DecodeOptions,
    batch_size: usize,
    device: &Arc<dyn Device>,
) -> Result<Vec<String>> {
    let encoded: Vec<Vec<u32>> = texts.iter().map(|t| vocab.encode(t)).collect();
    // Decode similar lengths together, then put the outputs back in order; an empty (or
    // all-whitespace) text translates to an empty line without running the model.
    let mut order: Vec<usize> = (0..texts.len()).filter(|&i| !texts[i].trim().is_empty()).collect();
    order.sort_by_key(|&i| encoded[i].len());
    let mut outputs = vec![String::new(); texts.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let sources: Vec<&[u32]> = chunk.iter().map(|&i| encoded[i].as_slice()).collect();
        let batch = source_batch(&sources, vocab, device)?;
        let ids: Vec<Vec<u32>> = if options.beam == 1 {
            greedy(model, &batch, vocab.bos(), vocab.eos(), options)?
        } else {
            let options = DecodeOptions { n_best: 1, ..*options };
            beam_search(model, &batch, vocab.bos(), vocab.eos(), &options)?
                .into_iter()
                .map(|mut best| best.pop().map(|h| h.tokens).unwrap_or_default())
                .collect()
        };
        for (&i, tokens) in chunk.iter().zip(ids) {
            outputs[i] = vocab.decode(&tokens);
        }
    }
    Ok(outputs)
}
