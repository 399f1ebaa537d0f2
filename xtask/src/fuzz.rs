//! `cargo xtask fuzz [--target T]... [--seconds N] [--plain]`: builds `tessera-fuzz` with edge
//! coverage and runs every target (or the named ones) for N seconds each (default 60).
//!
//! Coverage comes from LLVM's SanitizerCoverage through stable rustc flags (`-C
//! passes=sancov-module` and its `-C llvm-args`), added by this same program acting as
//! `RUSTC_WRAPPER` to the crates whose code reads outside input: Tessera's own crates and the
//! parsers they call (serde_json, safetensors, rust-ini, flate2). Build scripts and proc macros
//! run on the host (no `--target` argument) and are left alone. The build lives in
//! `target/<triple>/fuzz` (profile `fuzz`: release with overflow checks and debug assertions),
//! apart from the ordinary builds. `--plain` skips the instrumentation.

use std::process::Command;

/// The crates whose edges are counted.
const INSTRUMENTED: &[&str] = &[
    "tensor_core",
    "autograd",
    "nn_layers",
    "nlp",
    "ner",
    "qa",
    "translate",
    "transfer",
    "glue",
    "backend_tpu_sim",
    "fuzz_targets",
    "serde_json",
    "safetensors",
    "ini",
    "flate2",
    "miniz_oxide",
];

/// The SanitizerCoverage flags (all stable rustc options).
const SANCOV: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=3",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
];

/// The variable that tells this program it runs as the rustc wrapper.
const WRAPPER_MARK: &str = "TESSERA_FUZZ_WRAPPER";

/// When this program was started by cargo as `RUSTC_WRAPPER`: runs rustc with the coverage
/// flags added where they belong, and returns its exit code. `None` otherwise.
pub fn as_wrapper() -> Option<i32> {
    std::env::var_os(WRAPPER_MARK)?;
    let mut args = std::env::args().skip(1);
    let rustc = args.next()?;
    let args: Vec<String> = args.collect();
    let crate_name = args.iter().position(|a| a == "--crate-name").and_then(|i| args.get(i + 1));
    let for_target = args.iter().any(|a| a == "--target");
    let instrument = for_target && crate_name.is_some_and(|name| INSTRUMENTED.contains(&name.as_str()));
    let mut command = Command::new(rustc);
    command.args(&args);
    if instrument {
        command.args(SANCOV);
    }
    Some(match command.status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(e) => {
            eprintln!("xtask fuzz: cannot run rustc: {e}");
            1
        }
    })
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let output = Command::new("rustc").arg("-vV").output().map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "rustc -vV names no host".to_string())
}

/// Builds and runs the fuzzer.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut pass: Vec<String> = Vec::new();
    let mut seconds = "60".to_string();
    let mut plain = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--plain" => plain = true,
            "--seconds" => seconds = it.next().ok_or("--seconds needs a value")?.clone(),
            "--target" => {
                pass.push("--target".into());
                pass.push(it.next().ok_or("--target needs a value")?.clone());
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: cargo xtask fuzz [--target T]... [--seconds N] [--plain]"
                ));
            }
        }
    }
    let triple = host_triple()?;
    let root = crate::workspace_root();
    let mut envs: Vec<(&str, String)> = Vec::new();
    if !plain {
        let me = std::env::current_exe().map_err(|e| format!("cannot find xtask's own program: {e}"))?;
        envs.push(("RUSTC_WRAPPER", me.display().to_string()));
        envs.push((WRAPPER_MARK, "1".into()));
    }
    crate::cargo(
        &["build", "--profile", "fuzz", "--target", &triple, "-p", "fuzz-targets", "--bin", "tessera-fuzz"],
        &envs,
    )?;
    let exe = root.join("target").join(&triple).join("fuzz").join("tessera-fuzz");
    let out = root.join("target").join("fuzz-out");
    let status = Command::new(&exe)
        .arg("run")
        .args(&pass)
        .args(["--seconds", &seconds, "--out"])
        .arg(&out)
        .status()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the fuzzer found something (see {})", out.join("findings").display()))
    }
}
