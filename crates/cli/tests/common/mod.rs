//! Shared by the CLI tests: run `tessera` from the repository root, check how it ended, and read
//! numbers out of what it printed.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// How one run of `tessera` ended.
pub struct Run {
    /// The exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Run {
    /// Stdout, after checking that the run succeeded (exit code 0).
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        &self.stdout
    }

    /// The error message, after checking that the run failed the way bad input must: exit code
    /// 1 and a single `tessera: <message>` line on stderr.
    pub fn error(&self) -> &str {
        assert_eq!(self.code, Some(1), "expected exit code 1\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one error line on stderr:\n{}", self.stderr);
        lines[0].strip_prefix("tessera: ").unwrap_or_else(|| panic!("error line without `tessera: `: {}", lines[0]))
    }
}

/// Runs the `tessera` binary with `args` in the repository root; it must not panic.
pub fn tessera(args: &[&str]) -> Run {
    tessera_in(test_support::workspace_root(), args)
}

/// Runs the `tessera` binary with `args` in the folder `cwd`; it must not panic.
pub fn tessera_in(cwd: &std::path::Path, args: &[&str]) -> Run {
    let output =
        Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).current_dir(cwd).output().expect("tessera runs");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!run.stderr.contains("panicked"), "tessera {args:?} panicked:\n{}", run.stderr);
    run
}

/// Runs `tessera` with `args` in the repository root, `input` on its standard input.
pub fn tessera_with_stdin(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(test_support::workspace_root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tessera starts");
    child.stdin.take().expect("a pipe").write_all(input).unwrap();
    let output = child.wait_with_output().expect("tessera runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `name` in a scratch folder of this test process, `tag` keeping test binaries apart.
pub fn scratch(tag: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The number printed right after the first `key` in `text` (`%` and `,` end it).
pub fn number_after(text: &str, key: &str) -> f64 {
    let at = text.find(key).unwrap_or_else(|| panic!("no `{key}` in:\n{text}")) + key.len();
    let digits: String = text[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e'))
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("`{key}` is followed by `{digits}`, not a number, in:\n{text}"))
}

/// The lines of `text` that start with `prefix`.
pub fn lines_starting<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|line| line.starts_with(prefix)).collect()
}
