#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The time to generate one token with a GPT after a prefix of 64, 512 or 1,024 tokens, f32 on
//! backend-cpu, for two sizes with learned positions up to 1,088:
//! - `nano`: nanoGPT's Shakespeare model (4 layers, 4 heads, 128 wide, 86 ids);
//! - `pretrain`: the model `cargo xtask gpt-pretrain` trains (4 layers, 4 heads, 256 wide, 4,096
//!   BPE ids).
//!
//! Each is timed with the key-value cache (`decode_push` after the prefix and one more token: one
//! position through every layer, attending over the cached keys and values) and without it
//! (`decode_start` on the whole prefix plus the new token, what decoding costs when every step
//! recomputes the prefix). A cached step reads every weight once and the cache once: the weights
//! are fixed, the cache grows with the prefix, so cached time per token stays nearly flat where
//! the weights outweigh the cache; recomputing grows with the prefix.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use nlp::lm::{Gpt, GptConfig, LmNetwork};
use tensor_core::TensorRng;
use tessera_benches::init_threads;

const PREFIXES: [usize; 3] = [64, 512, 1024];
/// Positions of both models: the longest prefix, one more token, and room.
const POSITIONS: usize = 1088;

/// The two models: (name, config).
fn models() -> [(&'static str, GptConfig); 2] {
    let with_positions = |vocab_size| GptConfig { context: POSITIONS, ..GptConfig::nano_shakespeare(vocab_size) };
    [("nano", with_positions(86)), ("pretrain", GptConfig { width: 256, ..with_positions(4096) })]
}

fn gpt_decode(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut group = c.benchmark_group(format!("cpu/gpt_decode/t{threads}"));
    group.sample_size(10);
    for (name, config) in models() {
        let mut rng = TensorRng::new(0);
        let model = Gpt::new(config, &mut rng, &device).unwrap();
        let ids: Vec<u32> = (0..POSITIONS).map(|_| (rng.next_u64() % config.vocab_size as u64) as u32).collect();
        for prefix in PREFIXES {
            let (_, state) = model.decode_start(&ids[..prefix]).unwrap();
            group.bench_function(format!("{name}_cached_p{prefix}"), |bench| {
                // A clone shares the cached positions but no free room; its first step moves it
                // to buffers of its own (untimed), and the timed step then writes in place, as
                // every step of an uninterrupted decoding does.
                let fresh = || {
                    let mut state = state.clone();
                    model.decode_push(&mut state, ids[prefix]).unwrap();
                    state
                };
                // The state goes back out with the logits, so criterion frees its buffers
                // after the clock stops: freeing megabytes of cache is not part of a step.
                bench.iter_batched(
                    fresh,
                    |mut state| {
                        let logits = model.decode_push(&mut state, ids[prefix + 1]).unwrap();
                        (state, logits)
                    },
                    BatchSize::SmallInput,
                )
            });
            group.bench_function(format!("{name}_recompute_p{prefix}"), |bench| {
                bench.iter(|| model.decode_start(&ids[..=prefix]).unwrap().0)
            });
        }
    }
    group.finish();
}

criterion_group!(benches, gpt_decode);
criterion_main!(benches);
