//! `cargo xtask bert-pretrain [--steps N] [--minutes M] [-- extra tessera flags]`: masked-LM
//! pretraining of a small BERT-style encoder (4 layers, 4 heads, 256 wide, 64 positions, a
//! 10,000-word vocabulary) on the shipped Austen novels (`data/austen`, first 90 % of the
//! sentences train, the last 10 % — the end of *Persuasion* — are held out), through
//! `tessera lm train --arch bert` (release build), time-boxed by `--time-limit`. It prints the
//! held-out masked-token accuracy at every validation and beside the majority-token baseline at
//! the end. A long run: hold the benchmark lock, e.g.
//! `flock /work/bench.lock cargo xtask bert-pretrain`.

use crate::lm_train_run::{lm_train, option, split_args};
use crate::workspace_root;

/// The recipe's `tessera lm train` flags.
const FLAGS: &str = "--arch bert --prose --layers 4 --heads 4 --width 256 --context 64 --vocab-size 10000 \
                     --min-count 2 --dropout 0 --batch 32 --lr 1e-3 --min-lr 1e-5 --warmup 100 --weight-decay 0.01 \
                     --clip 1 --eval-every 200 --eval-windows 500 --split 0.9 --seed 1";

/// Runs the recipe.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (ours, extra) = split_args(args);
    let steps = option(ours, "--steps", "1400")?;
    let minutes: f64 = option(ours, "--minutes", "13")?.parse().map_err(|e| format!("--minutes: {e}"))?;
    let text = workspace_root().join("data/austen/austen_novels.txt.gz");
    println!("BERT masked-LM pretraining on Austen: {steps} steps, at most {minutes} minutes of training");
    let limit = format!("{}", minutes * 60.0);
    let mut flags: Vec<&str> = FLAGS.split_whitespace().collect();
    flags.extend(["--steps", &steps, "--time-limit", &limit]);
    let run = lm_train(&flags, &text, "bert-pretrain", extra, |line| line.starts_with("summary:"))?;
    println!(
        "\nBERT pretraining: {}; wall time {:.1} min",
        run.line.as_deref().unwrap_or("no summary line").trim_start_matches("summary: "),
        run.minutes
    );
    Ok(())
}
