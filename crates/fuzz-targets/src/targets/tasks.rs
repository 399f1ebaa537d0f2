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
            name: "glue-task-tsv",
            files: &["movie.tsv"],
            seeds: || vec![movie_rows().into_bytes()],
            read: |path| task_data("movie-sst", path),
        },
        Target {
            name: "glue-task-fluency",
            files: &["austen.txt"],
            seeds: || vec![fluency_text().into_bytes(), super::gzip(fluency_text().as_bytes())],
            read: |path| task_data("austen-fluency", path),
        },
        Target {
            name: "glue-records",
            files: &["a.json", "b.json"],
            seeds: || vec![record_seed()],
            read: |dir| text(glue::record::read_records(dir)),
        },
    ]
}

/// Reads `path` as the data of the built-in task `name` (its spec pointed at `path`).
fn task_data(name: &str, path: &std::path::Path) -> Result<(), String> {
    let mut spec = glue::registry::builtin()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("no built-in task {name}"))?;
    spec.path = path.to_path_buf();
    text(glue::data::load_task(&spec, path.parent().unwrap_or(path)))
}

/// Forty rated snippets in the VADER movie layout (`id<TAB>score<TAB>text`), enough groups for
/// every split.
fn movie_rows() -> String {
    (0..40)
        .map(|i| format!("{i}_1\t{}\tA film, number {i}, {}.\n", (i % 5) as i64 - 2, ["fine", "dull"][i % 2]))
        .collect()
}

/// Thirty chapters of a work in the Austen layout, enough groups for every split.
fn fluency_text() -> String {
    let mut out = String::from("<<<WORK Emma>>>\n\n");
    for c in 1..=30 {
        out.push_str(&format!(
            "CHAPTER {c}\n\nEmma Woodhouse, handsome, clever, and rich, seemed to unite some of the best blessings \
             of existence in chapter {c}.\n\nShe was the youngest of the two daughters of a most affectionate father.\n\n"
        ));
    }
    out
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
