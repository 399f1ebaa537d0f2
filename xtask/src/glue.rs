//! `cargo xtask glue [--models a,b] [--seeds N] [--quick]`: the GLUE-style leaderboard. Runs
//! `tessera glue run` for each model and seed 0..N on the CPU, exports the splits and runs the
//! scikit-learn peer (TF-IDF + logistic regression, `xtask/peers/glue_sklearn.py`, in its own
//! venv `target/glue-venv`) on the same splits, then renders the board (Markdown and HTML)
//! under `target/glue/`. The peer is never a dependency: without Python its row is left out
//! and the reason printed.
//!
//! `lm-tfidf` reads a language model: a Kneser-Ney 3-gram that this recipe counts
//! (`target/glue/lm/`) on the shipped pretraining sources whose folder no benchmark task's spec
//! reads: today Shakespeare, Moby Dick and the Wikipedia sample (not Austen, the State of the
//! Union or Brown; VitaminC is never a pretraining source), and of the Wikipedia sample only the
//! pages VitaminC's evidence does not come from.

use std::path::Path;
use std::process::Command;

use nlp::corpus::{PRETRAINING_SOURCES, SourceFormat, prose_sentences, read_text, source_documents};
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

/// The top folders (under the data folder) of the files the built-in benchmark tasks read.
fn task_folders(root: &Path) -> Result<Vec<String>, String> {
    let specs = root.join("crates/glue/specs");
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(&specs).map_err(|e| format!("{}: {e}", specs.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let spec: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let data = spec["data"]["path"].as_str().ok_or_else(|| format!("{}: no data.path", path.display()))?;
        folders.push(data.split('/').next().unwrap_or(data).to_string());
    }
    Ok(folders)
}

/// VitaminC's evidence file: its pages (the evidence's text before the first `:`) are left out
/// of the Wikipedia sample the language model counts.
const VITAMINC: &str = "vitaminc/vitaminc_bigbench.tsv.gz";

/// The Wikipedia page titles VitaminC's evidence comes from.
fn vitaminc_pages(data: &Path) -> Result<std::collections::HashSet<String>, String> {
    let text = read_text(&data.join(VITAMINC)).map_err(|e| e.to_string())?;
    let evidence = text.lines().skip(1).filter_map(|line| line.split('\t').nth(1));
    Ok(evidence.filter_map(|e| e.split(':').next()).map(|page| page.trim().to_string()).collect())
}

/// Counts (once per set of sources) a Kneser-Ney 3-gram on the pretraining sources whose
/// folder no benchmark task reads, one lower-cased tokenised sentence per line, and returns its
/// ARPA file (named after the sources it counted).
fn language_model(root: &Path, out: &Path) -> Result<std::path::PathBuf, String> {
    let task_folders = task_folders(root)?;
    let sources: Vec<_> = PRETRAINING_SOURCES
        .iter()
        .filter(|s| !task_folders.iter().any(|folder| s.path.split('/').next() == Some(folder.as_str())))
        .collect();
    let names: Vec<&str> = sources.iter().map(|s| s.name).collect();
    let dir = out.join("lm");
    let arpa = dir.join(format!("3gram-{}.arpa.gz", names.join("+")));
    if arpa.exists() {
        println!("language model: {} (kept; delete it to count again)", arpa.display());
        return Ok(arpa);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let data = root.join("../shared/data");
    let tokenizer = WordTokenizer::default();
    let pages = vitaminc_pages(&data)?;
    let mut text = String::new();
    for source in sources {
        let mut left_out = 0;
        for doc in source_documents(source, &data).map_err(|e| e.to_string())? {
            // A Wikipedia document's first line is its title.
            if source.format == SourceFormat::MediaWiki && doc.lines().next().is_some_and(|t| pages.contains(t.trim()))
            {
                left_out += 1;
                continue;
            }
            for sentence in doc.lines().flat_map(|paragraph| prose_sentences(paragraph, &tokenizer)) {
                text.push_str(&sentence.join(" "));
                text.push('\n');
            }
        }
        let note = if left_out > 0 {
            format!(" ({left_out} pages VitaminC's evidence comes from left out)")
        } else {
            String::new()
        };
        println!("language model text: {} done{note}", source.name);
    }
    let corpus = dir.join("corpus.txt");
    std::fs::write(&corpus, text).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let (corpus_arg, arpa_arg) = (corpus.display().to_string(), arpa.display().to_string());
    tessera(root, &["ngram", "train", &corpus_arg, "--order", "3", "--output", &arpa_arg])?;
    Ok(arpa)
}
