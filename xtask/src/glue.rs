//! `cargo xtask glue [--models a,b] [--seeds N] [--quick]`: the GLUE-style leaderboard. Runs
//! `tessera glue run` for each model and seed 0..N on the CPU, exports the splits and runs the
//! scikit-learn peer (TF-IDF + logistic regression, `xtask/peers/glue_sklearn.py`, in its own
//! venv `target/glue-venv`) on the same splits, then renders the board (Markdown and HTML)
//! under `target/glue/`. The peer is never a dependency: without Python its row is left out
//! and the reason printed.
//!
//! `lm-tfidf` reads a language model: a Kneser-Ney 3-gram that this recipe counts
//! (`target/glue/lm/`) on the shipped pretraining sources that no benchmark task evaluates on:
//! Shakespeare, Moby Dick and the Wikipedia sample (never Austen, the State of the Union, Brown
//! or VitaminC), so no task's text, test or training, is in its training text.

use std::path::Path;
use std::process::Command;

use nlp::corpus::{PRETRAINING_SOURCES, prose_sentences, source_documents};
use nlp::tokenize::WordTokenizer;

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
    let lm = if models.split(',').any(|m| m == "lm-tfidf") { Some(language_model(&root, &out)?) } else { None };
    let lm_arg = lm.map(|p| p.display().to_string());
    for model in models.split(',') {
        for seed in 0..seeds {
            let seed = seed.to_string();
            let mut run = vec!["glue", "run", "--model", model, "--seed", &seed, "--runs", &runs_arg];
            if quick {
                run.push("--quick");
            }
            if let (Some(lm), "lm-tfidf") = (&lm_arg, model) {
                run.extend(["--pretrained", lm.as_str()]);
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

/// Pretraining sources left out of the language model `lm-tfidf` reads: those a benchmark task
/// evaluates on.
const LEFT_OUT: [&str; 3] = ["austen", "sotu", "brown"];

/// Counts (once) a Kneser-Ney 3-gram on the pretraining sources but [`LEFT_OUT`], one
/// lower-cased tokenised sentence per line, and returns its ARPA file.
fn language_model(root: &Path, out: &Path) -> Result<std::path::PathBuf, String> {
    let dir = out.join("lm");
    let arpa = dir.join("task-free-3gram.arpa.gz");
    if arpa.exists() {
        println!("language model: {} (kept; delete it to count again)", arpa.display());
        return Ok(arpa);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let data = root.join("../shared/data");
    let tokenizer = WordTokenizer::default();
    let mut text = String::new();
    for source in PRETRAINING_SOURCES.iter().filter(|s| !LEFT_OUT.contains(&s.name)) {
        for doc in source_documents(source, &data).map_err(|e| e.to_string())? {
            for sentence in doc.lines().flat_map(|paragraph| prose_sentences(paragraph, &tokenizer)) {
                text.push_str(&sentence.join(" "));
                text.push('\n');
            }
        }
        println!("language model text: {} done", source.name);
    }
    let corpus = dir.join("corpus.txt");
    std::fs::write(&corpus, text).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let (corpus_arg, arpa_arg) = (corpus.display().to_string(), arpa.display().to_string());
    tessera(root, &["ngram", "train", &corpus_arg, "--order", "3", "--output", &arpa_arg])?;
    Ok(arpa)
}
