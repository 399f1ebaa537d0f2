#![allow(missing_docs)] // criterion_group! generates undocumented items

//! One training step of nanoGPT's CPU Shakespeare recipe on backend-cpu, f32: 4 layers, 4 heads,
//! 128 wide, context 64, batch 12, 86 characters, no biases, no dropout; forward, cross-entropy,
//! backward, gradient clipping at 1.0 and an AdamW update (betas 0.9/0.99, weight decay 0.1 on
//! matrices). The peer is `python gpt_jax.py step` (`gpt_char_l4_h4_c128_t64_b12_step`).

use autograd::{Var, clip_grad_norm};
use criterion::{Criterion, criterion_group, criterion_main};
use nlp::lm::{Gpt, GptConfig};
use nn_layers::ModuleExt;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use tensor_core::TensorRng;
use tessera_benches::init_threads;

fn gpt_step(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = Gpt::new(GptConfig::nano_shakespeare(86), &mut rng, &device).unwrap();
    let params = model.parameters();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let config = AdamConfig { betas: (0.9, 0.99), weight_decay: 0.1, ..AdamConfig::adamw(1e-3) };
    let mut adam = Adam::new(params, config).without_decay(|_, p| p.value().rank() < 2);
    let ids = rng.integers([12, 65], 86, &device).unwrap();
    let (inputs, targets) = (ids.narrow(1, 0, 64).contiguous(), ids.narrow(1, 1, 64).contiguous().reshape([12 * 64]));
    let mut group = c.benchmark_group(format!("cpu/gpt/t{threads}"));
    group.sample_size(20);
    group.bench_function("char_l4_h4_c128_t64_b12_step", |bench| {
        bench.iter(|| {
            adam.zero_grad();
            let logits = model.forward_ids(&inputs, None, None).unwrap().reshape([12 * 64, 86]).unwrap();
            let loss = cross_entropy(&logits, &targets, CrossEntropy::default()).unwrap();
            loss.backward().unwrap();
            clip_grad_norm(&leaves, 1.0).unwrap();
            adam.step().unwrap();
            leaves[0].value().sync().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, gpt_step);
criterion_main!(benches);
