//! The backend-tpu-sim section of `cargo xtask bench`: the simulator's stepped and fast modes
//! (SCALE-Sim's timing, then the faithful one with its memory path) on a 128x128
//! weight-stationary array running a 1024x1024x1024 GEMM, beside SCALE-Sim 3.0's CPU time for
//! the same case (run in `target/scalesim-venv`, made with pip when missing); then the same for
//! a memory-limited case (issue 30: a 256x256x256 GEMM on a 32x32 WS array, 4 kB SRAMs, USER
//! bandwidth of 10 words a cycle), where SCALE-Sim's memory model is replayed too.

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
    let scalesim = scalesim_seconds(root, AMPLE_1024);
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
    let _ = writeln!(
        out,
        "\n## backend-tpu-sim: memory-limited, 32x32 WS array, 256x256x256 GEMM, 4 kB SRAMs, USER bandwidth 10 \
         (s; SCALE-Sim's memory model replayed)\n"
    );
    let scalesim = scalesim_seconds(root, MEMORY_LIMITED);
    if let Err(why) = &scalesim {
        let _ = writeln!(out, "SCALE-Sim peer unavailable: {why}\n");
    }
    let _ = writeln!(out, "| mode | tessera | scalesim (CPU s) | scalesim / tessera |\n|---|---|---|---|");
    for mode in ["stepped", "fast"] {
        let ours = nanos("tpu_sim_memory_limited", mode).map(|ns| ns / 1e9);
        let theirs = scalesim.as_ref().ok().copied();
        let ratio = ours.zip(theirs).map(|(a, b)| b / a);
        let _ = writeln!(out, "| {mode} | {} | {} | {} |", show_seconds(ours), show(theirs, 1), show(ratio, 0));
    }
    out
}

/// The 1024³ GEMM on a 128x128 WS array with ample SRAM (`run_scalesim.run`'s defaults).
const AMPLE_1024: &str = "run(128, 128, 'ws', gemm_topology(1024, 1024, 1024), True)";

/// Issue 30's memory-limited case.
const MEMORY_LIMITED: &str = "run_full(32, 32, 'ws', gemm_topology(256, 256, 256), True, sram_kb=4, bandwidth=10)";

fn show_seconds(v: Option<f64>) -> String {
    v.map_or("-".into(), |s| if s < 1e-3 { format!("{:.2} µs", s * 1e6) } else { format!("{s:.3}") })
}

/// SCALE-Sim's CPU seconds for `call` (a call into `run_scalesim.py`).
fn scalesim_seconds(root: &Path, call: &str) -> Result<f64, String> {
    let python = scalesim_python(root)?;
    let code = format!(
        "import sys, time\nsys.path.insert(0, '{}')\nfrom run_scalesim import *\nstart = time.process_time()\n\
         {call}\nprint(time.process_time() - start)",
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
