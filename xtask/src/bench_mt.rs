//! `cargo xtask bench --only mt`: the machine-translation transformer beside its JAX peer.
//!
//! Two tables. The training step of `TransformerConfig::small(8000)` on one batch of 32 pairs
//! of 20 + 20 positions (`translate`'s `mt_bench step` example) against
//! `xtask/peers/mt_transformer_jax.py step` on the same shape and recipe, in paired rounds on 1
//! and 2 threads, alternating which side goes first (see `bench_peers` for why); and greedy
//! decoding of 8 sources to 50 output tokens with the key-value cache and by recomputation
//! (`mt_bench decode`, Tessera only), whose ratio is the cache's speed-up; and the library's
//! greedy and beam-5 search (cache on) on those sources with every output 50 tokens long
//! (`mt_bench search`), as sentences/s.
//!
//! Both programs print the peers' CSV rows; one thread is pinned to core 0 with taskset on both
//! sides. The peer runs in `target/mt-venv` (jax and sacrebleu, made on first use).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::bench::{show, venv_python};
use crate::bench_peers::{THREADS, median};
use crate::cargo;

/// The training step's case name, the same on both sides.
const STEP_CASE: &str = "mt_transformer_l3_w256_h4_ff1024_v8000_b32_t20_step";
const CACHE_CASE: &str = "mt_decode_cache_b8_s20_out50";
const RECOMPUTE_CASE: &str = "mt_decode_recompute_b8_s20_out50";
const GREEDY_CASE: &str = "mt_search_greedy_b8_s20_out50";
const BEAM_CASE: &str = "mt_search_beam5_b8_s20_out50";
/// Sentences per decoded batch.
const DECODE_ROWS: f64 = 8.0;

/// Rows (case, value) a program printed with unit `unit`.
type Rows = Result<Vec<(String, f64)>, String>;

/// Runs `program args` on `threads` threads (pinned to core 0 for one) and keeps its CSV rows
/// of unit `unit`.
fn rows(program: &Path, args: &[&str], threads: usize, unit: &str) -> Rows {
    let mut command = if threads == 1 && which("taskset") {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let output = command
        .args(args)
        .env("THREADS", threads.to_string())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .env("XLA_FLAGS", format!("--xla_cpu_multi_thread_eigen={}", threads > 1))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{} failed: {}", program.display(), stderr.lines().last().unwrap_or("")));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            (cols.len() > 6 && cols[5] == unit).then(|| Some((cols[4].to_string(), cols[6].parse().ok()?)))?
        })
        .collect())
}

fn which(program: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success())
}

fn value(rows: &Rows, case: &str) -> Option<f64> {
    rows.as_ref().ok()?.iter().find(|(c, _)| c == case).map(|(_, v)| *v)
}

/// Runs the rounds and returns the two tables.
pub(crate) fn report(root: &Path, quick: bool, rounds: usize) -> Result<String, String> {
    cargo(&["build", "--release", "--package", "translate", "--example", "mt_bench"], &[])?;
    let ours = root.join("target/release/examples/mt_bench");
    let peer = root.join("xtask/peers/mt_transformer_jax.py");
    let python = venv_python(root, "mt-venv", "jax, sacrebleu", &["jax", "sacrebleu"]);
    let (steps, warmup, reps) = if quick { ("5", "1", "2") } else { ("20", "3", "5") };
    // (threads, tessera ms, jax ms) per round.
    let mut pairs: Vec<(usize, f64, f64)> = Vec::new();
    let mut missing = None;
    for round in 0..rounds {
        for threads in THREADS {
            let run_peer = || match &python {
                Ok(python) => rows(python, &[&peer.to_string_lossy(), "step", steps, warmup], threads, "ms/step"),
                Err(why) => Err(why.clone()),
            };
            let run_ours = || rows(&ours, &["step", steps, warmup], threads, "ms/step");
            let (tessera, jax) = if round % 2 == 0 {
                let t = run_ours();
                (t, run_peer())
            } else {
                let j = run_peer();
                (run_ours(), j)
            };
            let tessera = value(&Ok(tessera?), STEP_CASE).ok_or("mt_bench printed no step time")?;
            let theirs = value(&jax, STEP_CASE);
            if theirs.is_none() {
                missing = Some(jax.err().unwrap_or_else(|| "the peer printed no step time".into()));
            }
            // Without the peer, Tessera's time is still reported (the ratio is not).
            pairs.push((threads, tessera, theirs.unwrap_or(f64::NAN)));
        }
    }
    let mut out = format!(
        "## Machine translation: transformer training step, backend-cpu vs JAX (XLA, jit) (ms/step, medians of \
         {rounds} paired rounds; ratio > 1 means Tessera is faster)\n\n"
    );
    if let Some(why) = &missing {
        let _ = writeln!(out, "peer unavailable: {why}\n");
    }
    out.push_str(
        "| threads | workload | tessera | jax | jax / tessera | per-round range |\n|---|---|---|---|---|---|\n",
    );
    for threads in THREADS {
        let of = |pick: fn(&(usize, f64, f64)) -> f64| -> Vec<f64> {
            pairs.iter().filter(|p| p.0 == threads).map(pick).filter(|v| v.is_finite()).collect()
        };
        let ratios = of(|p| p.2 / p.1);
        let range = match (ratios.iter().copied().reduce(f64::min), ratios.iter().copied().reduce(f64::max)) {
            (Some(low), Some(high)) => format!("{low:.2}–{high:.2}"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "| {threads} | {STEP_CASE} | {} | {} | {} | {range} |",
            show(median(of(|p| p.1)), 1),
            show(median(of(|p| p.2)), 1),
            show(median(ratios), 2)
        );
    }
    out.push_str(
        "\n## Machine translation: greedy decoding of 8 sources (20 positions) to 50 tokens, key-value cache vs \
         recomputation, and the library's greedy and beam-5 search with the cache, every output 50 tokens \
         (backend-cpu)\n\n| threads | cache ms/batch | recompute ms/batch | cache speed-up | greedy sentences/s | \
         beam 5 sentences/s |\n|---|---|---|---|---|---|\n",
    );
    for threads in THREADS {
        let decoded = Ok(rows(&ours, &["decode", reps], threads, "ms/batch")?);
        let searched = Ok(rows(&ours, &["search", reps], threads, "ms/batch")?);
        let (cache, recompute) = (value(&decoded, CACHE_CASE), value(&decoded, RECOMPUTE_CASE));
        let per_second = |case: &str| value(&searched, case).map(|ms| DECODE_ROWS * 1e3 / ms);
        let _ = writeln!(
            out,
            "| {threads} | {} | {} | {} | {} | {} |",
            show(cache, 1),
            show(recompute, 1),
            show(cache.zip(recompute).map(|(c, r)| r / c), 2),
            show(per_second(GREEDY_CASE), 1),
            show(per_second(BEAM_CASE), 1)
        );
    }
    out.push('\n');
    Ok(out)
}
