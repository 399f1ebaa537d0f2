#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The time to generate one token with a GPT (4 layers, 4 heads, 128 wide, 86 ids, learned
//! positions up to 1,088, f32 on backend-cpu) after a prefix of 64, 512 or 1,024 tokens: with the
//! key-value cache (`decode_push` after the prefix and one more token: one position through every layer, attending over the cached
//! keys and values) and without it (`decode_start` on the whole prefix plus the new token, what
//! decoding costs when every step recomputes the prefix). Cached time per token should stay
//! nearly flat as the prefix grows; recomputing grows with it.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use nlp::lm::{Gpt, GptConfig, LmNetwork};
use tensor_core::TensorRng;
use tessera_benches::init_threads;

const PREFIXES: [usize; 3] = [64, 512, 1024];

fn gpt_decode(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let config = GptConfig { context: 1088, ..GptConfig::nano_shakespeare(86) };
    let model = Gpt::new(config, &mut rng, &device).unwrap();
    let ids: Vec<u32> = (0..1088).map(|_| (rng.next_u64() % 86) as u32).collect();
    let mut group = c.benchmark_group(format!("cpu/gpt_decode/t{threads}"));
    group.sample_size(10);
    for prefix in PREFIXES {
        let (_, state) = model.decode_start(&ids[..prefix]).unwrap();
        group.bench_function(format!("cached_p{prefix}"), |bench| {
            // A clone shares the cached positions but no free room; its first step moves it to
            // buffers of its own (untimed), and the timed step then writes in place, as every
            // step of an uninterrupted decoding does.
            let fresh = || {
                let mut state = state.clone();
                model.decode_push(&mut state, ids[prefix]).unwrap();
                state
            };
            bench.iter_batched(
                fresh,
                |mut state| model.decode_push(&mut state, ids[prefix + 1]).unwrap(),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("recompute_p{prefix}"), |bench| {
            bench.iter(|| model.decode_start(&ids[..=prefix]).unwrap().0)
        });
    }
    group.finish();
}

criterion_group!(benches, gpt_decode);
criterion_main!(benches);
