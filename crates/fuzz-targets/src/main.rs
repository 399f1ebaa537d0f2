//! `tessera-fuzz`: runs the fuzz targets (see the crate docs).
//!
//! ```text
//! tessera-fuzz list
//! tessera-fuzz run [--target T]... [--seconds N] [--out DIR] [--seed S]
//! tessera-fuzz replay --target T FILE...
//! ```
//!
//! `run` supervises one worker process per target and restarts it after an abort, keeping the
//! input that caused it under `<out>/findings/<target>/`; inputs that reached new edges are kept
//! under `<out>/corpus/<target>/` and seed the next run. It ends with a table of runs, corpus
//! size, edges and findings per target, and fails when anything was found.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use fuzz_targets::runner::{self, FuzzConfig, input_name, read_dir_inputs};
use fuzz_targets::targets::{self, Target};

const USAGE: &str = "usage: tessera-fuzz list | run [--target T]... [--seconds N] [--out DIR] [--seed S] | \
                     replay --target T FILE...";

/// Parsed flags.
#[derive(Default)]
struct Flags {
    targets: Vec<String>,
    seconds: Option<f64>,
    out: Option<PathBuf>,
    seed: u64,
    files: Vec<PathBuf>,
}

fn parse(args: &[String]) -> Result<Flags, String> {
    let mut flags = Flags::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--target" => flags.targets.push(value("--target")?),
            "--seconds" => {
                let text = value("--seconds")?;
                let seconds: f64 = text.parse().map_err(|_| format!("--seconds {text:?} is not a number"))?;
                if !(seconds.is_finite() && seconds >= 0.0) {
                    return Err(format!("--seconds {text} must be a non-negative number"));
                }
                flags.seconds = Some(seconds);
            }
            "--out" => flags.out = Some(PathBuf::from(value("--out")?)),
            "--seed" => {
                let text = value("--seed")?;
                flags.seed = text.parse().map_err(|_| format!("--seed {text:?} is not an unsigned integer"))?;
            }
            other if other.starts_with("--") => return Err(format!("unknown flag {other}")),
            file => flags.files.push(PathBuf::from(file)),
        }
    }
    for name in &flags.targets {
        if targets::find(name).is_none() {
            let names: Vec<&str> = targets::all().iter().map(|t| t.name).collect();
            return Err(format!("no target {name:?}; targets: {}", names.join(", ")));
        }
    }
    Ok(flags)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("list") => {
            targets::all().iter().for_each(|t| println!("{}", t.name));
            Ok(true)
        }
        Some("run") => parse(&args[1..]).and_then(|f| supervise(&f)),
        Some("worker") => parse(&args[1..]).and_then(|f| worker(&f)),
        Some("replay") => parse(&args[1..]).and_then(|f| replay(&f)),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("tessera-fuzz: {message}");
            ExitCode::from(2)
        }
    }
}

fn out_dir(flags: &Flags) -> PathBuf {
    flags.out.clone().unwrap_or_else(|| std::env::temp_dir().join("tessera-fuzz"))
}

fn config(flags: &Flags, target: &Target, seconds: f64) -> FuzzConfig {
    let out = out_dir(flags);
    FuzzConfig {
        duration: Duration::from_secs_f64(seconds),
        max_runs: None,
        seed: flags.seed,
        work: runner::work_dir(target.name, std::process::id()),
        corpus_out: Some(out.join("corpus").join(target.name)),
        findings_out: Some(out.join("findings").join(target.name)),
        memory_cap: fuzz_targets::alloc::DEFAULT_CAP,
        time_limit: Duration::from_secs(5),
    }
}

/// Seeds, regressions and the kept corpus of `target`.
fn corpus(flags: &Flags, target: &Target) -> Vec<Vec<u8>> {
    let mut inputs = (target.seeds)();
    inputs.extend(runner::regressions(target).into_iter().map(|(_, bytes)| bytes));
    inputs.extend(read_dir_inputs(&out_dir(flags).join("corpus").join(target.name)).into_iter().map(|(_, b)| b));
    inputs
}

/// One target in this process; prints a `STATS` line for the supervisor.
fn worker(flags: &Flags) -> Result<bool, String> {
    let [name] = &flags.targets[..] else { return Err("a worker runs exactly one --target".into()) };
    let target = targets::find(name).ok_or_else(|| format!("no target {name:?}"))?;
    let config = config(flags, &target, flags.seconds.unwrap_or(10.0));
    let stats = runner::fuzz(&target, corpus(flags, &target), &config);
    let _ = std::fs::remove_dir_all(&config.work);
    println!(
        "STATS runs={} corpus={} covered={} edges={} peak={} findings={}",
        stats.runs,
        stats.corpus,
        stats.covered,
        stats.edges,
        stats.max_peak,
        stats.findings.len()
    );
    Ok(stats.findings.is_empty())
}

/// A worker's summing-up line, parsed.
#[derive(Default, Clone, Copy)]
struct Summary {
    runs: u64,
    corpus: u64,
    covered: u64,
    edges: u64,
    peak: u64,
    findings: u64,
}

fn summary(stdout: &str) -> Option<Summary> {
    let line = stdout.lines().rev().find(|l| l.starts_with("STATS "))?;
    let mut s = Summary::default();
    for field in line["STATS ".len()..].split_whitespace() {
        let (key, value) = field.split_once('=')?;
        let value: u64 = value.parse().ok()?;
        match key {
            "runs" => s.runs = value,
            "corpus" => s.corpus = value,
            "covered" => s.covered = value,
            "edges" => s.edges = value,
            "peak" => s.peak = value,
            "findings" => s.findings = value,
            _ => {}
        }
    }
    Some(s)
}

/// Runs each target in a worker for its share of the time, restarting it after an abort.
fn supervise(flags: &Flags) -> Result<bool, String> {
    let chosen: Vec<Target> = if flags.targets.is_empty() {
        targets::all()
    } else {
        targets::all().into_iter().filter(|t| flags.targets.contains(&t.name.to_string())).collect()
    };
    let seconds = flags.seconds.unwrap_or(10.0);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let out = out_dir(flags);
    println!(
        "{:<18} {:>9} {:>8} {:>7} {:>9} {:>9} {:>9}",
        "target", "runs", "runs/s", "corpus", "edges", "peak MiB", "findings"
    );
    let mut clean = true;
    for target in &chosen {
        let start = Instant::now();
        let mut total = Summary::default();
        let mut crashes = 0u64;
        let mut restarts = 0;
        loop {
            let left = seconds - start.elapsed().as_secs_f64();
            let mut command = Command::new(&exe);
            command.args(["worker", "--target", target.name, "--seconds", &format!("{:.3}", left.max(0.0))]);
            command.args(["--seed", &(flags.seed + restarts).to_string(), "--out"]).arg(&out);
            let child = command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start a worker: {e}"))?;
            let work = runner::work_dir(target.name, child.id());
            let output = child.wait_with_output().map_err(|e| format!("lost a worker: {e}"))?;
            let stdout = String::from_utf8_lossy(&output.stdout);
            match summary(&stdout) {
                Some(s) => {
                    total = Summary { runs: total.runs + s.runs, findings: total.findings + s.findings, ..s };
                    break;
                }
                None => {
                    crashes += 1;
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    let kept = keep_crash(&out, &work, target);
                    let _ = std::fs::remove_dir_all(&work);
                    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
                    eprintln!(
                        "{}: the worker died ({}); input kept as {}: {}",
                        target.name,
                        output.status,
                        kept.map_or_else(|| "(none found)".to_string(), |p| p.display().to_string()),
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    );
                    restarts += 1;
                    if restarts >= 20 || start.elapsed().as_secs_f64() >= seconds {
                        break;
                    }
                }
            }
        }
        let findings = total.findings + crashes;
        clean &= findings == 0;
        let rate = total.runs as f64 / start.elapsed().as_secs_f64().max(1e-9);
        println!(
            "{:<18} {:>9} {:>8.0} {:>7} {:>9} {:>9.1} {:>9}",
            target.name,
            total.runs,
            rate,
            total.corpus,
            format!("{}/{}", total.covered, total.edges),
            total.peak as f64 / (1 << 20) as f64,
            findings
        );
    }
    if !clean {
        println!("findings are under {}", out.join("findings").display());
    }
    Ok(clean)
}

/// Copies the input a dead worker left on disk into the findings; returns where.
fn keep_crash(out: &Path, work: &Path, target: &Target) -> Option<PathBuf> {
    let source = if target.is_folder() { work.join("current.bin") } else { work.join(target.files[0]) };
    let bytes = std::fs::read(source).ok()?;
    let dir = out.join("findings").join(target.name);
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("crash-{}", input_name(&bytes)));
    std::fs::write(&path, &bytes).ok()?;
    Some(path)
}

/// Runs files through a target once each, reporting every outcome.
fn replay(flags: &Flags) -> Result<bool, String> {
    let [name] = &flags.targets[..] else { return Err("replay takes exactly one --target".into()) };
    let target = targets::find(name).ok_or_else(|| format!("no target {name:?}"))?;
    let work = runner::work_dir(target.name, std::process::id());
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let mut clean = true;
    for file in &flags.files {
        let input = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let config =
            FuzzConfig { work: work.clone(), corpus_out: None, findings_out: None, ..config(flags, &target, 0.0) };
        let stats = runner::fuzz(&target, vec![input], &config);
        let verdict = stats.findings.first().map_or("ok".to_string(), |f| f.what.clone());
        clean &= stats.findings.is_empty();
        println!("{}: {verdict} (peak {} bytes)", file.display(), stats.max_peak);
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(clean)
}
