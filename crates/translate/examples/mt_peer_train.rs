//! Trains `TransformerConfig::small` by the default recipe on the id files that the JAX peer
//! reads (`xtask/peers/mt_transformer_jax.py train DIR`), with the same batching rule, then
//! greedy-decodes the test sources and writes the detokenised hypotheses to `DIR/tessera.hyp`
//! (score them with `sacrebleu DIR/test.ref -i DIR/tessera.hyp -m bleu chrf`).
//!
//! ```text
//! cargo run --release -p translate --example mt_peer_train -- DIR [steps] [max_tokens] [warmup]
//! ```
//!
//! The directory's format is the peer's: `meta.json` (`vocab`, `pad`, `bos`, `eos`),
//! `{train,test}.{src,tgt}.ids` (space-separated ids, one sentence per line) and `vocab.hex`
//! (each token's bytes in hex). Batches: pairs sorted by (source, target) length, cut into runs
//! whose padded size stays within `max_tokens`, shuffled per epoch, padded to multiples of 8.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use backend_cpu::CpuDevice;
use tensor_core::{Device, Tensor, TensorRng};
use translate::transformer::{TransformerConfig, TransformerRecipe, TransformerSeq2Seq, TransformerTrainer};
use translate::{Seq2Seq, SourceBatch, TargetBatch};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The special ids and the vocabulary size from `meta.json` (a flat object of numbers).
struct Meta {
    vocab: usize,
    pad: u32,
    bos: u32,
    eos: u32,
}

fn read_meta(path: &Path) -> Result<Meta> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let number = |key: &str| -> Result<usize> {
        let after = text.split(&format!("\"{key}\"")).nth(1).ok_or(format!("{}: no `{key}`", path.display()))?;
        let digits: String = after.trim_start_matches([' ', ':']).chars().take_while(char::is_ascii_digit).collect();
        Ok(digits.parse().map_err(|_| format!("{}: `{key}` is not a whole number", path.display()))?)
    };
    Ok(Meta {
        vocab: number("vocab")?,
        pad: number("pad")? as u32,
        bos: number("bos")? as u32,
        eos: number("eos")? as u32,
    })
}

fn read_ids(path: &Path, vocab: usize) -> Result<Vec<Vec<u32>>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            line.split_whitespace()
                .map(|id| match id.parse::<u32>() {
                    Ok(id) if (id as usize) < vocab => Ok(id),
                    _ => Err(format!("{}:{}: `{id}` is no id below {vocab}", path.display(), i + 1).into()),
                })
                .collect()
        })
        .collect()
}

fn read_pieces(path: &Path) -> Result<Vec<Vec<u8>>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let line = line.trim();
            (0..line.len() / 2)
                .map(|j| u8::from_str_radix(line.get(2 * j..2 * j + 2).unwrap_or(""), 16))
                .collect::<std::result::Result<Vec<u8>, _>>()
                .map_err(|_| format!("{}:{}: not hex", path.display(), i + 1).into())
        })
        .collect()
}

/// `rows` right-padded with `pad` to `width`, as an i64 tensor.
fn padded(rows: &[Vec<u32>], width: usize, pad: u32, device: &Arc<dyn Device>) -> Result<Tensor> {
    let flat: Vec<i64> =
        rows.iter().flat_map(|r| r.iter().copied().chain(std::iter::repeat(pad)).take(width).map(i64::from)).collect();
    Ok(Tensor::from_vec(flat, [rows.len(), width], device)?)
}

fn round_up(n: usize) -> usize {
    n.div_ceil(8) * 8
}

fn batch(
    pairs: &[(&Vec<u32>, &Vec<u32>)],
    meta: &Meta,
    device: &Arc<dyn Device>,
) -> Result<(SourceBatch, TargetBatch)> {
    let s = round_up(pairs.iter().map(|p| p.0.len()).max().unwrap_or(1));
    let t = round_up(pairs.iter().map(|p| p.1.len() + 1).max().unwrap_or(1));
    let sources: Vec<Vec<u32>> = pairs.iter().map(|p| p.0.clone()).collect();
    let inputs: Vec<Vec<u32>> =
        pairs.iter().map(|p| std::iter::once(meta.bos).chain(p.1.iter().copied()).collect()).collect();
    let outputs: Vec<Vec<u32>> = pairs.iter().map(|p| p.1.iter().copied().chain([meta.eos]).collect()).collect();
    Ok((
        SourceBatch { ids: padded(&sources, s, meta.pad, device)?, lengths: sources.iter().map(Vec::len).collect() },
        TargetBatch {
            input: padded(&inputs, t, meta.pad, device)?,
            output: padded(&outputs, t, meta.pad, device)?,
            lengths: inputs.iter().map(Vec::len).collect(),
        },
    ))
}

/// Runs of pair indices by the peer's rule, shuffled.
fn token_batches(
    sources: &[Vec<u32>],
    targets: &[Vec<u32>],
    max_tokens: usize,
    rng: &mut TensorRng,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| (sources[i].len(), targets[i].len()));
    let (mut runs, mut run, mut longest) = (Vec::new(), Vec::new(), 0);
    for i in order {
        let size = sources[i].len().max(targets[i].len() + 1);
        if !run.is_empty() && longest.max(size) * (run.len() + 1) > max_tokens {
            runs.push(std::mem::take(&mut run));
            longest = 0;
        }
        run.push(i);
        longest = longest.max(size);
    }
    runs.extend((!run.is_empty()).then_some(run));
    for i in (1..runs.len()).rev() {
        runs.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    runs
}

fn greedy(
    model: &TransformerSeq2Seq,
    sources: &[Vec<u32>],
    meta: &Meta,
    device: &Arc<dyn Device>,
) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::with_capacity(sources.len());
    for chunk in sources.chunks(64) {
        let width = chunk.iter().map(Vec::len).max().unwrap_or(1);
        let source =
            SourceBatch { ids: padded(chunk, width, meta.pad, device)?, lengths: chunk.iter().map(Vec::len).collect() };
        let limit = model.max_target_positions().min(2 * width + 10);
        let mut state = model.encode(&source)?;
        let (mut previous, mut done) = (vec![meta.bos; chunk.len()], vec![false; chunk.len()]);
        let mut hyps = vec![Vec::new(); chunk.len()];
        for _ in 0..limit {
            let best = model.step(&mut state, &previous)?.argmax(-1, false).to_vec::<i64>()?;
            previous = best.into_iter().map(|v| v as u32).collect();
            for (r, &id) in previous.iter().enumerate() {
                done[r] |= id == meta.eos;
                if !done[r] {
                    hyps[r].push(id);
                }
            }
            if done.iter().all(|&d| d) {
                break;
            }
        }
        out.extend(hyps);
    }
    Ok(out)
}

fn main() -> Result<()> {
    backend_cpu::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(args.first().ok_or("usage: mt_peer_train DIR [steps] [max_tokens] [warmup]")?);
    let number = |i: usize, default: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (steps, max_tokens, warmup) = (number(1, 4000), number(2, 4096), number(3, 1000));
    let meta = read_meta(&dir.join("meta.json"))?;
    let (sources, targets) =
        (read_ids(&dir.join("train.src.ids"), meta.vocab)?, read_ids(&dir.join("train.tgt.ids"), meta.vocab)?);
    if sources.len() != targets.len() || sources.iter().any(Vec::is_empty) {
        return Err("train.src.ids and train.tgt.ids must have as many lines, no source empty".into());
    }
    let device = CpuDevice::shared();
    let model = TransformerSeq2Seq::new(TransformerConfig::small(meta.vocab), &mut TensorRng::new(1), &device)?;
    let mut trainer = TransformerTrainer::new(&model, TransformerRecipe { warmup, ..TransformerRecipe::default() });
    let mut rng = TensorRng::new(1);
    println!("{} training pairs, vocabulary {}; {steps} steps of <= {max_tokens} tokens", sources.len(), meta.vocab);
    let (start, mut step_ms) = (Instant::now(), Vec::new());
    'epochs: loop {
        for run in token_batches(&sources, &targets, max_tokens, &mut rng) {
            if trainer.steps() == steps {
                break 'epochs;
            }
            let pairs: Vec<(&Vec<u32>, &Vec<u32>)> = run.iter().map(|&i| (&sources[i], &targets[i])).collect();
            let (source, target) = batch(&pairs, &meta, &device)?;
            let began = Instant::now();
            let loss = trainer.step(&source, &target)?;
            step_ms.push(began.elapsed().as_secs_f64() * 1e3);
            if trainer.steps() % 250 == 0 || trainer.steps() == steps {
                println!("step {}: loss {loss:.4}, {:.1} s", trainer.steps(), start.elapsed().as_secs_f64());
            }
        }
    }
    let pieces = read_pieces(&dir.join("vocab.hex"))?;
    let hyps = greedy(&model, &read_ids(&dir.join("test.src.ids"), meta.vocab)?, &meta, &device)?;
    let text: Vec<String> = hyps
        .iter()
        .map(|ids| {
            let bytes: Vec<u8> =
                ids.iter().flat_map(|&id| pieces.get(id as usize).cloned().unwrap_or_default()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect();
    let out = dir.join("tessera.hyp");
    std::fs::write(&out, text.join("\n") + "\n").map_err(|e| format!("{}: {e}", out.display()))?;
    step_ms.sort_by(f64::total_cmp);
    let median = step_ms.get(step_ms.len() / 2).copied().unwrap_or(0.0);
    println!("median step {median:.1} ms; hypotheses in {} ({:.1} s)", out.display(), start.elapsed().as_secs_f64());
    Ok(())
}
