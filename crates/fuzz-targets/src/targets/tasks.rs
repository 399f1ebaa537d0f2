//! The GLUE-style benchmark's files: task spec JSON (`tessera glue add`) and the run records
//! that `tessera glue board` reads back from a folder.

use super::{Target, text};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "glue-spec",
            files: &["task.json"],
            seeds: || glue::registry::builtin_sources().iter().map(|(_, json)| json.as_bytes().to_vec()).collect(),
            read: |path| text(glue::spec::load_spec(path)),
        },
        Target {
            name: "glue-records",
            files: &["a.json", "b.json"],
            seeds: || vec![record_seed()],
            read: |dir| text(glue::record::read_records(dir)),
        },
    ]
}

/// Two run records in the layout `tessera glue run` writes.
fn record_seed() -> Vec<u8> {
    let record = |model: &str, score: f64| {
        serde_json::json!({
            "model": model, "seed": 0, "device": "cpu", "quick": true, "wall_seconds": 1.5,
            "suite_score": score, "extra": {},
            "tasks": [{
                "task": "movie-sst", "metrics": {"accuracy": score}, "dev_metrics": {"accuracy": score},
                "metric_order": ["accuracy"], "score": score, "seconds": 1.0, "examples_per_second": 10.0,
                "counts": [8, 1, 1], "classes": ["negative", "positive"], "confusion": [[1, 0], [0, 0]],
                "config": {},
            }],
        })
        .to_string()
    };
    let mut out = record("majority", 50.0).into_bytes();
    out.extend_from_slice(super::FILE_SEPARATOR);
    out.extend_from_slice(record("tfidf-lr", 70.5).as_bytes());
    out
}
