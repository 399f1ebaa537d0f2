//! What Tessera's tests share: one policy for a test that needs something a machine may lack,
//! and the paths of the data the tests read. A dev-dependency only; no library uses it.
//!
//! # The skip policy
//!
//! A test that needs something from outside the repository (a GPU adapter, the shared datasets,
//! a Python with a peer library) asks for it through [`require`] or a helper built on it
//! ([`shared_data`], [`python_with`]). When it is missing:
//!
//! - on a developer machine the helper writes `SKIPPED <test>: needs <what>: <reason>` straight
//!   to stderr (past the test harness's capture, so it shows in every run) and returns `None`,
//!   so the test returns before its body;
//! - under `CI=true` it panics with the same reason, so CI fails instead of counting a skip as a
//!   pass. `.ci/run` installs everything these tests need.
//!
//! Hardware a CI machine may lack without anything being wrong (AVX-512, transparent huge pages)
//! does not go through this policy: those tests check the fallback path instead.
//!
//! ```
//! // A test reads: take what it needs, or return (skip) / panic (CI).
//! let Some(port) = test_support::require("a port number", "8080".parse::<u16>()) else { return };
//! assert_eq!(port, 8080);
//! ```

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether this run is CI (`CI=true` or `CI=1`), where a test that cannot run fails.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// What a test needs, taken from `found`: `Some(value)` when it is there; when it is not,
/// `None` after printing the skip (developer machine) or a panic (under CI), with `found`'s
/// error as the reason. Use it as `let Some(x) = require("what", found) else { return };`.
pub fn require<T, E: Display>(what: &str, found: Result<T, E>) -> Option<T> {
    match found {
        Ok(value) => Some(value),
        Err(reason) => {
            match verdict(in_ci(), &current_test(), what, &reason) {
                Verdict::Fail(line) => panic!("{line}"),
                // One write to the real stderr: the harness captures `eprintln!` of passing tests.
                Verdict::Skip(line) => drop(std::io::stderr().write_all(format!("{line}\n").as_bytes())),
            }
            None
        }
    }
}

/// The repository's root folder (the workspace that holds this crate).
pub fn workspace_root() -> &'static Path {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().and_then(Path::parent).expect("test-support sits at crates/test-support in the workspace")
}

/// `data/<relative>` in the repository: the small datasets that ship with every clone. A
/// missing one is a broken checkout, so it fails the test everywhere (no skip).
pub fn repo_data(relative: &str) -> PathBuf {
    let path = workspace_root().join("data").join(relative);
    assert!(path.exists(), "{} is missing from the repository's data/ folder", path.display());
    path
}

/// `../shared/data/<relative>` beside the repository (the large datasets, never copied into it),
/// through [`require`]: `None` after a printed skip where it is absent, a panic under CI.
///
/// ```no_run
/// let Some(dir) = test_support::shared_data("mnist") else { return };
/// ```
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let root = workspace_root().parent().unwrap_or(Path::new("/")).join("shared/data");
    let path = root.join(relative);
    let found = if path.exists() {
        Ok(path)
    } else {
        Err(format!("{} is absent (it sits beside a developer checkout, not in a fresh clone)", path.display()))
    };
    require(&format!("the shared dataset `{relative}`"), found)
}

/// A Python interpreter that imports `module` (a peer the test compares against), through
/// [`require`]. Tried in order: `$TESSERA_PYTHON`, the venv `.ci/run` makes
/// (`target/ci-venv`), `python3` on the `PATH`, then any other `target/*-venv` (the ones
/// `cargo xtask bench` makes).
pub fn python_with(module: &str) -> Option<PathBuf> {
    let candidates = python_candidates();
    let found = candidates.iter().find(|python| imports(python, module)).cloned().ok_or_else(|| {
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        format!("none of [{}] imports it (`.ci/run` makes target/ci-venv with the test peers)", tried.join(", "))
    });
    require(&format!("a Python with `{module}`"), found)
}

/// The interpreters [`python_with`] tries, in its order.
fn python_candidates() -> Vec<PathBuf> {
    let target = workspace_root().join("target");
    let ci_venv = target.join("ci-venv/bin/python");
    let mut other_venvs: Vec<PathBuf> = std::fs::read_dir(&target)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .filter(|entry| entry.file_name().to_string_lossy().ends_with("-venv"))
                .map(|entry| entry.path().join("bin/python"))
                .filter(|python| *python != ci_venv && python.exists())
                .collect()
        })
        .unwrap_or_default();
    other_venvs.sort();
    let explicit = std::env::var_os("TESSERA_PYTHON").map(PathBuf::from);
    explicit.into_iter().chain([ci_venv, PathBuf::from("python3")]).chain(other_venvs).collect()
}

/// Whether `python` runs and imports `module`.
fn imports(python: &Path, module: &str) -> bool {
    Command::new(python).args(["-c", &format!("import {module}")]).output().is_ok_and(|out| out.status.success())
}

/// What a missing requirement does to a test.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Print the line and return without running the test's body.
    Skip(String),
    /// Fail the test with the line.
    Fail(String),
}

/// A skip line starts with `SKIPPED ` (`.ci/run`'s summary counts them); a CI failure names CI.
fn verdict(ci: bool, test: &str, what: &str, reason: &dyn Display) -> Verdict {
    if ci {
        Verdict::Fail(format!("CI=true and {test} cannot run: needs {what}: {reason}"))
    } else {
        Verdict::Skip(format!("SKIPPED {test}: needs {what}: {reason}"))
    }
}

/// The running test's name (the harness names each test's thread after it), else the program's.
fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => std::env::args()
            .next()
            .and_then(|program| Path::new(&program).file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "this test".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_requirement_skips_here_and_fails_under_ci() {
        let reason = "no adapter";
        let skip = verdict(false, "gpu::memory", "a GPU adapter", &reason);
        assert_eq!(skip, Verdict::Skip("SKIPPED gpu::memory: needs a GPU adapter: no adapter".into()));
        match verdict(true, "gpu::memory", "a GPU adapter", &reason) {
            Verdict::Fail(line) => {
                assert_eq!(line, "CI=true and gpu::memory cannot run: needs a GPU adapter: no adapter")
            }
            other => panic!("CI must fail, not {other:?}"),
        }
    }

    #[test]
    fn require_passes_what_is_there_and_follows_the_policy_for_what_is_not() {
        assert_eq!(require("a number", "7".parse::<u8>()), Some(7));
        let missing = std::panic::catch_unwind(|| require("a number", "x".parse::<u8>()));
        match missing {
            Ok(skipped) => assert!(!in_ci() && skipped.is_none()),
            Err(_) => assert!(in_ci(), "only CI turns a missing requirement into a failure"),
        }
    }

    #[test]
    fn the_test_name_comes_from_the_harness_thread() {
        assert_eq!(current_test(), "tests::the_test_name_comes_from_the_harness_thread");
    }

    #[test]
    fn an_absent_shared_dataset_is_a_skip_or_a_ci_failure() {
        let outcome = std::panic::catch_unwind(|| shared_data("no-such-dataset-anywhere"));
        assert_eq!(outcome.is_err(), in_ci(), "{outcome:?}");
        if let Ok(found) = outcome {
            assert_eq!(found, None);
        }
    }

    #[test]
    fn repository_data_is_found_from_the_workspace_root() {
        assert!(workspace_root().join("Cargo.toml").exists());
        assert!(repo_data("sklearn-digits").is_dir());
        assert!(std::panic::catch_unwind(|| repo_data("no-such-folder")).is_err());
    }

    #[test]
    fn python_candidates_start_with_the_ci_venv_then_the_path() {
        let candidates = python_candidates();
        let skip_explicit = usize::from(std::env::var_os("TESSERA_PYTHON").is_some());
        assert!(candidates[skip_explicit].ends_with("target/ci-venv/bin/python"), "{candidates:?}");
        assert_eq!(candidates[skip_explicit + 1], PathBuf::from("python3"));
        assert!(!imports(Path::new("/nonexistent/python"), "sys"));
    }
}
