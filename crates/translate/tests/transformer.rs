//! The transformer encoder-decoder: a tiny model learns to copy and to reverse, cached and
//! recomputed decoding agree with the teacher-forced logits, beam rows are selected correctly,
//! the label-smoothed loss matches a hand computation, and bad sizes are errors.

use std::sync::Arc;

use autograd::Var;
use backend_cpu::CpuDevice;
use nn_layers::ModuleExt;
use nn_layers::layers::Positions;
use nn_layers::optim::Optimizer;
use tensor_core::{Device, Tensor, TensorRng};
use translate::transformer::{
    TransformerConfig, TransformerRecipe, TransformerSeq2Seq, TransformerTrainer, label_smoothed_loss,
};
use translate::{Seq2Seq, SourceBatch, TargetBatch};

const PAD: u32 = 0;
const BOS: u32 = 1;
const EOS: u32 = 2;
const SYMBOLS: u32 = 10; // ids 3..13
const VOCAB: usize = 3 + SYMBOLS as usize;

fn tiny(positions: Positions, shared: bool, dropout: f64) -> TransformerConfig {
    TransformerConfig {
        source_vocab: VOCAB,
        target_vocab: VOCAB,
        layers: 2,
        width: 32,
        heads: 4,
        ff: 64,
        dropout,
        positions,
        shared_embeddings: shared,
        tied_output: shared,
        max_positions: 16,
    }
}

fn ids(rows: &[Vec<u32>], dev: &Arc<dyn Device>) -> Tensor {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let flat: Vec<i64> =
        rows.iter().flat_map(|r| r.iter().copied().chain(std::iter::repeat(PAD)).take(width).map(i64::from)).collect();
    Tensor::from_vec(flat, [rows.len(), width], dev).unwrap()
}

fn source(rows: &[Vec<u32>], dev: &Arc<dyn Device>) -> SourceBatch {
    SourceBatch { ids: ids(rows, dev), lengths: rows.iter().map(Vec::len).collect() }
}

fn target(rows: &[Vec<u32>], dev: &Arc<dyn Device>) -> TargetBatch {
    let input: Vec<Vec<u32>> = rows.iter().map(|r| std::iter::once(BOS).chain(r.iter().copied()).collect()).collect();
    let output: Vec<Vec<u32>> = rows.iter().map(|r| r.iter().copied().chain(std::iter::once(EOS)).collect()).collect();
    TargetBatch { input: ids(&input, dev), output: ids(&output, dev), lengths: input.iter().map(Vec::len).collect() }
}

fn random_sentences(count: usize, rng: &mut TensorRng, dev: &Arc<dyn Device>) -> Vec<Vec<u32>> {
    let draw = |n: usize, low: u32, high: u32, rng: &mut TensorRng| -> Vec<u32> {
        let values = rng.integers([n], u64::from(high - low), dev).unwrap().to_vec::<i64>().unwrap();
        values.into_iter().map(|v| low + v as u32).collect()
    };
    let lengths = draw(count, 3, 7, rng);
    lengths.into_iter().map(|len| draw(len as usize, 3, 3 + SYMBOLS, rng)).collect()
}

/// Greedy decoding over `encode` / `step`: each row stops at `</s>` or `limit` tokens.
fn greedy(model: &TransformerSeq2Seq, rows: &[Vec<u32>], limit: usize, dev: &Arc<dyn Device>) -> Vec<Vec<u32>> {
    let mut state = model.encode(&source(rows, dev)).unwrap();
    let mut out = vec![Vec::new(); rows.len()];
    let mut done = vec![false; rows.len()];
    let mut previous = vec![BOS; rows.len()];
    for _ in 0..limit {
        let log_probs = model.step(&mut state, &previous).unwrap();
        previous = log_probs.argmax(-1, false).to_vec::<i64>().unwrap().into_iter().map(|v| v as u32).collect();
        for (r, &id) in previous.iter().enumerate() {
            done[r] |= id == EOS;
            if !done[r] {
                out[r].push(id);
            }
        }
        if done.iter().all(|&d| d) {
            break;
        }
    }
    out
}

fn learns(task: fn(&[u32]) -> Vec<u32>, steps: usize) {
    let dev = CpuDevice::shared();
    let model = TransformerSeq2Seq::new(tiny(Positions::Sinusoidal, true, 0.0), &mut TensorRng::new(7), &dev).unwrap();
    let recipe = TransformerRecipe { peak_lr: 3e-3, warmup: 50, label_smoothing: 0.0, ..TransformerRecipe::default() };
    let mut trainer = TransformerTrainer::new(&model, recipe);
    let mut rng = TensorRng::new(11);
    for _ in 0..steps {
        let sources = random_sentences(32, &mut rng, &dev);
        let targets: Vec<Vec<u32>> = sources.iter().map(|s| task(s)).collect();
        let loss = trainer.step(&source(&sources, &dev), &target(&targets, &dev)).unwrap();
        assert!(loss.is_finite(), "step {}: loss {loss}", trainer.steps());
    }
    assert!(!trainer.optimizer().state().unwrap().is_empty(), "Adam's moments, for checkpoints");
    let tests = random_sentences(64, &mut TensorRng::new(99), &dev);
    let decoded = greedy(&model, &tests, 10, &dev);
    let exact = tests.iter().zip(&decoded).filter(|&(s, d)| task(s) == *d).count();
    assert_eq!(exact, tests.len(), "exact matches after {steps} steps; e.g. {:?} -> {:?}", tests[0], decoded[0]);
}

#[test]
fn a_tiny_transformer_learns_to_copy() {
    learns(|s| s.to_vec(), 1000);
}

#[test]
fn a_tiny_transformer_learns_to_reverse() {
    learns(|s| s.iter().rev().copied().collect(), 1000);
}

#[test]
fn cached_and_recomputed_decoding_agree_with_teacher_forcing() {
    let dev = CpuDevice::shared();
    for (positions, shared) in [(Positions::Sinusoidal, true), (Positions::Learned, false), (Positions::Rotary, true)] {
        let model = TransformerSeq2Seq::new(tiny(positions, shared, 0.1), &mut TensorRng::new(3), &dev).unwrap();
        let rows = random_sentences(3, &mut TensorRng::new(5), &dev);
        let batch = source(&rows, &dev);
        let (mut cached, mut recomputed) = (model.encode(&batch).unwrap(), model.encode(&batch).unwrap());
        let mut previous = vec![BOS; 3];
        let mut fed = vec![Vec::new(); 3];
        for _ in 0..8 {
            let a = model.step(&mut cached, &previous).unwrap();
            let b = model.step_recompute(&mut recomputed, &previous).unwrap();
            let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
            assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5), "cached vs recomputed log-probs");
            let next = Tensor::from_vec(a, [3, VOCAB], &dev).unwrap().argmax(-1, false).to_vec::<i64>().unwrap();
            for (r, row) in fed.iter_mut().enumerate() {
                row.push(previous[r]);
            }
            previous = next.into_iter().map(|v| v as u32).collect();
        }
        // The teacher-forced logits over the same tokens give the same distributions.
        let teacher = TargetBatch { input: ids(&fed, &dev), output: ids(&fed, &dev), lengths: vec![8; 3] };
        let logits = model.logits(&batch, &teacher, None).unwrap().log_softmax(-1).unwrap().value();
        let mut replay = model.encode(&batch).unwrap();
        for t in 0..8 {
            let column: Vec<u32> = fed.iter().map(|row| row[t]).collect();
            let stepped = model.step(&mut replay, &column).unwrap().to_vec::<f32>().unwrap();
            let forced = logits.narrow(1, t, 1).to_vec::<f32>().unwrap();
            assert!(stepped.iter().zip(&forced).all(|(x, y)| (x - y).abs() < 1e-4), "{positions:?} position {t}");
        }
        assert!(model.step_recompute(&mut replay, &[BOS; 3]).is_err(), "a cached state stays cached");
    }
}

#[test]
fn select_reorders_and_duplicates_rows() {
    let dev = CpuDevice::shared();
    let model = TransformerSeq2Seq::new(tiny(Positions::Sinusoidal, true, 0.0), &mut TensorRng::new(3), &dev).unwrap();
    let rows = random_sentences(3, &mut TensorRng::new(8), &dev);
    let mut state = model.encode(&source(&rows, &dev)).unwrap();
    model.step(&mut state, &[BOS; 3]).unwrap();
    let picks = [2, 0, 0, 1];
    let mut picked = model.select(&state, &picks).unwrap();
    assert_eq!(picked.rows(), 4);
    let (tokens, picked_tokens) = ([5, 6, 7], [7, 5, 5, 6]);
    let full = model.step(&mut state, &tokens).unwrap().to_vec::<f32>().unwrap();
    let chosen = model.step(&mut picked, &picked_tokens).unwrap().to_vec::<f32>().unwrap();
    for (i, &r) in picks.iter().enumerate() {
        let (want, got) = (&full[r * VOCAB..(r + 1) * VOCAB], &chosen[i * VOCAB..(i + 1) * VOCAB]);
        assert!(want.iter().zip(got).all(|(a, b)| (a - b).abs() < 1e-5), "row {i} is source row {r}");
    }
    assert_eq!(picked.fed[0], [BOS, 7]);
    assert!(model.select(&state, &[3]).is_err());
}

#[test]
fn label_smoothing_matches_a_hand_computation() {
    let dev = CpuDevice::shared();
    // One sentence of 2 real positions and 1 padded one, over 3 classes.
    let logits = [1.0f32, 2.0, 3.0, 0.5, 0.5, -1.0, 9.0, -9.0, 0.0];
    let var = Var::constant(Tensor::from_vec(logits.to_vec(), [1, 3, 3], &dev).unwrap());
    let labels = Tensor::from_vec(vec![2i64, 0, 1], [1, 3], &dev).unwrap();
    let batch = TargetBatch { input: labels.clone(), output: labels, lengths: vec![2] };
    let loss = label_smoothed_loss(&var, &batch, 0.1).unwrap().value().to_scalar().unwrap();
    let lse0 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    let lse1 = (2.0 * 0.5f64.exp() + (-1f64).exp()).ln();
    let position0 = 0.9 * (lse0 - 3.0) + 0.1 * (lse0 - 2.0);
    let position1 = 0.9 * (lse1 - 0.5) + 0.1 * (lse1 - 0.0);
    assert!((loss - (position0 + position1) / 2.0).abs() < 1e-5, "{loss}");
    assert!(label_smoothed_loss(&var, &batch, 1.0).is_err());
}

#[test]
fn the_recipe_warms_up_then_decays() {
    let dev = CpuDevice::shared();
    let model = TransformerSeq2Seq::new(tiny(Positions::Sinusoidal, true, 0.0), &mut TensorRng::new(1), &dev).unwrap();
    let recipe = TransformerRecipe { peak_lr: 1e-3, warmup: 100, ..TransformerRecipe::default() };
    let mut trainer = TransformerTrainer::new(&model, recipe);
    assert!((trainer.next_lr() - 1e-5).abs() < 1e-15, "step 1 of 100 of the warm-up");
    trainer.resume_at(99);
    assert!((trainer.next_lr() - 1e-3).abs() < 1e-15, "the peak ends the warm-up");
    trainer.resume_at(399);
    assert!((trainer.next_lr() - 5e-4).abs() < 1e-15, "four times the warm-up: half the peak");
    let rows = random_sentences(2, &mut TensorRng::new(2), &dev);
    trainer.step(&source(&rows, &dev), &target(&rows, &dev)).unwrap();
    assert_eq!(trainer.steps(), 400);
    assert!((trainer.optimizer().lr() - 5e-4).abs() < 1e-15, "the update used the scheduled rate");
}

#[test]
fn sizes_and_names() {
    let dev = CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let untied = TransformerSeq2Seq::new(tiny(Positions::Learned, false, 0.0), &mut rng, &dev).unwrap();
    let names: Vec<String> = untied.parameters().into_iter().map(|(n, _)| n).collect();
    for name in ["encoder.embed.weight", "decoder.embed.weight", "encoder.positions", "decoder.positions"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert!(
        names.iter().any(|n| n == "decoder.layers.1.cross.kv_proj.weight") && names.contains(&"output.weight".into())
    );
    let tied = TransformerSeq2Seq::new(tiny(Positions::Sinusoidal, true, 0.0), &mut rng, &dev).unwrap();
    let tied_names: Vec<String> = tied.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(tied_names[0], "embed.weight");
    assert!(!tied_names.iter().any(|n| n.contains("output") || n.contains("positions")));
    let bad = TransformerConfig { target_vocab: VOCAB + 1, ..tiny(Positions::Sinusoidal, true, 0.0) };
    assert!(TransformerSeq2Seq::new(bad, &mut rng, &dev).is_err(), "shared embeddings need one vocabulary");
    let long = vec![vec![3u32; 17]];
    let error = tied.encode(&source(&long, &dev)).unwrap_err().to_string();
    assert!(error.contains("17 positions exceed the transformer's 16"), "{error}");
}
