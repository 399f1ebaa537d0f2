//! `cargo xtask bench`: runs the criterion benches on 1 and 2 threads, runs the peers (numpy's
//! OpenBLAS) in a private venv when Python is available, and prints one table with ratios from
//! the same run. The report is also written to `target/bench-report.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, workspace_root};

const THREADS: [usize; 2] = [1, 2];
const SHAPES: [&str; 7] =
    ["64x64x64", "128x128x128", "256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "4096x1024x256"];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let root = workspace_root();
    for threads in THREADS {
        let mut bench_args = vec!["bench", "--package", "tessera-benches", "--bench", "matmul", "--"];
        if quick {
            bench_args.push("--quick");
        }
        cargo(&bench_args, &[("TESSERA_BENCH_THREADS", threads.to_string())])?;
    }
    let peers = numpy_sgemm(&root);
    let report = matmul_report(&root, &peers);
    println!("{report}");
    let path = root.join("target/bench-report.md");
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("report written to {}", path.display());
    Ok(())
}

/// GFLOP/s of one criterion bench from its saved estimate, if it ran.
fn tessera_gflops(root: &Path, threads: usize, shape: &str) -> Option<f64> {
    let path = root.join(format!("target/criterion/cpu_matmul_f32_t{threads}/{shape}/new/estimates.json"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let nanos = json["median"]["point_estimate"].as_f64()?;
    Some(flops(shape) / nanos)
}

fn flops(shape: &str) -> f64 {
    2.0 * shape.split('x').filter_map(|d| d.parse::<f64>().ok()).product::<f64>()
}

/// numpy's SGEMM GFLOP/s per (threads, shape), or why it is unavailable.
fn numpy_sgemm(root: &Path) -> Result<Vec<(usize, String, f64)>, String> {
    let python = peer_python(root)?;
    let script = root.join("../shared/peers/sgemm_numpy.py");
    if !script.exists() {
        return Err(format!("{} not found", script.display()));
    }
    let mut rows = Vec::new();
    for threads in THREADS {
        let output = Command::new(&python)
            .arg(&script)
            .arg(format!("t{threads}"))
            .env_remove("OPENBLAS_CORETYPE")
            .env_remove("OPENBLAS_L2_SIZE")
            .env("OPENBLAS_NUM_THREADS", threads.to_string())
            .output()
            .map_err(|e| format!("cannot run numpy peer: {e}"))?;
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let cols: Vec<&str> = line.split(',').collect();
            if cols.len() > 6
                && cols[0] == "sgemm"
                && cols[5] == "GFLOP/s"
                && let Ok(value) = cols[6].parse()
            {
                rows.push((threads, cols[4].to_string(), value));
            }
        }
    }
    Ok(rows)
}

/// A Python with numpy and threadpoolctl in `target/peers-venv`, created on first use.
fn peer_python(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join("target/peers-venv");
    let python = venv.join("bin/python");
    let ready =
        |p: &Path| Command::new(p).args(["-c", "import numpy, threadpoolctl"]).status().is_ok_and(|s| s.success());
    if ready(&python) {
        return Ok(python);
    }
    let made = Command::new("python3").arg("-m").arg("venv").arg(&venv).status().is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "numpy", "threadpoolctl"])
            .status()
            .is_ok_and(|s| s.success());
    if made && ready(&python) { Ok(python) } else { Err("no Python venv with numpy could be made".into()) }
}

fn matmul_report(root: &Path, peers: &Result<Vec<(usize, String, f64)>, String>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## f32 matmul, backend-cpu vs numpy/OpenBLAS (GFLOP/s, same run)\n");
    if let Err(why) = peers {
        let _ = writeln!(out, "numpy peer unavailable: {why}\n");
    }
    let _ = writeln!(out, "| threads | shape | tessera | numpy | tessera / numpy |\n|---|---|---|---|---|");
    for threads in THREADS {
        for shape in SHAPES {
            let ours = tessera_gflops(root, threads, shape);
            let theirs = peers
                .as_ref()
                .ok()
                .and_then(|rows| rows.iter().find(|(t, s, _)| *t == threads && s == shape).map(|(_, _, v)| *v));
            let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
            let ratio = match (ours, theirs) {
                (Some(a), Some(b)) => format!("{:.2}", a / b),
                _ => "-".into(),
            };
            let _ = writeln!(out, "| {threads} | {shape} | {} | {} | {ratio} |", show(ours), show(theirs));
        }
    }
    out
}
