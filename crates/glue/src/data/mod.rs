//! A task's examples, read as its spec says and split by its rule.

pub mod fluency;
pub mod split;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nn_layers::data::{Header, Record, RecordFormat, read_records};

use crate::error::{GlueError, Result};
use crate::spec::{DataFormat, TaskKind, TaskSpec};

/// What an example asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A class id (into [`TaskData::classes`]).
    Class(usize),
    /// A real score.
    Score(f64),
    /// One tag id per token (into [`TaskData::classes`]).
    Tags(Vec<usize>),
}

/// One example.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// The text (the first of a pair; for tagging the tokens joined by spaces).
    pub text: String,
    /// The second text of a pair.
    pub second: Option<String>,
    /// The tokens of a tagging example.
    pub tokens: Vec<String>,
    /// The gold answer.
    pub target: Target,
    /// The group the split keeps together.
    pub group: String,
}

/// A loaded task: its spec, class (or tag) names and the three splits.
#[derive(Clone, Debug)]
pub struct TaskData {
    /// The spec it was read with.
    pub spec: TaskSpec,
    /// Class or tag names in id order (empty for regression).
    pub classes: Vec<String>,
    /// Training examples.
    pub train: Vec<Example>,
    /// Development examples (model selection).
    pub dev: Vec<Example>,
    /// Test examples (reported).
    pub test: Vec<Example>,
}

impl TaskData {
    /// Examples of the three splits together.
    pub fn all(&self) -> impl Iterator<Item = &Example> {
        self.train.iter().chain(&self.dev).chain(&self.test)
    }
}

/// Brown-style `word/tag` text as sentences of (word, tag).
fn tagged_sentences(text: &str) -> Vec<Vec<(String, String)>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_whitespace()
                .filter_map(|t| t.rsplit_once('/'))
                .filter(|(w, t)| !w.is_empty() && !t.is_empty())
                .map(|(w, t)| (w.to_string(), nlp::corpus::simplify_brown_tag(t)))
                .collect::<Vec<_>>()
        })
        .filter(|s: &Vec<_>| !s.is_empty())
        .collect()
}

/// Plain text of `word/tag` text.
fn strip_tags(text: &str) -> String {
    tagged_sentences(text).iter().flatten().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" ")
}

/// The data file of `spec` under `root` (absolute paths stay as they are).
pub fn data_path(spec: &TaskSpec, root: &Path) -> PathBuf {
    if spec.path.is_absolute() { spec.path.clone() } else { root.join(&spec.path) }
}

/// A row on its way to an example: where it came from, its texts, its label text and group.
struct Pending {
    line: usize,
    text: String,
    second: Option<String>,
    tokens: Vec<String>,
    label: String,
    group: String,
}

/// Reads and splits the task of `spec`, data paths resolved against `root`.
pub fn load_task(spec: &TaskSpec, root: &Path) -> Result<TaskData> {
    let path = data_path(spec, root);
    if !path.exists() {
        return Err(GlueError::Invalid(format!(
            "{}: data file {} does not exist (is ../shared/data present? pass --data-dir)",
            spec.origin,
            path.display()
        )));
    }
    // (text, second, label, group) per row.
    let mut raw: Vec<(usize, String, Option<String>, String, String)> = Vec::new();
    if let DataFormat::Fluency { sentences, seed } = spec.format {
        for (i, row) in fluency::fluency_rows(&path, sentences, seed)?.into_iter().enumerate() {
            let label = if row.acceptable { "acceptable" } else { "unacceptable" };
            raw.push((i + 1, row.text, None, label.to_string(), row.group));
        }
    } else {
        let mut fields: Vec<&str> = spec.text.iter().map(String::as_str).collect();
        fields.push(&spec.label);
        fields.push(&spec.split.group);
        let (format, header) = match &spec.format {
            DataFormat::Jsonl => (RecordFormat::JsonLines, Header::FirstLine),
            DataFormat::Csv => (RecordFormat::Csv, Header::FirstLine),
            DataFormat::Tsv { columns: Some(columns) } => (RecordFormat::Tsv, Header::Given(columns)),
            DataFormat::Tsv { columns: None } => (RecordFormat::Tsv, Header::FirstLine),
            DataFormat::Fluency { .. } => unreachable!("handled above"),
        };
        let pair = spec.kind == TaskKind::Pair;
        for Record { line, mut values } in read_records(&path, format, header, &fields)? {
            let group = values.pop().unwrap_or_default();
            let label = values.pop().unwrap_or_default();
            let second = if pair { values.pop() } else { None };
            let text = values.pop().unwrap_or_default();
            raw.push((line, text, second, label, group));
        }
    }
    let mut data =
        TaskData { spec: spec.clone(), classes: Vec::new(), train: Vec::new(), dev: Vec::new(), test: Vec::new() };
    let mut examples: Vec<Pending> = Vec::new();
    let mut tag_set = BTreeSet::new();
    for (line, text, second, mut label, group) in raw {
        let group = match &spec.split.group_until {
            Some(sep) => group.split(sep.as_str()).next().unwrap_or("").trim().to_string(),
            None => group,
        };
        if spec.kind == TaskKind::Tagging {
            // A document becomes its sentences, all in the document's group.
            for sentence in tagged_sentences(&text) {
                let (words, tags): (Vec<String>, Vec<String>) = sentence.into_iter().unzip();
                tag_set.extend(tags.iter().cloned());
                examples.push(Pending {
                    line,
                    text: words.join(" "),
                    second: None,
                    tokens: words,
                    label: tags.join(" "),
                    group: group.clone(),
                });
            }
            continue;
        }
        if spec.label_from_sign {
            let score: f64 = label.trim().parse().map_err(|_| GlueError::Data {
                path: path.clone(),
                line,
                msg: format!("label `{label}` is not a number"),
            })?;
            if score == 0.0 {
                continue;
            }
            label = if score > 0.0 { "positive" } else { "negative" }.to_string();
        }
        if let Some((_, to)) = spec.label_map.iter().find(|(from, _)| *from == label) {
            label = to.clone();
        }
        let text = if spec.strip_tags { strip_tags(&text) } else { text };
        examples.push(Pending { line, text, second, tokens: Vec::new(), label, group });
    }
    data.classes = match spec.kind {
        TaskKind::Regression => Vec::new(),
        TaskKind::Tagging => tag_set.into_iter().collect(),
        _ => match &spec.labels {
            Some(labels) => labels.clone(),
            None => examples.iter().map(|e| e.label.clone()).collect::<BTreeSet<_>>().into_iter().collect(),
        },
    };
    for Pending { line, text, second, tokens, label, group } in examples {
        let target = match spec.kind {
            TaskKind::Regression => Target::Score(label.trim().parse().map_err(|_| GlueError::Data {
                path: path.clone(),
                line,
                msg: format!("score `{label}` is not a number"),
            })?),
            TaskKind::Tagging => Target::Tags(
                label.split(' ').map(|t| data.classes.binary_search_by(|c| c.as_str().cmp(t)).unwrap_or(0)).collect(),
            ),
            _ => match data.classes.iter().position(|c| *c == label) {
                Some(id) => Target::Class(id),
                None => continue, // a label outside `labels` is not part of the task
            },
        };
        let example = Example { text, second, tokens, target, group };
        match split::part_of(&example.group, spec.split.seed, spec.split.fractions) {
            0 => data.train.push(example),
            1 => data.dev.push(example),
            _ => data.test.push(example),
        }
    }
    if data.train.is_empty() || data.dev.is_empty() || data.test.is_empty() {
        return Err(GlueError::Invalid(format!(
            "{}: a split of {} is empty (train {}, dev {}, test {}): too few groups for the fractions",
            spec.origin,
            path.display(),
            data.train.len(),
            data.dev.len(),
            data.test.len()
        )));
    }
    Ok(data)
}
