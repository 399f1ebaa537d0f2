//! `cargo xtask bert-pretrain [--steps N] [--minutes M] [-- extra tessera flags]`: masked-LM
//! pretraining of a small BERT-style encoder (4 layers, 4 heads, 256 wide, 64 positions, a
//! 10,000-word vocabulary) on the shipped Austen novels (`data/austen`, first 90 % of the
//! sentences train, the last 10 % — the end of *Persuasion* — are held out), through
//! `tessera lm train --arch bert` (release build), time-boxed by `--time-limit`. It prints the
//! held-out masked-token accuracy at every validation and beside the majority-token baseline at
//! the end. A long run: hold the benchmark lock, e.g.
//! `flock /work/bench.lock cargo xtask bert-pretrain`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{cargo, workspace_root};

/// The recipe's `tessera lm train` flags.
const FLAGS: &str = "--arch bert --prose --layers 4 --heads 4 --width 256 --context 64 --vocab-size 10000 \
                     --min-count 2 --dropout 0 --batch 32 --lr 1e-3 --min-lr 1e-5 --warmup 100 --weight-decay 0.01 \
                     --clip 1 --eval-every 200 --eval-windows 500 --split 0.9 --seed 1";

/// The value after `flag` in `args`, or `default`.
fn option(args: &[String], flag: &str, default: &str) -> Result<String, String> {
    match args.iter().position(|a| a == flag) {
        Some(i) => args.get(i + 1).cloned().ok_or_else(|| format!("{flag} needs a number")),
        None => Ok(default.to_string()),
    }
}

/// Runs the recipe.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (ours, extra) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &[][..]),
    };
    let steps = option(ours, "--steps", "1400")?;
    let minutes: f64 = option(ours, "--minutes", "13")?.parse().map_err(|e| format!("--minutes: {e}"))?;
    let root = workspace_root();
    let text = root.join("data/austen/austen_novels.txt.gz");
    cargo(&["build", "--release", "-p", "tessera"], &[])?;
    let out = root.join("target/bert-pretrain");
    let mut command = Command::new(root.join("target/release/tessera"));
    command
        .args(["lm", "train"])
        .args(FLAGS.split_whitespace())
        .args(["--steps", &steps, "--time-limit", &format!("{}", minutes * 60.0), "--train"])
        .arg(&text)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .current_dir(&root)
        .stdout(Stdio::piped());
    println!("BERT masked-LM pretraining on Austen: {steps} steps, at most {minutes} minutes of training");
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("cannot run tessera: {e}"))?;
    let mut summary = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if line.starts_with("summary:") {
                summary = Some(line);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("tessera did not finish: {e}"))?;
    if !status.success() {
        return Err(format!("`tessera lm train --arch bert` failed ({status})"));
    }
    println!(
        "\nBERT pretraining: {}; wall time {:.1} min",
        summary.as_deref().unwrap_or("no summary line").trim_start_matches("summary: "),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
