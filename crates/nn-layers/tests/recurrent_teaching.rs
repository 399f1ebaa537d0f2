//! The recurrent chapter's point, measured: gradients through a vanilla tanh RNN vanish
//! geometrically with distance while an LSTM's do far less, and on a long-range task (the
//! adding problem, T = 50) an LSTM learns what a vanilla RNN of the same size cannot. Every
//! training loop clips the gradient norm.

use std::sync::Arc;

use autograd::{Var, clip_grad_norm};
use backend_cpu::CpuDevice;
use nn_layers::layers::{CellKind, Linear, Recurrent, RecurrentConfig};
use nn_layers::loss::{Reduction, mse};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use nn_layers::{Module, ModuleExt};
use tensor_core::{DType, Device, Tensor, TensorRng};

fn dev() -> Arc<dyn Device> {
    CpuDevice::shared()
}

/// ‖∂(Σ h_T)/∂x_0‖ for a random input sequence of length `steps`, averaged over 4 seeds.
fn gradient_reaching_step_zero(kind: CellKind, steps: usize) -> f64 {
    let mut total = 0.0;
    for seed in 0..4 {
        let layer = Recurrent::new(kind, RecurrentConfig::new(16, 32), &mut TensorRng::new(seed), &dev()).unwrap();
        layer.init_forget_bias(1.0).unwrap();
        let x =
            Var::parameter(TensorRng::new(100 + seed).normal([steps, 4, 16], 0.0, 1.0, DType::F32, &dev()).unwrap());
        let (_, state) = layer.forward_with(&x, None, None).unwrap();
        state.h.sum_all().unwrap().backward().unwrap();
        let first = x.grad().unwrap().narrow(0, 0, 1);
        total += first.square().sum(&[0, 1, 2], false).to_vec::<f32>().unwrap()[0].sqrt() as f64;
    }
    total / 4.0
}

#[test]
fn vanilla_rnn_gradients_vanish_and_lstm_gradients_do_not() {
    let distances = [1, 5, 10, 20, 40];
    let rnn: Vec<f64> = distances.iter().map(|&t| gradient_reaching_step_zero(CellKind::RnnTanh, t)).collect();
    let lstm: Vec<f64> = distances.iter().map(|&t| gradient_reaching_step_zero(CellKind::Lstm, t)).collect();
    println!("steps  |dL/dx0| tanh RNN   |dL/dx0| LSTM");
    for (i, t) in distances.iter().enumerate() {
        println!("{t:>5}  {:>16.3e}  {:>14.3e}", rnn[i], lstm[i]);
    }
    // Geometric decay: every doubling of the distance past 10 steps costs the RNN more than
    // a factor of 10.
    assert!(rnn[3] < rnn[2] / 10.0 && rnn[4] < rnn[3] / 10.0, "tanh RNN: {rnn:?}");
    // The LSTM (forget gates starting open) keeps millions of times more gradient at distance 40.
    assert!(lstm[4] / lstm[0] > 1e6 * (rnn[4] / rnn[0]), "LSTM {lstm:?} vs RNN {rnn:?}");
}

/// A batch of the adding problem: `[T, N, 2]` inputs (a value in [0, 1) and a 0/1 marker on
/// exactly two steps, one in each half) and targets `[N, 1]` = the sum of the two marked values.
fn adding_batch(steps: usize, batch: usize, rng: &mut TensorRng) -> (Tensor, Tensor) {
    let values = rng.uniform([steps, batch], 0.0, 1.0, DType::F32, &dev()).unwrap().to_vec::<f32>().unwrap();
    let mut input = vec![0.0f32; steps * batch * 2];
    let mut target = vec![0.0f32; batch];
    for b in 0..batch {
        let first = (rng.next_u64() % (steps / 2) as u64) as usize;
        let second = steps / 2 + (rng.next_u64() % (steps / 2) as u64) as usize;
        for t in 0..steps {
            input[(t * batch + b) * 2] = values[t * batch + b];
        }
        for t in [first, second] {
            input[(t * batch + b) * 2 + 1] = 1.0;
            target[b] += values[t * batch + b];
        }
    }
    (Tensor::from_vec(input, [steps, batch, 2], &dev()).unwrap(), Tensor::from_vec(target, [batch, 1], &dev()).unwrap())
}

/// Trains `kind` (hidden 32) on the adding problem; returns the test MSE.
fn adding_problem(kind: CellKind, steps: usize, iterations: usize) -> f64 {
    let mut rng = TensorRng::new(11);
    let layer = Recurrent::new(kind, RecurrentConfig::new(2, 32), &mut rng, &dev()).unwrap();
    layer.init_forget_bias(1.0).unwrap();
    let head = Linear::new(32, 1, &mut rng, &dev()).unwrap();
    let mut params = layer.parameters();
    params.extend(head.parameters());
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut opt = Adam::new(params, AdamConfig::adam(1e-2));
    for i in 0..iterations {
        let (x, y) = adding_batch(steps, 64, &mut rng);
        opt.zero_grad();
        let (_, state) = layer.forward_with(&Var::constant(x), None, None).unwrap();
        let prediction = head.forward(&state.h.squeeze(0).unwrap()).unwrap();
        let loss = mse(&prediction, &Var::constant(y), Reduction::Mean).unwrap();
        loss.backward().unwrap();
        clip_grad_norm(&leaves, 1.0).unwrap();
        opt.step().unwrap();
        if i % 200 == 0 {
            println!("{kind:?} iteration {i}: loss {:.4}", loss.value().to_vec::<f32>().unwrap()[0]);
        }
    }
    let (x, y) = adding_batch(steps, 1000, &mut TensorRng::new(999));
    let (_, state) = layer.forward_with(&Var::constant(x), None, None).unwrap();
    let prediction = head.forward(&state.h.squeeze(0).unwrap()).unwrap();
    mse(&prediction, &Var::constant(y), Reduction::Mean).unwrap().value().to_vec::<f32>().unwrap()[0] as f64
}

#[test]
fn lstm_solves_the_adding_problem_and_a_vanilla_rnn_does_not() {
    // Always answering 1 (the mean target) scores an MSE of 1/6 ≈ 0.167.
    let steps = 50;
    let lstm = adding_problem(CellKind::Lstm, steps, 1000);
    let rnn = adding_problem(CellKind::RnnTanh, steps, 1000);
    println!("adding problem, T = {steps}: test MSE LSTM {lstm:.4}, tanh RNN {rnn:.4} (baseline 0.167)");
    assert!(lstm < 0.02, "LSTM MSE {lstm}");
    assert!(rnn > 0.1, "RNN MSE {rnn}");
}

/// Next-symbol accuracy on the stream `0 1 0 2 0 3` (repeating) after training on chunks of
/// 4 steps, either carrying the detached state across chunks (truncated BPTT) or restarting
/// from zeros. After a `0` the next symbol depends on the symbol before it, which at a chunk's
/// first step lies in the previous chunk.
fn stream_accuracy(carry: bool) -> f64 {
    use nn_layers::layers::RecurrentState;
    use nn_layers::loss::{CrossEntropy, cross_entropy};
    const PATTERN: [usize; 6] = [0, 1, 0, 2, 0, 3];
    let (chunk, streams, chunks) = (4, 8, 400);
    let mut rng = TensorRng::new(21);
    let layer = Recurrent::lstm(RecurrentConfig::new(4, 16), &mut rng, &dev()).unwrap();
    let head = Linear::new(16, 4, &mut rng, &dev()).unwrap();
    let mut params = layer.parameters();
    params.extend(head.parameters());
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut opt = Adam::new(params, AdamConfig::adam(1e-2));
    let symbol = |g: usize, b: usize| PATTERN[(g + 3 * b) % PATTERN.len()];
    let mut state: Option<RecurrentState> = None;
    let (mut correct, mut counted) = (0, 0);
    for c in 0..chunks {
        let mut x = vec![0.0f32; chunk * streams * 4];
        let mut y = vec![0i64; chunk * streams];
        for t in 0..chunk {
            for b in 0..streams {
                let g = c * chunk + t;
                x[(t * streams + b) * 4 + symbol(g, b)] = 1.0;
                y[t * streams + b] = symbol(g + 1, b) as i64;
            }
        }
        let x = Var::constant(Tensor::from_vec(x, [chunk, streams, 4], &dev()).unwrap());
        let y = Tensor::from_vec(y, [chunk * streams], &dev()).unwrap();
        opt.zero_grad();
        let (out, last) = layer.forward_with(&x, None, if carry { state.as_ref() } else { None }).unwrap();
        let logits = head.forward(&out.reshape([chunk * streams, 16]).unwrap()).unwrap();
        let loss = cross_entropy(&logits, &y, CrossEntropy::default()).unwrap();
        loss.backward().unwrap();
        clip_grad_norm(&leaves, 1.0).unwrap();
        opt.step().unwrap();
        // The next chunk starts from this state, cut off from this chunk's graph.
        state = Some(last.detach());
        if c >= chunks - 50 {
            let predicted = logits.value().argmax(-1, false).to_vec::<i64>().unwrap();
            correct += predicted.iter().zip(y.to_vec::<i64>().unwrap()).filter(|(p, g)| **p == *g).count();
            counted += predicted.len();
        }
    }
    correct as f64 / counted as f64
}

#[test]
fn truncated_bptt_carries_state_across_chunks() {
    let (carried, reset) = (stream_accuracy(true), stream_accuracy(false));
    println!("next-symbol accuracy: state carried across chunks {carried:.3}, restarted each chunk {reset:.3}");
    assert!(carried > 0.97, "carried {carried}");
    assert!(reset < 0.92, "restarted {reset}");
}
