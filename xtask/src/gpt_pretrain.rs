//! `cargo xtask gpt-pretrain [--steps N] [--vocab N] [-- extra tessera flags]`: pretrains a
//! BPE-level GPT on the whole shipped unlabeled corpus (`nlp::corpus::PRETRAINING_SOURCES`:
//! Shakespeare, Austen, Moby Dick, the State of the Union, the stripped Wikipedia sample and
//! the Brown text; never VitaminC or the Penn Treebank). It writes the corpus to
//! `target/gpt-pretrain/{train,valid}.txt` (every 20th document of each source held out),
//! learns a byte-level BPE tokenizer on the training text, and runs `tessera lm train --arch
//! gpt --bpe` (4 layers, 4 heads, 256 wide, context 128; AdamW with warm-up and cosine decay),
//! printing the held-out loss as it goes and the wall time. A long run: hold the benchmark
//! lock, e.g. `flock /work/bench.lock cargo xtask gpt-pretrain`.

use std::process::Command;

use nlp::corpus::build_pretraining_corpus;

use crate::lm_train_run::{lm_train, option, split_args};
use crate::workspace_root;

/// The recipe's model and optimiser flags.
const FLAGS: &str = "--arch gpt --layers 4 --heads 4 --width 256 --context 128 --positions learned --dropout 0.1 \
                     --batch 16 --optimizer adamw --lr 6e-4 --min-lr 6e-5 --warmup 200 --weight-decay 0.1 \
                     --beta2 0.99 --clip 1 --eval-every 250 --eval-windows 100 --seed 7";

/// Runs the recipe.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (ours, extra) = split_args(args);
    let steps = option(ours, "--steps", "3000")?;
    let vocab = option(ours, "--vocab", "4096")?;
    let root = workspace_root();
    let data = root.join("../shared/data");
    let dir = root.join("target/gpt-pretrain");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let corpus = build_pretraining_corpus(&data, 20).map_err(|e| e.to_string())?;
    println!("pretraining corpus ({}):", data.display());
    println!(
        "  {:<12} {:>14} {:>14} {:>14} {:>14}",
        "source", "train docs", "valid docs", "train chars", "valid chars"
    );
    for s in &corpus.sources {
        println!(
            "  {:<12} {:>14} {:>14} {:>14} {:>14}",
            s.name, s.documents[0], s.documents[1], s.chars[0], s.chars[1]
        );
    }
    let (train, valid) = (dir.join("train.txt"), dir.join("valid.txt"));
    for (path, text) in [(&train, &corpus.train), (&valid, &corpus.valid)] {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    crate::cargo(&["build", "--release", "-p", "tessera"], &[])?;
    let tokenizer = dir.join("tokenizer.json");
    let status = Command::new(root.join("target/release/tessera"))
        .args(["tokenizer", "train", "--vocab-size", &vocab, "--output"])
        .arg(&tokenizer)
        .arg(&train)
        .status()
        .map_err(|e| format!("cannot run tessera: {e}"))?;
    if !status.success() {
        return Err(format!("`tessera tokenizer train` failed ({status})"));
    }
    let mut flags: Vec<String> = FLAGS.split_whitespace().map(String::from).collect();
    flags.extend(["--steps".into(), steps.clone(), "--bpe".into(), tokenizer.display().to_string()]);
    flags.extend(["--valid".into(), valid.display().to_string()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    println!("GPT pretraining on BPE ({vocab} tokens), {steps} steps");
    let run = lm_train(&flags, &train, "gpt-pretrain/model", extra, |line| line.trim_start().starts_with("step"))?;
    run.print_summary("GPT pretraining");
    Ok(())
}
