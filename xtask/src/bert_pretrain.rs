//! `cargo xtask bert-pretrain [--steps N] [--minutes M] [-- extra tessera flags]`: masked-LM
//! pretraining of a small BERT-style encoder (4 layers, 4 heads, 256 wide, 64 positions, a
//! 10,000-word vocabulary) on the shipped Austen novels (`data/austen`, first 90 % of the
//! sentences train, the last 10 % — the end of *Persuasion* — are held out), through
//! `tessera lm train --arch bert` (release build), time-boxed by `--time-limit`. It prints the
//! held-out masked-token accuracy at every validation and beside the majority-token baseline at
//! the end. A long run: hold the benchmark lock, e.g.
//! `flock /work/bench.lock cargo xtask bert-pretrain`.
//!
//! `cargo xtask bert-pretrain --wordpiece [--vocab N]` is the subword recipe: a *cased*
//! WordPiece BERT (4 x 4 x 256, 128 positions, an 8,000-piece vocabulary learned from the
//! training text) on the whole shipped pretraining corpus (`nlp::corpus::build_pretraining_corpus`:
//! never VitaminC or the Penn Treebank; every 20th document held out), one paragraph per line,
//! written to `target/bert-wordpiece/{train,valid}.txt`; the model folder is
//! `target/bert-wordpiece/model/best`, the encoder `tessera ner train --encoder` and
//! `tessera qa train --encoder` fine-tune.

use nlp::corpus::build_pretraining_corpus;

use crate::lm_train_run::{lm_train, option, split_args};
use crate::workspace_root;

/// The recipe's `tessera lm train` flags.
const FLAGS: &str = "--arch bert --prose --layers 4 --heads 4 --width 256 --context 64 --vocab-size 10000 \
                     --min-count 2 --dropout 0 --batch 32 --lr 1e-3 --min-lr 1e-5 --warmup 100 --weight-decay 0.01 \
                     --clip 1 --eval-every 200 --eval-windows 500 --split 0.9 --seed 1";

/// The cased WordPiece recipe's flags (the text, vocabulary size and limits are added).
const WORDPIECE_FLAGS: &str = "--arch bert --cased --layers 4 --heads 4 --width 256 --context 128 --min-count 2 \
                               --dropout 0.1 --batch 32 --lr 1e-3 --min-lr 1e-5 --warmup 200 --weight-decay 0.01 \
                               --clip 1 --eval-every 250 --eval-windows 400 --seed 1";

/// Runs the recipe.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (ours, extra) = split_args(args);
    if ours.iter().any(|a| a == "--wordpiece") {
        return run_wordpiece(ours, extra);
    }
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

/// The cased WordPiece recipe on the shipped pretraining corpus.
fn run_wordpiece(ours: &[String], extra: &[String]) -> Result<(), String> {
    let steps = option(ours, "--steps", "4000")?;
    let vocab = option(ours, "--vocab", "8000")?;
    let minutes: f64 = option(ours, "--minutes", "20")?.parse().map_err(|e| format!("--minutes: {e}"))?;
    let root = workspace_root();
    let data = root.join("../shared/data");
    let dir = root.join("target/bert-wordpiece");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let corpus = build_pretraining_corpus(&data, 20).map_err(|e| e.to_string())?;
    let (train, valid) = (dir.join("train.txt"), dir.join("valid.txt"));
    for (path, text) in [(&train, &corpus.train), (&valid, &corpus.valid)] {
        let lines: String = text.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{}\n", l.trim())).collect();
        std::fs::write(path, lines).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "cased WordPiece BERT on the pretraining corpus ({} train, {} valid characters): {vocab} pieces, {steps} steps, at most {minutes} minutes",
        corpus.train.len(),
        corpus.valid.len()
    );
    let limit = format!("{}", minutes * 60.0);
    let valid = valid.display().to_string();
    let mut flags: Vec<&str> = WORDPIECE_FLAGS.split_whitespace().collect();
    flags.extend(["--wordpiece", &vocab, "--steps", &steps, "--time-limit", &limit, "--valid", &valid]);
    let run = lm_train(&flags, &train, "bert-wordpiece/model", extra, |line| line.starts_with("summary:"))?;
    println!(
        "\nWordPiece BERT pretraining: {}; wall time {:.1} min",
        run.line.as_deref().unwrap_or("no summary line").trim_start_matches("summary: "),
        run.minutes
    );
    Ok(())
}
