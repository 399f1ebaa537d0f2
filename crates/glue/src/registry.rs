//! The task registry: the specs shipped in `crates/glue/specs/` (compiled in), and the user's
//! own spec files in a registry folder, which `tessera glue add` fills.

use std::path::Path;

use crate::error::{GlueError, Result};
use crate::spec::{TaskSpec, load_spec, parse_spec};

/// The shipped specs, in the leaderboard's column order.
const BUILTIN: [(&str, &str); 10] = [
    ("movie-sst", include_str!("../specs/movie-sst.json")),
    ("movie-score", include_str!("../specs/movie-score.json")),
    ("rt-polarity", include_str!("../specs/rt-polarity.json")),
    ("rt-subjectivity", include_str!("../specs/rt-subjectivity.json")),
    ("vitaminc-nli", include_str!("../specs/vitaminc-nli.json")),
    ("vitaminc-rte", include_str!("../specs/vitaminc-rte.json")),
    ("brown-genre", include_str!("../specs/brown-genre.json")),
    ("brown-pos", include_str!("../specs/brown-pos.json")),
    ("sotu-party", include_str!("../specs/sotu-party.json")),
    ("austen-fluency", include_str!("../specs/austen-fluency.json")),
];

/// The shipped spec files: each task's name and its JSON text.
pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
    &BUILTIN
}

/// Every shipped spec.
pub fn builtin() -> Result<Vec<TaskSpec>> {
    BUILTIN.iter().map(|(name, text)| parse_spec(text, &format!("builtin:{name}"))).collect()
}

/// Every spec: the shipped ones, then those in `dir` (if it exists) in name order. A user spec
/// with a shipped task's name replaces it.
pub fn all(dir: Option<&Path>) -> Result<Vec<TaskSpec>> {
    let mut specs = builtin()?;
    if let Some(dir) = dir.filter(|d| d.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| GlueError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let spec = load_spec(&file)?;
            match specs.iter_mut().find(|s| s.name == spec.name) {
                Some(slot) => *slot = spec,
                None => specs.push(spec),
            }
        }
    }
    Ok(specs)
}

/// The specs named (every one when `names` is empty), in the order given.
pub fn select(names: &[String], dir: Option<&Path>) -> Result<Vec<TaskSpec>> {
    let specs = all(dir)?;
    if names.is_empty() {
        return Ok(specs);
    }
    names
        .iter()
        .map(|n| {
            specs.iter().find(|s| s.name == *n).cloned().ok_or_else(|| {
                let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                GlueError::Invalid(format!("no task `{n}` (known: {})", known.join(", ")))
            })
        })
        .collect()
}

/// Validates the spec at `file` and copies it into `dir` as `<name>.json`; returns the spec.
pub fn add(file: &Path, dir: &Path) -> Result<TaskSpec> {
    let spec = load_spec(file)?;
    std::fs::create_dir_all(dir).map_err(|e| GlueError::io(dir, e))?;
    let target = dir.join(format!("{}.json", spec.name));
    std::fs::copy(file, &target).map_err(|e| GlueError::io(&target, e))?;
    Ok(spec)
}
