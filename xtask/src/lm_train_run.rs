//! Runs `tessera lm train` (release build) for the long-run recipes (`gpt-shakespeare`,
//! `bert-pretrain`): builds the binary, streams its output, and keeps the line that sums up.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{cargo, workspace_root};

/// How a recipe's run ended: the last output line `keep` accepted, and the wall time (minutes).
pub(crate) struct Finished {
    pub line: Option<String>,
    pub minutes: f64,
}

impl Finished {
    /// Prints `<label>: <the kept line>; wall time <minutes> min`, the recipe's last line.
    pub(crate) fn print_summary(&self, label: &str) {
        let line = self.line.as_deref().unwrap_or("no validation line").trim();
        println!("\n{label}: {line}; wall time {:.1} min", self.minutes);
    }
}

/// The recipe's arguments after `--` go to `tessera`; those before it are the recipe's own.
pub(crate) fn split_args(args: &[String]) -> (&[String], &[String]) {
    match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &[][..]),
    }
}

/// The value after `flag` in `args`, or `default`.
pub(crate) fn option(args: &[String], flag: &str, default: &str) -> Result<String, String> {
    match args.iter().position(|a| a == flag) {
        Some(i) => args.get(i + 1).cloned().ok_or_else(|| format!("{flag} needs a value")),
        None => Ok(default.to_string()),
    }
}

/// `tessera lm train <flags> --train <text> --out target/<out> <extra>`, echoing its output.
pub(crate) fn lm_train(
    flags: &[&str],
    text: &Path,
    out: &str,
    extra: &[String],
    keep: impl Fn(&str) -> bool,
) -> Result<Finished, String> {
    let root = workspace_root();
    cargo(&["build", "--release", "-p", "tessera"], &[])?;
    let mut command = Command::new(root.join("target/release/tessera"));
    command
        .args(["lm", "train"])
        .args(flags)
        .arg("--train")
        .arg(text)
        .arg("--out")
        .arg(root.join("target").join(out))
        .args(extra)
        .current_dir(&root)
        .stdout(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("cannot run tessera: {e}"))?;
    let mut line = None;
    if let Some(stdout) = child.stdout.take() {
        for next in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{next}");
            if keep(&next) {
                line = Some(next);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("tessera did not finish: {e}"))?;
    if !status.success() {
        return Err(format!("`tessera lm train {}` failed ({status})", flags.join(" ")));
    }
    Ok(Finished { line, minutes: started.elapsed().as_secs_f64() / 60.0 })
}
