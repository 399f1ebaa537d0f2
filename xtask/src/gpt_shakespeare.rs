//! `cargo xtask gpt-shakespeare [--steps N] [-- extra tessera flags]`: nanoGPT's CPU Shakespeare
//! recipe, the one `../shared/peers/gpt_jax.py train` runs (4 layers, 4 heads, 128 wide, context
//! 64, batch 12, no dropout, no biases, AdamW 1e-3 with betas 0.9/0.99 and weight decay 0.1 on
//! matrices, 100 warm-up steps then cosine to 1e-4, clip 1.0, 2,000 steps, characters of
//! `shakespeare_gut.txt.gz`, first 90 % train / last 10 % validation), through
//! `tessera lm train --arch gpt` (release build). It prints the validation loss every 250 steps,
//! as the JAX script does, and the wall time. A long run: hold the benchmark lock, e.g.
//! `flock /work/bench.lock cargo xtask gpt-shakespeare`.

use crate::lm_train_run::{lm_train, option, split_args};
use crate::workspace_root;

/// The recipe's `tessera lm train` flags (the GPT defaults of `lm train` are the same; they are
/// spelt out so that the recipe reads here).
const FLAGS: &str = "--arch gpt --chars --layers 4 --heads 4 --width 128 --context 64 --positions learned \
                     --dropout 0 --batch 12 --optimizer adamw --lr 1e-3 --min-lr 1e-4 --warmup 100 \
                     --weight-decay 0.1 --beta2 0.99 --clip 1 --eval-every 250 --eval-windows 200 --split 0.9 \
                     --seed 1337";

/// Runs the recipe.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (ours, extra) = split_args(args);
    let steps = option(ours, "--steps", "2000")?;
    let text = workspace_root().join("../shared/data/shakespeare/shakespeare_gut.txt.gz");
    if !text.is_file() {
        return Err(format!("{} is missing", text.display()));
    }
    println!("nanoGPT Shakespeare (characters), {steps} steps; JAX's gpt_jax.py measured val loss 1.871 at 2,000");
    let mut flags: Vec<&str> = FLAGS.split_whitespace().collect();
    flags.extend(["--steps", &steps]);
    let run = lm_train(&flags, &text, "gpt-shakespeare", extra, |line| line.trim_start().starts_with("step"))?;
    run.print_summary("GPT Shakespeare");
    Ok(())
}
