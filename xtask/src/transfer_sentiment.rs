//! Transfer learning on the VADER sentiment sets with word vectors that Tessera pretrains — the
//! recipes behind docs/transfer-learning.md's word-vector rows. Both write under `--out`
//! (default `target/transfer-sentiment/`) and are long runs: hold the benchmark lock.
//!
//! `cargo xtask transfer-sentiment [--seeds N] [--labels 100,300,1000,all] [--pool-copies N]
//! [--out DIR]`: few labels on the movie sentences.
//!
//! 1. The shipped pretraining corpus (`nlp::corpus::build_pretraining_corpus`: Shakespeare,
//!    Austen, Moby Dick, the State of the Union, the Wikipedia sample and the Brown text; never
//!    VitaminC, the Penn Treebank or sentiment data), tokenised as `transfer`'s word bodies
//!    read text (Tessera's word tokenizer, lower-cased).
//! 2. The task's own unlabelled text: `tessera transfer pool-text` writes the training pool's
//!    sentences without their labels (never the dev or test split), repeated `--pool-copies`
//!    times (ULMFiT's semi-supervised setting, with word vectors); `--pool-copies 0` leaves it
//!    out, for vectors from the pretraining corpus alone.
//! 3. `tessera word2vec train` (skip-gram, 100 dimensions, min count 3, 10 epochs).
//! 4. `tessera transfer curve`: a TextCNN from scratch and initialised with the vectors
//!    (Kim's widths 3/4/5, 100 filters each), and the mean vector as frozen features, at each
//!    label budget over seeds.
//!
//! `cargo xtask transfer-sentiment --shift [--seeds N] [--shift-labels N]`: domain shift. A
//! TextCNN initialised with the vectors above learns from `--shift-labels` movie labels and is
//! tested on 2,000 sentences of each of the amazon, tweets and nyt sets: source-only, DANN and
//! CORAL (against the target's other sentences, unlabelled), continued pretraining (the vectors
//! retrained with the target's unlabelled sentences added `--pool-copies` times to their text),
//! and the in-domain
//! ceiling (the same number of the target's own labels).

use std::path::{Path, PathBuf};
use std::process::Command;

use nlp::corpus::build_pretraining_corpus;
use nlp::tokenize::WordTokenizer;

use crate::lm_train_run::option;
use crate::workspace_root;

/// The VADER sets that the domain-shift table tests on.
const TARGETS: [(&str, &str); 3] = [
    ("amazon", "amazonReviewSnippets_GroundTruth.txt.gz"),
    ("tweets", "tweets_GroundTruth.txt.gz"),
    ("nyt", "nytEditorialSnippets_GroundTruth.txt.gz"),
];

/// Size of each target's test split (the rest of its sentences is its unlabelled text).
const TARGET_TEST: &str = "2000";

/// The TextCNN's training flags.
const CNN_FLAGS: [&str; 7] = ["--conv", "--epochs", "20", "--patience", "5", "--lr", "1e-3"];

/// Runs the recipe that `args` picks.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let seeds = option(args, "--seeds", "3")?;
    let copies: usize =
        option(args, "--pool-copies", "3")?.parse().map_err(|_| "--pool-copies takes a whole number".to_string())?;
    let start = std::time::Instant::now();
    let job = Job::prepare(&option(args, "--out", "target/transfer-sentiment")?)?;
    let vectors = job.vectors("vectors.txt", &vec![job.pool.clone(); copies])?;
    if args.iter().any(|a| a == "--shift") {
        shift(&job, &vectors, copies, &seeds, &option(args, "--shift-labels", "1000")?)?;
    } else {
        few_labels(&job, &vectors, &seeds, &option(args, "--labels", "100,300,1000,all")?)?;
    }
    println!("transfer-sentiment: {:.0} s in all; tables under {}", start.elapsed().as_secs_f64(), job.dir.display());
    Ok(())
}

/// The few-label sweep on the movie sentences.
fn few_labels(job: &Job, vectors: &Path, seeds: &str, labels: &str) -> Result<(), String> {
    let vectors = path(vectors);
    let common = ["--labels", labels, "--seeds", seeds, "--pretrained", vectors.as_str()];
    let cnn = path(&job.dir.join("textcnn"));
    let mut cnn_args = vec!["transfer", "curve", "--modes", "scratch,finetune", "--out", &cnn];
    cnn_args.extend(common.iter().chain(&CNN_FLAGS));
    job.tessera(&cnn_args)?;
    let features = path(&job.dir.join("features"));
    let mut feature_args = vec!["transfer", "curve", "--modes", "features", "--out", &features];
    feature_args.extend(common);
    feature_args.extend(["--epochs", "60", "--patience", "10", "--lr", "1e-2"]);
    job.tessera(&feature_args)
}

/// The domain-shift table: every method on every target.
fn shift(job: &Job, vectors: &Path, copies: usize, seeds: &str, labels: &str) -> Result<(), String> {
    let vader = job.root.join("../shared/data/vader-sentiment");
    let vectors = path(vectors);
    for (name, file) in TARGETS {
        let target = path(&vader.join(file));
        let out = |what: &str| path(&job.dir.join(format!("shift-{name}-{what}")));
        let common = ["--labels", labels, "--seeds", seeds, "--test", TARGET_TEST];
        let adapt = ["--target", target.as_str(), "--test-on-target", "--adapt-weight", "1"];
        // Source-only, DANN and CORAL: movie labels, tested on the target.
        let methods = out("methods");
        let mut args = vec!["transfer", "curve", "--modes", "finetune,dann,coral", "--pretrained", &vectors];
        args.extend(common.iter().chain(&adapt).chain(&CNN_FLAGS).chain(&["--out", methods.as_str()]));
        job.tessera(&args)?;
        // Continued pretraining: the target's unlabelled sentences (never its test split) join
        // the vectors' text.
        let target_pool = job.dir.join(format!("pool-{name}.txt"));
        let pool_out = path(&target_pool);
        job.tessera(&[
            "transfer",
            "pool-text",
            "--data",
            &target,
            "--test",
            TARGET_TEST,
            "--dev",
            "0",
            "-o",
            &pool_out,
        ])?;
        let mut texts = vec![job.pool.clone(); copies];
        texts.extend(vec![target_pool; copies.max(1)]);
        let continued = path(&job.vectors(&format!("vectors-{name}.txt"), &texts)?);
        let continued_out = out("continued");
        let mut args = vec!["transfer", "curve", "--modes", "finetune", "--pretrained", &continued];
        args.extend(common.iter().chain(&adapt).chain(&CNN_FLAGS).chain(&["--out", continued_out.as_str()]));
        job.tessera(&args)?;
        // The ceiling: the target's own labels (its test split is the same 2,000 sentences).
        let ceiling = out("in-domain");
        let mut args = vec!["transfer", "curve", "--modes", "finetune", "--pretrained", &vectors, "--data", &target];
        args.extend(common.iter().chain(&["--dev", "300"]).chain(&CNN_FLAGS).chain(&["--out", ceiling.as_str()]));
        job.tessera(&args)?;
    }
    Ok(())
}

/// The corpus, the movie pool and the binary a recipe works with.
struct Job {
    root: PathBuf,
    dir: PathBuf,
    tessera: PathBuf,
    corpus: PathBuf,
    pool: PathBuf,
}

impl Job {
    /// Writes the tokenised pretraining corpus, builds the CLI and writes the movie pool.
    fn prepare(out: &str) -> Result<Job, String> {
        let root = workspace_root();
        let dir = root.join(out);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let corpus = build_pretraining_corpus(&root.join("../shared/data"), 20).map_err(|e| e.to_string())?;
        let tokenizer = WordTokenizer::default();
        let mut text = String::with_capacity(corpus.train.len() + corpus.valid.len());
        let mut tokens = 0;
        for line in corpus.train.lines().chain(corpus.valid.lines()).filter(|l| !l.trim().is_empty()) {
            let words = tokenizer.tokenize(line);
            tokens += words.len();
            text.push_str(&words.join(" "));
            text.push('\n');
        }
        let corpus_path = dir.join("corpus.txt");
        std::fs::write(&corpus_path, text).map_err(|e| format!("{}: {e}", corpus_path.display()))?;
        println!(
            "pretraining corpus: {tokens} tokens from {} sources -> {}",
            corpus.sources.len(),
            corpus_path.display()
        );
        crate::cargo(&["build", "--release", "-p", "tessera"], &[])?;
        let job = Job {
            tessera: root.join("target/release/tessera"),
            pool: dir.join("pool.txt"),
            corpus: corpus_path,
            root,
            dir,
        };
        job.tessera(&["transfer", "pool-text", "-o", &path(&job.pool)])?;
        Ok(job)
    }

    /// Trains word vectors on the corpus and `extra` texts into `dir/name`.
    fn vectors(&self, name: &str, extra: &[PathBuf]) -> Result<PathBuf, String> {
        let out = self.dir.join(name);
        let mut args = vec!["word2vec".to_string(), "train".into(), "--train".into(), path(&self.corpus)];
        for text in extra {
            args.extend(["--train".into(), path(text)]);
        }
        args.extend(
            ["--output", path(&out).as_str(), "--size", "100", "--min-count", "3", "--iter", "10", "--cbow", "0"]
                .map(String::from),
        );
        self.tessera(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        Ok(out)
    }

    /// Runs `tessera ARGS` from the workspace root (so the default data paths resolve).
    fn tessera(&self, args: &[&str]) -> Result<(), String> {
        println!("$ tessera {}", args.join(" "));
        let status = Command::new(&self.tessera)
            .args(args)
            .current_dir(&self.root)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", self.tessera.display()))?;
        if status.success() { Ok(()) } else { Err(format!("`tessera {}` failed ({status})", args.join(" "))) }
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
