//! Per-token time of continuous decoding with the key-value cache, what `tessera lm generate`
//! does: the two GPTs of the `gpt_decode` bench (nano: 4 layers, 4 heads, 128 wide; pretrain:
//! 256 wide, 4,096 ids; 1,088 learned positions) decode from position 40 to 1,080, every step
//! timed, and the median of the 32 steps around positions 64, 512 and 1,024 is reported (the
//! best of 5 rounds). Unlike the criterion bench, no step follows a fresh copy of the cache.
//!
//!     T=1 cargo run --release -p tessera-benches --example decode_loop

use std::time::Instant;

use nlp::lm::{Gpt, GptConfig, LmNetwork};
use tensor_core::TensorRng;

const POSITIONS: usize = 1088;
const AROUND: [usize; 3] = [64, 512, 1024];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let threads: usize = std::env::var("T").ok().and_then(|t| t.parse().ok()).unwrap_or(1);
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    let device = backend_cpu::CpuDevice::shared();
    let with_positions = |vocab_size| GptConfig { context: POSITIONS, ..GptConfig::nano_shakespeare(vocab_size) };
    let models = [("nano", with_positions(86)), ("pretrain", GptConfig { width: 256, ..with_positions(4096) })];
    for (name, config) in models {
        let mut rng = TensorRng::new(0);
        let model = Gpt::new(config, &mut rng, &device)?;
        let ids: Vec<u32> = (0..POSITIONS).map(|_| (rng.next_u64() % config.vocab_size as u64) as u32).collect();
        let mut best = [f64::MAX; 3];
        for _round in 0..5 {
            let (_, mut state) = model.decode_start(&ids[..40])?;
            let mut millis = vec![0.0; POSITIONS];
            for (position, &id) in ids.iter().enumerate().take(1080).skip(40) {
                let started = Instant::now();
                std::hint::black_box(model.decode_push(&mut state, id)?);
                millis[position] = started.elapsed().as_secs_f64() * 1e3;
            }
            for (slot, at) in AROUND.iter().enumerate() {
                let mut window = millis[at - 16..at + 16].to_vec();
                window.sort_by(f64::total_cmp);
                best[slot] = best[slot].min(window[window.len() / 2]);
            }
        }
        println!(
            "{name}, {threads} thread(s): ms per token at 64 / 512 / 1,024 positions: {:.3} / {:.3} / {:.3} (growth {:.2}x)",
            best[0],
            best[1],
            best[2],
            best[2] / best[0]
        );
    }
    Ok(())
}
