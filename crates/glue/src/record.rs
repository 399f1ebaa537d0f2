//! Run records: one JSON file per run (model, config, seed, device, per-task metrics, wall
//! time, examples/s), written by `tessera glue run` and by the scikit-learn peer, read back by
//! the leaderboard.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::{GlueError, Result};
use crate::metrics::suite_score;

/// One task's outcome in a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskResult {
    /// Task name.
    pub task: String,
    /// Test metrics by name, in the spec's order.
    pub metrics: Vec<(String, f64)>,
    /// Dev metrics by name.
    pub dev_metrics: Vec<(String, f64)>,
    /// Test score: the mean of the test metrics.
    pub score: f64,
    /// Training and prediction time.
    pub seconds: f64,
    /// Training examples processed per second.
    pub examples_per_second: f64,
    /// Train, dev and test sizes.
    pub counts: [usize; 3],
    /// Class (or tag) names.
    pub classes: Vec<String>,
    /// Test confusion matrix (rows gold, columns predicted) for classification tasks.
    pub confusion: Option<Vec<Vec<u64>>>,
    /// The model's configuration and selections.
    pub config: Value,
}

/// One run of one model over tasks.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// Model name.
    pub model: String,
    /// Seed.
    pub seed: u64,
    /// Device the run used (`cpu`, `gpu (…)`, `tpu-sim`, `python` for the peer).
    pub device: String,
    /// Whether it ran in quick mode.
    pub quick: bool,
    /// Whole run's wall time.
    pub wall_seconds: f64,
    /// Per-task results.
    pub tasks: Vec<TaskResult>,
    /// Anything else (the TPU's cycles).
    pub extra: Value,
}

impl RunRecord {
    /// GLUE's score over the tasks of this run, as a percentage.
    pub fn suite_score(&self) -> f64 {
        100.0 * suite_score(&self.tasks.iter().map(|t| t.score).collect::<Vec<_>>())
    }

    /// The record as JSON.
    pub fn to_json(&self) -> Value {
        let pairs = |m: &[(String, f64)]| Value::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
        json!({
            "model": self.model, "seed": self.seed, "device": self.device, "quick": self.quick,
            "wall_seconds": self.wall_seconds, "suite_score": self.suite_score(), "extra": self.extra,
            "tasks": self.tasks.iter().map(|t| json!({
                "task": t.task, "metrics": pairs(&t.metrics), "dev_metrics": pairs(&t.dev_metrics),
                "metric_order": t.metrics.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                "score": t.score, "seconds": t.seconds, "examples_per_second": t.examples_per_second,
                "counts": t.counts, "classes": t.classes, "confusion": t.confusion, "config": t.config,
            })).collect::<Vec<_>>(),
        })
    }

    /// Reads a record from its JSON.
    pub fn from_json(value: &Value, origin: &str) -> Result<RunRecord> {
        let bad = |what: &str| GlueError::Invalid(format!("{origin}: run record lacks {what}"));
        let metrics = |v: &Value, order: &Value| -> Vec<(String, f64)> {
            let names: Vec<String> = match order.as_array() {
                Some(o) => o.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
                None => v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default(),
            };
            names.into_iter().filter_map(|k| Some((k.clone(), v.get(&k)?.as_f64()?))).collect()
        };
        let tasks = value["tasks"]
            .as_array()
            .ok_or_else(|| bad("`tasks`"))?
            .iter()
            .map(|t| {
                Ok(TaskResult {
                    task: t["task"].as_str().ok_or_else(|| bad("`tasks[].task`"))?.to_string(),
                    metrics: metrics(&t["metrics"], &t["metric_order"]),
                    dev_metrics: metrics(&t["dev_metrics"], &t["metric_order"]),
                    score: t["score"].as_f64().ok_or_else(|| bad("`tasks[].score`"))?,
                    seconds: t["seconds"].as_f64().unwrap_or(0.0),
                    examples_per_second: t["examples_per_second"].as_f64().unwrap_or(0.0),
                    counts: [0, 1, 2].map(|i| t["counts"][i].as_u64().unwrap_or(0) as usize),
                    classes: t["classes"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                        .unwrap_or_default(),
                    confusion: t["confusion"].as_array().map(|rows| {
                        rows.iter()
                            .map(|r| {
                                r.as_array().map(|c| c.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
                            })
                            .collect()
                    }),
                    config: t["config"].clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RunRecord {
            model: value["model"].as_str().ok_or_else(|| bad("`model`"))?.to_string(),
            seed: value["seed"].as_u64().unwrap_or(0),
            device: value["device"].as_str().unwrap_or("cpu").to_string(),
            quick: value["quick"].as_bool().unwrap_or(false),
            wall_seconds: value["wall_seconds"].as_f64().unwrap_or(0.0),
            tasks,
            extra: value["extra"].clone(),
        })
    }

    /// Writes the record into `dir` as `<model>-<device>-s<seed>-<unix time>.json`.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|e| GlueError::io(dir, e))?;
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let device: String = self.device.chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
        let path = dir.join(format!("{}-{}-s{}-{stamp}.json", self.model, device, self.seed));
        let text = serde_json::to_string_pretty(&self.to_json()).map_err(|e| GlueError::Invalid(e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(|e| GlueError::io(&path, e))?;
        Ok(path)
    }
}

/// Every record in `dir` (`*.json`), in file-name order.
pub fn read_records(dir: &Path) -> Result<Vec<RunRecord>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| GlueError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).map_err(|e| GlueError::io(f, e))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| GlueError::Invalid(format!("{}: not JSON: {e}", f.display())))?;
            RunRecord::from_json(&value, &f.display().to_string())
        })
        .collect()
}
