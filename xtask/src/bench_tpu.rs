//! The backend-tpu-sim section of `cargo xtask bench`: the simulator's stepped and fast modes
//! (SCALE-Sim's timing, then the faithful one with its memory path) on a 128x128
//! weight-stationary array running a 1024x1024x1024 GEMM, beside SCALE-Sim 3.0's CPU time for
//! the same case (run in `target/scalesim-venv`, made with pip when missing).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::show;

const SCRIPT: &str = "crates/backend-tpu-sim/tests/fixtures/run_scalesim.py";

pub(crate) fn report(root: &Path, nanos: impl Fn(&str, &str) -> Option<f64>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## backend-tpu-sim: 128x128 WS array, 1024x1024x1024 GEMM (s; ratio > 1 means Tessera is faster)\n"
    );
    let scalesim = scalesim_seconds(root);
    if let Err(why) = &scalesim {
        let _ = writeln!(out, "SCALE-Sim peer unavailable: {why}\n");
    }
    let _ = writeln!(out, "| mode | tessera | scalesim (CPU s) | scalesim / tessera |\n|---|---|---|---|");
    for mode in ["stepped", "fast", "faithful_stepped", "faithful_fast"] {
        let ours = nanos("tpu_sim_ws128_gemm1024", mode).map(|ns| ns / 1e9);
        let theirs = scalesim.as_ref().ok().copied();
        let ratio = ours.zip(theirs).map(|(a, b)| b / a);
        let _ = writeln!(out, "| {mode} | {} | {} | {} |", show_seconds(ours), show(theirs, 1), show(ratio, 0));
    }
    out
}

fn show_seconds(v: Option<f64>) -> String {
    v.map_or("-".into(), |s| if s < 1e-3 { format!("{:.2} µs", s * 1e6) } else { format!("{s:.3}") })
}

/// SCALE-Sim's CPU seconds for the case.
fn scalesim_seconds(root: &Path) -> Result<f64, String> {
    let python = scalesim_python(root)?;
    let code = format!(
        "import sys, time\nsys.path.insert(0, '{}')\nfrom run_scalesim import run\nstart = time.process_time()\n\
         run(128, 128, 'ws', 'Layer, M, N, K,\\nlayer, 1024, 1024, 1024,\\n', True)\nprint(time.process_time() - start)",
        root.join(SCRIPT).parent().map(|p| p.display().to_string()).unwrap_or_default()
    );
    let output = Command::new(&python).args(["-c", &code]).output().map_err(|e| format!("cannot run python: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("scalesim failed").to_string());
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().map_err(|e| format!("unexpected output: {e}"))
}

/// A Python with `scalesim` (which needs numpy<2) in `target/scalesim-venv`.
fn scalesim_python(root: &Path) -> Result<PathBuf, String> {
    crate::bench::venv_python(root, "scalesim-venv", "scalesim", &["numpy<2", "scalesim"])
}
