//! Timings of the transformer for `cargo xtask bench --only mt`, printed as the peers print
//! them (CSV: section,impl,variant,threads,case,unit,median,p25,p75,min,max,n).
//!
//! ```text
//! mt_bench step [steps] [warmup]   one training step of TransformerConfig::small(8000) on 32
//!                                  pairs of 20 source and 20 target positions (lengths 20..16),
//!                                  by the default recipe: ms/step. The peer is
//!                                  `xtask/peers/mt_transformer_jax.py step`.
//! mt_bench decode [reps]           greedy decoding of 8 sources (20 positions) to 50 output
//!                                  tokens, with the key-value cache and by recomputation: ms
//!                                  per batch of 8 for each (unit `ms/batch`).
//! mt_bench search [reps]           the library's `greedy` and `beam_search` (width 5, cache on)
//!                                  on the same 8 sources, every output exactly 50 tokens long
//!                                  (the end-of-sentence id is one the model never emits, so
//!                                  no hypothesis stops early): ms per batch of 8 (`ms/batch`).
//! ```
//!
//! Threads: rayon's global pool, so `RAYON_NUM_THREADS` (the xtask sets it and pins one thread
//! with taskset). The allocator is the one the `tessera` binary runs with.

use std::sync::Arc;
use std::time::Instant;

use backend_cpu::CpuDevice;
use tensor_core::{Device, Tensor, TensorRng};
use translate::decode::{DecodeOptions, beam_search, greedy};
use translate::transformer::{TransformerConfig, TransformerRecipe, TransformerSeq2Seq, TransformerTrainer};
use translate::{Seq2Seq, SourceBatch, TargetBatch};

#[global_allocator]
static ALLOCATOR: backend_cpu::HugePageAllocator = backend_cpu::HugePageAllocator;

const VOCAB: usize = 8000;
const BATCH: usize = 32;
const LENGTH: usize = 20;
const DECODE_ROWS: usize = 8;
const DECODE_STEPS: usize = 50;

/// `rows` of random ids in `3..VOCAB`, row `r` with `lengths[r]` of them, padded with 0.
fn padded(lengths: &[usize], width: usize, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Tensor {
    let draws = rng.integers([lengths.len() * width], (VOCAB - 3) as u64, device).unwrap().to_vec::<i64>().unwrap();
    let ids: Vec<i64> =
        draws.iter().enumerate().map(|(i, &v)| if i % width < lengths[i / width] { 3 + v } else { 0 }).collect();
    Tensor::from_vec(ids, [lengths.len(), width], device).unwrap()
}

/// Prints one CSV row of `times` (milliseconds).
fn report(case: &str, unit: &str, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    let q = |f: f64| times[((times.len() - 1) as f64 * f).round() as usize];
    let threads = rayon_threads();
    println!(
        "train,tessera-cpu,f32,{threads},{case},{unit},{:.3},{:.3},{:.3},{:.3},{:.3},{}",
        q(0.5),
        q(0.25),
        q(0.75),
        times[0],
        times[times.len() - 1],
        times.len()
    );
}

fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn time_ms(f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e3
}

fn step(steps: usize, warmup: usize) {
    let device = CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = TransformerSeq2Seq::new(TransformerConfig::small(VOCAB), &mut rng, &device).unwrap();
    let lengths: Vec<usize> = (0..BATCH).map(|i| LENGTH - i % 5).collect();
    let source = SourceBatch { ids: padded(&lengths, LENGTH, &mut rng, &device), lengths: lengths.clone() };
    // Targets of n - 1 tokens: `<s> y` in, `y </s>` out, n positions each.
    let output = padded(&lengths, LENGTH, &mut rng, &device);
    let target = TargetBatch { input: output.clone(), output, lengths };
    let mut trainer = TransformerTrainer::new(&model, TransformerRecipe::default());
    let mut run = || {
        trainer.step(&source, &target).unwrap();
    };
    (0..warmup).for_each(|_| run());
    let times = (0..steps).map(|_| time_ms(&mut run)).collect();
    report(&format!("mt_transformer_l3_w256_h4_ff1024_v{VOCAB}_b{BATCH}_t{LENGTH}_step"), "ms/step", times);
}

fn decode(reps: usize) {
    let device = CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = TransformerSeq2Seq::new(TransformerConfig::small(VOCAB), &mut rng, &device).unwrap();
    let lengths = vec![LENGTH; DECODE_ROWS];
    let source = SourceBatch { ids: padded(&lengths, LENGTH, &mut rng, &device), lengths };
    for cached in [true, false] {
        let mut run = || {
            let mut state = model.encode(&source).unwrap();
            let mut previous = vec![1u32; DECODE_ROWS];
            for _ in 0..DECODE_STEPS {
                let log_probs = if cached {
                    model.step(&mut state, &previous).unwrap()
                } else {
                    model.step_recompute(&mut state, &previous).unwrap()
                };
                let best = log_probs.argmax(-1, false).to_vec::<i64>().unwrap();
                previous = best.into_iter().map(|v| v as u32).collect();
            }
        };
        run();
        let times = (0..reps).map(|_| time_ms(&mut run)).collect();
        let how = if cached { "cache" } else { "recompute" };
        report(&format!("mt_decode_{how}_b{DECODE_ROWS}_s{LENGTH}_out{DECODE_STEPS}"), "ms/batch", times);
    }
}

fn search(reps: usize) {
    let device = CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = TransformerSeq2Seq::new(TransformerConfig::small(VOCAB), &mut rng, &device).unwrap();
    let lengths = vec![LENGTH; DECODE_ROWS];
    let source = SourceBatch { ids: padded(&lengths, LENGTH, &mut rng, &device), lengths };
    // Outputs capped at 0·|source| + 50 tokens; `VOCAB` is no token, so nothing ends sooner.
    let (bos, never) = (1, VOCAB as u32);
    for beam in [1, 5] {
        let options = DecodeOptions { beam, max_len_a: 0.0, max_len_b: DECODE_STEPS, ..DecodeOptions::default() };
        let mut run = || {
            let lengths: Vec<usize> = if beam == 1 {
                greedy(&model, &source, bos, never, &options).unwrap().iter().map(Vec::len).collect()
            } else {
                beam_search(&model, &source, bos, never, &options).unwrap().iter().map(|h| h[0].tokens.len()).collect()
            };
            assert!(lengths.iter().all(|&l| l == DECODE_STEPS), "outputs of {lengths:?} tokens, not {DECODE_STEPS}");
        };
        run();
        let times = (0..reps).map(|_| time_ms(&mut run)).collect();
        let how = if beam == 1 { "greedy".to_string() } else { format!("beam{beam}") };
        report(&format!("mt_search_{how}_b{DECODE_ROWS}_s{LENGTH}_out{DECODE_STEPS}"), "ms/batch", times);
    }
}

fn main() {
    backend_cpu::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("decode") => decode(number(1, 5)),
        Some("search") => search(number(1, 3)),
        Some("step") | None => step(number(1, 10), number(2, 2)),
        Some(other) => {
            eprintln!(
                "mt_bench: unknown mode {other}; use `step [steps] [warmup]`, `decode [reps]` or `search [reps]`"
            );
            std::process::exit(2);
        }
    }
}
