//! `cargo xtask glue [--models a,b] [--seeds N] [--quick]`: the GLUE-style leaderboard. Runs
//! `tessera glue run` for each model and seed 0..N on the CPU, exports the splits and runs the
//! scikit-learn peer (TF-IDF + logistic regression, `xtask/peers/glue_sklearn.py`, in its own
//! venv `target/glue-venv`) on the same splits, then renders the board (Markdown and HTML)
//! under `target/glue/`. The peer is never a dependency: without Python its row is left out
//! and the reason printed.

use std::path::Path;
use std::process::Command;

use crate::bench::venv_python;
use crate::lm_train_run::option;
use crate::{cargo, workspace_root};

fn tessera(root: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new(root.join("target/release/tessera"))
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run tessera: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`tessera {}` failed ({status})", args.join(" "))) }
}

/// Runs the leaderboard recipe.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let root = workspace_root();
    let models = option(args, "--models", "majority,tfidf-lr")?;
    let seeds: u64 = option(args, "--seeds", "3")?.parse().map_err(|_| "--seeds needs a number".to_string())?;
    let quick = args.iter().any(|a| a == "--quick");
    cargo(&["build", "--release", "-p", "tessera"], &[])?;
    let out = root.join("target/glue");
    let runs = out.join("runs");
    let runs_arg = runs.display().to_string();
    for model in models.split(',') {
        for seed in 0..seeds {
            let seed = seed.to_string();
            let mut run = vec!["glue", "run", "--model", model, "--seed", &seed, "--runs", &runs_arg];
            if quick {
                run.push("--quick");
            }
            tessera(&root, &run)?;
        }
    }
    let splits = out.join("splits");
    tessera(&root, &["glue", "export", "--out", &splits.display().to_string()])?;
    match venv_python(&root, "glue-venv", "sklearn, scipy", &["scikit-learn", "scipy"]) {
        Ok(python) => {
            let status = Command::new(python)
                .arg(root.join("xtask/peers/glue_sklearn.py"))
                .arg(&splits)
                .arg(&runs)
                .status()
                .map_err(|e| format!("cannot run the scikit-learn peer: {e}"))?;
            if !status.success() {
                return Err(format!("the scikit-learn peer failed ({status})"));
            }
        }
        Err(why) => println!("scikit-learn peer left out: {why}"),
    }
    tessera(&root, &["glue", "board", "--runs", &runs_arg, "--out", &out.display().to_string()])
}
