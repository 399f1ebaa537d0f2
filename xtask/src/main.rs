//! Developer tasks, run as `cargo xtask <task>`:
//!
//! - `test`: every test of the workspace (unit, conformance, doc tests), optimised.
//! - `ci`: `cargo fmt --check`, `cargo clippy --all-targets -D warnings`, then `test`, both with
//!   the MPI features (`distributed/mpi`, `tessera/mpi`).
//! - `bench`: the criterion benches on 1 and 2 threads, beside the peers, as one report.
//! - `lm-ptb`: a recurrent language model recipe on Penn Treebank (valid/test perplexity, time).
//! - `lm-latency`: per-token latency of text generation (an LSTM and a Kneser-Ney 3-gram).
//! - `gpt-shakespeare`: nanoGPT's character-level Shakespeare recipe, beside `gpt_jax.py train`.
//! - `gpt-pretrain`: a BPE GPT pretrained on the whole shipped unlabeled corpus.
//! - `fuzz`: every reader of outside input under a coverage-guided mutation loop (stable Rust;
//!   `--seconds N` per target, `--target T` to pick); see `crates/fuzz-targets`.
//! - `glue`: the GLUE-style leaderboard (Tessera's baselines over seeds, scikit-learn's TF-IDF +
//!   logistic regression beside them), Markdown and HTML under `target/glue/`.
//! - `bert-pretrain`: masked-LM pretraining of a small BERT on the shipped Austen novels,
//!   time-boxed, with its held-out masked-token accuracy; `--wordpiece` pretrains a cased
//!   WordPiece BERT (128 positions) on the whole shipped pretraining corpus instead.
//! - `distributed`: all-reduce bandwidth against a copy, and 2-rank against 1-rank training
//!   throughput of the MLP, CNN and LSTM LM under `mpirun` (needs Open MPI).
//! - `mt-table`: the recurrent and the transformer translation models trained for the same CPU
//!   budget on the three shipped parallel sets, scored greedy and with beam 5 (BLEU, chrF).
//! - `transfer-sentiment`: few-label movie sentiment with word vectors pretrained on the shipped
//!   corpus and the task's unlabelled pool, against a TextCNN from scratch; `--shift`: the
//!   domain-shift table (movie labels, amazon/tweets/nyt tests) with DANN, CORAL, continued
//!   pretraining and the in-domain ceiling.

mod bench;
mod bench_gpu;
mod bench_mt;
mod bench_ner;
mod bench_ngram;
mod bench_peers;
mod bench_predict;
mod bench_qa;
mod bench_tpu;
mod bench_word2vec;
mod bench_word2vec_scaling;
mod bert_pretrain;
mod core_distance;
mod distributed;
mod fuzz;
mod glue;
mod gpt_pretrain;
mod gpt_shakespeare;
mod lm_latency;
mod lm_ptb;
mod lm_train_run;
mod mt_table;
mod transfer_sentiment;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    if let Some(code) = fuzz::as_wrapper() {
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("ci") => ci(),
        Some("bench") => bench::run(&args[1..]),
        Some("lm-ptb") => lm_ptb::run(&args[1..]),
        Some("lm-latency") => lm_latency::run(&args[1..]),
        Some("gpt-shakespeare") => gpt_shakespeare::run(&args[1..]),
        Some("gpt-pretrain") => gpt_pretrain::run(&args[1..]),
        Some("bert-pretrain") => bert_pretrain::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("glue") => glue::run(&args[1..]),
        Some("distributed") => distributed::run(&args[1..]),
        Some("mt-table") => mt_table::run(&args[1..]),
        Some("transfer-sentiment") => transfer_sentiment::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <test|ci|bench|lm-ptb|lm-latency|gpt-shakespeare|gpt-pretrain|bert-pretrain|fuzz|glue|distributed|mt-table|transfer-sentiment> [args]\n  test [cargo test args]\n  ci\n  bench [--quick] [--rounds N] [--only kernels|training|gpu|tpu|ngram|word2vec|predict|mt|ner|qa]\n  lm-ptb --config small|medium|tied [--epochs N] [-- tessera flags]\n  lm-latency [--quick]\n  gpt-shakespeare [--steps N] [-- tessera flags]\n  gpt-pretrain [--steps N] [--vocab N] [-- tessera flags]\n  bert-pretrain [--wordpiece [--vocab N]] [--steps N] [--minutes M] [-- tessera flags]\n  fuzz [--target T]... [--seconds N] [--plain]\n  glue [--models a,b] [--seeds N] [--quick]\n  distributed [--quick]\n  mt-table [--cpu-minutes M] [--sets a,b] [--valid-limit N] [--test-limit N] [--out DIR]\n  transfer-sentiment [--shift] [--seeds N] [--labels 100,300,1000,all] [--shift-labels N] [--pool-copies N] [--out DIR]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo` with `args` from the workspace root; an error names the failed command.
pub(crate) fn cargo(args: &[&str], envs: &[(&str, String)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(workspace_root());
    for (key, value) in envs {
        command.env(key, value);
    }
    let status = command.status().map_err(|e| format!("cannot start cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`cargo {}` failed ({status})", args.join(" "))) }
}

/// The workspace root (the parent of this crate's folder).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// The features CI builds on top of the defaults: MPI for the distributed crate and the CLI
/// (`.ci/run` installs Open MPI), so their MPI tests run instead of skipping.
const CI_FEATURES: &str = "distributed/mpi,tessera/mpi";

fn test(extra: &[String]) -> Result<(), String> {
    let mut args = vec!["test", "--workspace"];
    args.extend(extra.iter().map(String::as_str));
    cargo(&args, &[])
}

/// fmt, clippy and the tests, in that order, stopping at the first failure, each stage's time
/// printed (CI's budget is 30 minutes cold on two cores). `.ci/run` sets `CI=true`, under which
/// a test that cannot run fails instead of printing `SKIPPED <test>: needs ...`.
fn ci() -> Result<(), String> {
    let start = std::time::Instant::now();
    let result = timed("fmt", || cargo(&["fmt", "--all", "--", "--check"], &[]))
        .and_then(|()| {
            timed("clippy", || {
                cargo(
                    &["clippy", "--workspace", "--all-targets", "--features", CI_FEATURES, "--", "-D", "warnings"],
                    &[],
                )
            })
        })
        .and_then(|()| timed("tests", || test(&["--features".into(), CI_FEATURES.into()])));
    eprintln!("xtask ci: {:.0} s in all", start.elapsed().as_secs_f64());
    result
}

/// Runs one stage of `ci` and prints how long it took.
fn timed(stage: &str, run: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let start = std::time::Instant::now();
    let result = run();
    eprintln!("xtask ci: {stage} took {:.0} s", start.elapsed().as_secs_f64());
    result
}
