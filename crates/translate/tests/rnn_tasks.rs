//! A tiny recurrent encoder-decoder learns to copy and to reverse short sequences to 100% exact
//! match (greedy), and beam search with width 1 gives greedy's outputs.

use std::sync::Arc;

use backend_cpu::CpuDevice;
use nn_layers::ModuleExt;
use nn_layers::layers::CellKind;
use nn_layers::optim::{Adam, AdamConfig};
use tensor_core::{Device, Tensor, TensorRng};
use translate::decode::{DecodeOptions, beam_search, greedy};
use translate::rnn::{Attention, RnnConfig, RnnSeq2Seq};
use translate::train::train_step;
use translate::{SourceBatch, TargetBatch};

const BOS: u32 = 1;
const EOS: u32 = 2;
const SYMBOLS: u32 = 8;

/// Right-padded `[B, W]` i64 rows.
fn padded(rows: &[Vec<u32>], device: &Arc<dyn Device>) -> Tensor {
    let width = rows.iter().map(Vec::len).max().unwrap();
    let mut ids = vec![0i64; rows.len() * width];
    for (b, row) in rows.iter().enumerate() {
        for (t, &id) in row.iter().enumerate() {
            ids[b * width + t] = id as i64;
        }
    }
    Tensor::from_vec(ids, [rows.len(), width], device).unwrap()
}

fn source(seqs: &[Vec<u32>], device: &Arc<dyn Device>) -> SourceBatch {
    let rows: Vec<Vec<u32>> = seqs.iter().map(|s| s.iter().copied().chain([EOS]).collect()).collect();
    SourceBatch { lengths: rows.iter().map(Vec::len).collect(), ids: padded(&rows, device) }
}

fn target(seqs: &[Vec<u32>], device: &Arc<dyn Device>) -> TargetBatch {
    let input: Vec<Vec<u32>> = seqs.iter().map(|s| [BOS].into_iter().chain(s.iter().copied()).collect()).collect();
    let output: Vec<Vec<u32>> = seqs.iter().map(|s| s.iter().copied().chain([EOS]).collect()).collect();
    TargetBatch {
        lengths: input.iter().map(Vec::len).collect(),
        input: padded(&input, device),
        output: padded(&output, device),
    }
}

/// Random sequences of 2 to 6 symbols (ids 3 and up).
fn sequences(count: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    (0..count).map(|_| (0..2 + next(5)).map(|_| 3 + next(SYMBOLS as u64) as u32).collect()).collect()
}

fn model(attention: Attention, device: &Arc<dyn Device>) -> RnnSeq2Seq {
    let config = RnnConfig {
        cell: CellKind::Gru,
        vocab_size: 3 + SYMBOLS as usize,
        embed: 32,
        hidden: 64,
        layers: 1,
        attention,
        dropout: 0.0,
    };
    RnnSeq2Seq::new(config, &mut TensorRng::new(7), device).unwrap()
}

/// Trains `model` to map each sequence to `task(sequence)`; returns the greedy exact-match rate
/// on fresh sequences.
fn learn(model: &RnnSeq2Seq, task: fn(&[u32]) -> Vec<u32>, device: &Arc<dyn Device>) -> f64 {
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(0.01));
    for step in 0..500 {
        let inputs = sequences(32, step);
        let outputs: Vec<Vec<u32>> = inputs.iter().map(|s| task(s)).collect();
        let batch = (source(&inputs, device), target(&outputs, device));
        train_step(model, &mut optimizer, &batch, 0.0, Some(1.0), step).unwrap();
    }
    let tests = sequences(100, 9_999);
    let decoded = greedy(model, &source(&tests, device), BOS, EOS, &DecodeOptions::default()).unwrap();
    let right = tests.iter().zip(&decoded).filter(|(s, d)| task(s) == **d).count();
    right as f64 / tests.len() as f64
}

#[test]
fn learns_to_copy_and_beam_width_one_equals_greedy() {
    let device: Arc<dyn Device> = CpuDevice::shared();
    let model = model(Attention::Luong, &device);
    let accuracy = learn(&model, |s| s.to_vec(), &device);
    assert_eq!(accuracy, 1.0, "copy: exact match {accuracy}");
    let tests = source(&sequences(40, 4242), &device);
    let options = DecodeOptions::default();
    let greedy_out = greedy(&model, &tests, BOS, EOS, &options).unwrap();
    let beam_out = beam_search(&model, &tests, BOS, EOS, &DecodeOptions { beam: 1, ..options }).unwrap();
    let beam_tokens: Vec<Vec<u32>> = beam_out.into_iter().map(|mut h| h.remove(0).tokens).collect();
    assert_eq!(greedy_out, beam_tokens);
    let five = beam_search(&model, &tests, BOS, EOS, &DecodeOptions { beam: 5, n_best: 3, ..options }).unwrap();
    assert!(five.iter().all(|n| n.len() == 3 && n.windows(2).all(|w| w[0].score >= w[1].score)));
}

#[test]
fn learns_to_reverse_with_additive_attention() {
    let device: Arc<dyn Device> = CpuDevice::shared();
    let model = model(Attention::Bahdanau, &device);
    let accuracy = learn(&model, |s| s.iter().rev().copied().collect(), &device);
    assert_eq!(accuracy, 1.0, "reverse: exact match {accuracy}");
}
