//! `cargo xtask lm-latency [--quick]`: per-token latency of text generation. Runs the criterion
//! bench `lm_generate` (Zaremba-small LSTM with 10,000 ids, and a Kneser-Ney 3-gram of Penn
//! Treebank; greedy and nucleus sampling) on 1 and 2 threads and prints milliseconds per token,
//! also written to `target/lm-latency.md`. A benchmark: hold the lock, e.g.
//! `flock /work/bench.lock cargo xtask lm-latency`.

use std::fmt::Write as _;

use crate::bench::{criterion_elements, criterion_nanos, show};
use crate::{cargo, workspace_root};

/// The bench's models and samplers: (criterion id, what it is).
const CASES: [(&str, &str); 4] = [
    ("lstm_2x200_v10k_greedy", "LSTM 2 x 200, 10k ids, greedy"),
    ("lstm_2x200_v10k_top_p", "LSTM 2 x 200, 10k ids, top-p 0.9, T 0.8, penalty 1.1"),
    ("kn3_ptb_greedy", "Kneser-Ney 3-gram of PTB, greedy"),
    ("kn3_ptb_top_p", "Kneser-Ney 3-gram of PTB, top-p 0.9, T 0.8, penalty 1.1"),
];

/// Thread counts the bench runs with.
const THREADS: [usize; 2] = [1, 2];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let root = workspace_root();
    for threads in THREADS {
        let mut bench = vec!["bench", "--package", "tessera-benches", "--bench", "lm_generate", "--"];
        if quick {
            bench.push("--quick");
        }
        cargo(&bench, &[("TESSERA_BENCH_THREADS", threads.to_string())])?;
    }
    let mut report = String::from("## Text generation, milliseconds per token (criterion median)\n\n");
    let _ = writeln!(report, "| model and sampler | 1 thread | 2 threads |\n|---|---|---|");
    for (id, about) in CASES {
        let per_token: Vec<String> = THREADS
            .iter()
            .map(|threads| {
                let group = format!("cpu_lm_generate_t{threads}");
                let nanos = criterion_nanos(&root, &group, id);
                let tokens = criterion_elements(&root, &group, id);
                show(nanos.zip(tokens).map(|(ns, n)| ns / n / 1e6), 3)
            })
            .collect();
        let _ = writeln!(report, "| {about} | {} |", per_token.join(" | "));
    }
    println!("\n{report}");
    let path = root.join("target/lm-latency.md");
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("report written to {}", path.display());
    Ok(())
}
