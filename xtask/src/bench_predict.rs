//! The `predict` section of `cargo xtask bench`: loading each kind of model folder and
//! predicting on raw input through `tessera::Pipeline` (benches/benches/predict.rs), on 1 and
//! 2 threads. Load times are single runs of the whole folder (config, vocabularies, weights);
//! the goal is under 100 ms for these models.

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{criterion_elements, criterion_nanos};
use crate::cargo;

const KINDS: [(&str, &str); 4] = [
    ("mlp", "MLP 784-256-10, 28x28 PNG files"),
    ("cnn", "LeNet CNN, 28x28 PNG files"),
    ("textcnn", "TextCNN, 20k words, sentences"),
    ("tagger", "BiLSTM tagger, 20k words, sentences"),
];

/// Runs the bench on 1 and 2 threads and returns the section's table.
pub(crate) fn report(root: &Path, quick: bool) -> Result<String, String> {
    for threads in [1, 2] {
        let mut args = vec!["bench", "--package", "tessera-benches", "--bench", "predict", "--"];
        if quick {
            args.push("--quick");
        }
        cargo(&args, &[("TESSERA_BENCH_THREADS", threads.to_string())])?;
    }
    let mut out = String::new();
    let _ = writeln!(out, "## Using trained models: model folder load and predict throughput (cpu)\n");
    let _ = writeln!(out, "| model | load ms t1 | load ms t2 | inputs/s t1 | inputs/s t2 |\n|---|---|---|---|---|");
    let show = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    for (kind, what) in KINDS {
        let load =
            |t: usize| criterion_nanos(root, &format!("cpu_predict_t{t}"), &format!("load_{kind}")).map(|ns| ns / 1e6);
        let rate = |t: usize| {
            let (group, id) = (format!("cpu_predict_t{t}"), format!("{kind}_b64"));
            let ns = criterion_nanos(root, &group, &id)?;
            Some(criterion_elements(root, &group, &id)? / (ns / 1e9))
        };
        let _ = writeln!(
            out,
            "| {what} | {} | {} | {} | {} |",
            show(load(1), 2),
            show(load(2), 2),
            show(rate(1), 0),
            show(rate(2), 0)
        );
    }
    out.push('\n');
    Ok(out)
}
