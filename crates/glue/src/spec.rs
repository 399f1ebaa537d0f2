//! Task specs: a JSON file naming the data, the fields, the task kind, the metrics and the
//! split rule. Validation walks the JSON itself so every error names the file and the dotted
//! key at fault (`split.fractions`, `metrics[1]`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{GlueError, Result};
use crate::metrics::Metric;

/// What a task predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// One text, one class.
    Single,
    /// Two texts, one class (inference, paraphrase).
    Pair,
    /// One text, one real score.
    Regression,
    /// One tag per token.
    Tagging,
}

impl TaskKind {
    /// The spec name.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Single => "single",
            TaskKind::Pair => "pair",
            TaskKind::Regression => "regression",
            TaskKind::Tagging => "tagging",
        }
    }
}

/// The format of a data file (gzip or not, told from its first bytes).
#[derive(Clone, Debug, PartialEq)]
pub enum DataFormat {
    /// One JSON object per line.
    Jsonl,
    /// Tab-separated; the first line is the header unless `columns` names them.
    Tsv {
        /// Column names of a file without a header.
        columns: Option<Vec<String>>,
    },
    /// RFC 4180 CSV with a header line (quoted fields may hold commas and newlines).
    Csv,
    /// Austen-style plain text made into an acceptability task: sentences and corrupted copies
    /// (see [`crate::data::fluency`]).
    Fluency {
        /// Original sentences to draw.
        sentences: usize,
        /// Seed of the sampling and corruptions.
        seed: u64,
    },
}

/// How examples are assigned to train, dev and test.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitRule {
    /// Field whose value keeps examples together (a movie, page, document).
    pub group: String,
    /// Keep only the group field's text before this separator (the page title of
    /// `Title: evidence`).
    pub group_until: Option<String>,
    /// Seed of the hash that places each group.
    pub seed: u64,
    /// Train, dev and test fractions (summing to 1).
    pub fractions: [f64; 3],
}

/// A validated task spec.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    /// Task name (`rt-polarity`).
    pub name: String,
    /// One line on what the task measures.
    pub description: String,
    /// The spec file (or `builtin:<name>`), for error messages.
    pub origin: String,
    /// Data file, absolute or relative to the data root.
    pub path: PathBuf,
    /// How to read it.
    pub format: DataFormat,
    /// What is predicted.
    pub kind: TaskKind,
    /// Text field(s): one, or two for a pair; for tagging the field of `word/tag` tokens.
    pub text: Vec<String>,
    /// Label (or score) field.
    pub label: String,
    /// Class names in id order (rows with another label are dropped); `None`: sorted labels.
    pub labels: Option<Vec<String>>,
    /// Renames labels before `labels` applies (SUPPORTS-vs-rest).
    pub label_map: Vec<(String, String)>,
    /// Label a class from the sign of a numeric field: `negative`/`positive` (zero dropped).
    pub label_from_sign: bool,
    /// Strip `/tag` suffixes from the text (Brown's tagged text as plain text).
    pub strip_tags: bool,
    /// Metrics reported, the first the headline.
    pub metrics: Vec<Metric>,
    /// The split rule.
    pub split: SplitRule,
}

/// Reads the JSON of a spec file and validates it.
pub fn load_spec(path: &Path) -> Result<TaskSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| GlueError::io(path, e))?;
    parse_spec(&text, &path.display().to_string())
}

/// Validates spec JSON; `origin` names it in errors.
pub fn parse_spec(text: &str, origin: &str) -> Result<TaskSpec> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| GlueError::MalformedSpec { file: origin.to_string(), msg: e.to_string() })?;
    let root = value.as_object().ok_or_else(|| GlueError::MalformedSpec {
        file: origin.to_string(),
        msg: "the top level is not an object".into(),
    })?;
    let keys = Keys { file: origin };
    keys.only(
        root,
        "",
        &[
            "name",
            "description",
            "data",
            "kind",
            "text",
            "label",
            "labels",
            "label_map",
            "label_from_sign",
            "strip_tags",
            "metrics",
            "split",
        ],
    )?;
    let name = keys.string(root, "", "name", "the task's name")?;
    let description = keys.opt_string(root, "", "description")?.unwrap_or_default();
    let data = keys.object(root, "", "data", "where the examples are")?;
    keys.only(data, "data", &["path", "format", "columns", "sentences", "seed"])?;
    let path = PathBuf::from(keys.string(data, "data", "path", "the data file")?);
    let format = match keys.string(data, "data", "format", "jsonl, tsv, csv or fluency")?.as_str() {
        "jsonl" => DataFormat::Jsonl,
        "csv" => DataFormat::Csv,
        "tsv" => DataFormat::Tsv { columns: keys.opt_strings(data, "data", "columns")? },
        "fluency" => DataFormat::Fluency {
            sentences: keys.opt_uint(data, "data", "sentences")?.unwrap_or(4000) as usize,
            seed: keys.opt_uint(data, "data", "seed")?.unwrap_or(0),
        },
        other => return Err(keys.bad("data.format", format!("`{other}` is not jsonl, tsv, csv or fluency"))),
    };
    let kind = match keys.string(root, "", "kind", "single, pair, regression or tagging")?.as_str() {
        "single" => TaskKind::Single,
        "pair" => TaskKind::Pair,
        "regression" => TaskKind::Regression,
        "tagging" => TaskKind::Tagging,
        other => return Err(keys.bad("kind", format!("`{other}` is not single, pair, regression or tagging"))),
    };
    let text = match root.get("text") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(_)) => keys.opt_strings(root, "", "text")?.unwrap_or_default(),
        Some(_) => return Err(keys.bad("text", "expected a field name or a list of two".into())),
        None => return Err(keys.missing("text", "the text field (two for a pair)")),
    };
    let wanted = if kind == TaskKind::Pair { 2 } else { 1 };
    if text.len() != wanted {
        return Err(
            keys.bad("text", format!("a {} task names {wanted} text field(s), found {}", kind.name(), text.len()))
        );
    }
    let label = keys.string(root, "", "label", "the label or score field")?;
    let labels = keys.opt_strings(root, "", "labels")?;
    let label_map = match root.get("label_map") {
        None => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(keys.bad(&format!("label_map.{k}"), "expected a string".into())),
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(keys.bad("label_map", "expected an object of label renames".into())),
    };
    let label_from_sign = keys.opt_bool(root, "", "label_from_sign")?.unwrap_or(false);
    let strip_tags = keys.opt_bool(root, "", "strip_tags")?.unwrap_or(false);
    let metrics = match root.get("metrics") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let key = format!("metrics[{i}]");
                let name = item.as_str().ok_or_else(|| keys.bad(&key, "expected a metric name".into()))?;
                let metric = Metric::parse(name).ok_or_else(|| GlueError::UnknownMetric {
                    file: origin.to_string(),
                    key: key.clone(),
                    metric: name.to_string(),
                    known: Metric::ALL.map(Metric::name).join(", "),
                })?;
                if metric.is_regression() != (kind == TaskKind::Regression) {
                    return Err(keys.bad(&key, format!("`{name}` does not apply to a {} task", kind.name())));
                }
                Ok(metric)
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(keys.bad("metrics", "expected a non-empty list of metric names".into())),
        None => return Err(keys.missing("metrics", "the metric(s) to report")),
    };
    let split_obj = keys.object(root, "", "split", "the split rule")?;
    keys.only(split_obj, "split", &["group", "group_until", "seed", "fractions"])?;
    let fractions = match split_obj.get("fractions") {
        None => [0.8, 0.1, 0.1],
        Some(Value::Array(f)) if f.len() == 3 && f.iter().all(|x| x.as_f64().is_some_and(|v| v > 0.0)) => {
            let f: Vec<f64> = f.iter().filter_map(Value::as_f64).collect();
            if (f.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
                return Err(keys.bad("split.fractions", format!("{f:?} does not sum to 1")));
            }
            [f[0], f[1], f[2]]
        }
        Some(_) => return Err(keys.bad("split.fractions", "expected three positive fractions".into())),
    };
    let split = SplitRule {
        group: keys.string(split_obj, "split", "group", "the field that keeps examples together")?,
        group_until: keys.opt_string(split_obj, "split", "group_until")?,
        seed: keys.opt_uint(split_obj, "split", "seed")?.unwrap_or(0),
        fractions,
    };
    Ok(TaskSpec {
        name,
        description,
        origin: origin.to_string(),
        path,
        format,
        kind,
        text,
        label,
        labels,
        label_map,
        label_from_sign,
        strip_tags,
        metrics,
        split,
    })
}

/// Typed lookups that name the file and the dotted key.
struct Keys<'a> {
    file: &'a str,
}

impl Keys<'_> {
    fn path(prefix: &str, key: &str) -> String {
        if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") }
    }

    fn bad(&self, key: &str, msg: String) -> GlueError {
        GlueError::BadKey { file: self.file.to_string(), key: key.to_string(), msg }
    }

    fn missing(&self, key: &str, why: &str) -> GlueError {
        GlueError::MissingKey { file: self.file.to_string(), key: key.to_string(), why: why.to_string() }
    }

    fn only(&self, obj: &Map<String, Value>, prefix: &str, allowed: &[&str]) -> Result<()> {
        match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.bad(&Self::path(prefix, k), format!("unknown key (known: {})", allowed.join(", ")))),
            None => Ok(()),
        }
    }

    fn object<'v>(
        &self,
        obj: &'v Map<String, Value>,
        prefix: &str,
        key: &str,
        why: &str,
    ) -> Result<&'v Map<String, Value>> {
        match obj.get(key) {
            Some(Value::Object(o)) => Ok(o),
            Some(_) => Err(self.bad(&Self::path(prefix, key), "expected an object".into())),
            None => Err(self.missing(&Self::path(prefix, key), why)),
        }
    }

    fn string(&self, obj: &Map<String, Value>, prefix: &str, key: &str, why: &str) -> Result<String> {
        self.opt_string(obj, prefix, key)?.ok_or_else(|| self.missing(&Self::path(prefix, key), why))
    }

    fn opt_string(&self, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<String>> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(&Self::path(prefix, key), "expected a non-empty string".into())),
        }
    }

    fn opt_strings(&self, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<Vec<String>>> {
        match obj.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) && !items.is_empty() => {
                Ok(Some(items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()))
            }
            Some(_) => Err(self.bad(&Self::path(prefix, key), "expected a non-empty list of strings".into())),
        }
    }

    fn opt_uint(&self, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<u64>> {
        match obj.get(key) {
            None => Ok(None),
            Some(v) => {
                v.as_u64().map(Some).ok_or_else(|| self.bad(&Self::path(prefix, key), "expected a whole number".into()))
            }
        }
    }

    fn opt_bool(&self, obj: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<bool>> {
        match obj.get(key) {
            None => Ok(None),
            Some(v) => {
                v.as_bool().map(Some).ok_or_else(|| self.bad(&Self::path(prefix, key), "expected true or false".into()))
            }
        }
    }
}
