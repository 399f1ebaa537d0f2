#![allow(missing_docs)] // criterion_group! generates undocumented items

//! One training step of Zaremba et al.'s "small" PTB language model on backend-cpu (10,000-word
//! vocabulary, embedding 200, 2 x 200 LSTM, untied linear head, no dropout): forward over a
//! window of 20 steps x 20 streams from a carried state, cross-entropy summed over time,
//! backward, gradient-norm clipping at 5 and an SGD update — the trainer's own
//! [`nlp::lm::train::Stepper`], so the bench times what `tessera lm train` runs. The JAX peer
//! is `xtask/peers/lm_jax.py` (`lm_ptb_small_b20_t20_step`).

use autograd::Var;
use criterion::{Criterion, criterion_group, criterion_main};
use nlp::lm::train::{Stepper, TrainConfig};
use nlp::lm::{RnnLm, RnnLmConfig};
use nn_layers::ModuleExt;
use nn_layers::optim::{Sgd, SgdConfig};
use tensor_core::{Device, Tensor, TensorRng};
use tessera_benches::init_threads;

const VOCAB: usize = 10_000;
const STEPS: usize = 20;
const STREAMS: usize = 20;

fn random_ids(rng: &mut TensorRng, len: usize) -> Vec<i64> {
    (0..len).map(|_| (rng.next_u64() % VOCAB as u64) as i64).collect()
}

fn lm_step(c: &mut Criterion) {
    let threads = init_threads();
    let device: std::sync::Arc<dyn Device> = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = RnnLm::new(RnnLmConfig::zaremba_small(VOCAB), &mut rng, &device).unwrap();
    let params = model.parameters();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut optimizer = Sgd::new(params, SgdConfig::new(1.0));
    let config = TrainConfig::zaremba_small();
    let inputs = Tensor::from_vec(random_ids(&mut rng, STEPS * STREAMS), [STEPS, STREAMS], &device).unwrap();
    let targets = Tensor::from_vec(random_ids(&mut rng, STEPS * STREAMS), [STEPS * STREAMS], &device).unwrap();
    let stepper = Stepper { model: &model, leaves: &leaves, config: &config };
    let mut carried = Some(model.zero_state(STREAMS, &device).unwrap());
    let mut step = 0;
    let mut group = c.benchmark_group(format!("cpu/lm_step/t{threads}"));
    group.sample_size(20);
    group.bench_function("ptb_small_b20_t20", |bench| {
        bench.iter(|| {
            let (nll, next) = stepper.step(&mut optimizer, &inputs, &targets, carried.as_ref(), step).unwrap();
            assert!(nll.is_finite());
            carried = Some(next);
            step += 1;
            // The update has run on the host; the first parameter's value is current.
            leaves[0].value().sync().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, lm_step);
criterion_main!(benches);
