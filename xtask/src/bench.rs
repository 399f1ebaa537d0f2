//! `cargo xtask bench`: runs the criterion benches on 1 and 2 threads in paired rounds with the
//! peers (numpy's OpenBLAS for GEMM, JAX for training steps; see `bench_peers`) in a private
//! venv when Python is available, the n-gram builder beside KenLM's recorded numbers (see
//! `bench_ngram`), word2vec beside gensim (see `bench_word2vec`), and prints one table per
//! bench with ratios. The report is also written to
//! `target/bench-report.md`. `--only kernels|training|gpu|tpu|ngram|word2vec|predict|mt|ner|qa` runs one section (`training`: the training
//! steps beside JAX, a part of `kernels`); `--quick` shortens
//! criterion's measurements and trains word2vec for one epoch instead of three; `--rounds N`
//! sets how many paired rounds compare the kernels with their peers (default 3).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, workspace_root};

/// Paired rounds of Tessera and its peers (see `bench_peers`) unless `--rounds` says otherwise.
const DEFAULT_ROUNDS: usize = 3;

/// A peer's measurement: (threads, case, value).
pub(crate) type PeerRows = Result<Vec<(usize, String, f64)>, String>;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = match args.iter().position(|a| a == "--rounds").and_then(|i| args.get(i + 1)) {
        Some(n) => {
            n.parse().ok().filter(|&n: &usize| n > 0).ok_or(format!("--rounds wants a positive count, not {n}"))?
        }
        None => DEFAULT_ROUNDS,
    };
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(String::as_str);
    let wanted = |section: &str| only.is_none_or(|o| o == section);
    let root = workspace_root();
    let mut report = String::new();
    if wanted("kernels") {
        report.push_str(&kernel_report(&root, quick, rounds)?);
    }
    if only == Some("training") {
        // The training steps beside JAX alone (the kernels section includes them).
        report.push_str(&crate::bench_peers::training_report(&root, quick, rounds)?);
    }
    if only == Some("gpu") {
        // The gpu bench alone (the kernels section includes it): for a machine with a GPU.
        one_bench("gpu", quick)?;
        report.push_str(&crate::bench_gpu::report(&root, |group, id| criterion_nanos(&root, group, id)));
    }
    if only == Some("tpu") {
        one_bench("tpu_sim", quick)?;
        report.push_str(&crate::bench_tpu::report(&root, |group, id| criterion_nanos(&root, group, id)));
    }
    if wanted("ngram") {
        if only == Some("ngram") {
            one_bench("ngram", quick)?;
        }
        report.push_str(&crate::bench_ngram::report(&root, |group, id| criterion_nanos(&root, group, id)));
        report.push('\n');
    }
    if wanted("word2vec") {
        report.push_str(&crate::bench_word2vec::report(&root, quick));
    }
    if only == Some("mt") {
        // The translation transformer beside its JAX peer, and decoding with its cache.
        report.push_str(&crate::bench_mt::report(&root, quick, rounds)?);
    }
    if wanted("predict") {
        report.push_str(&crate::bench_predict::report(&root, quick)?);
    }
    if wanted("ner") {
        report.push_str(&crate::bench_ner::report(&root, quick)?);
    }
    if wanted("qa") {
        report.push_str(&crate::bench_qa::report(&root, quick)?);
    }
    println!("{report}");
    let path = root.join("target/bench-report.md");
    std::fs::write(&path, &report).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("report written to {}", path.display());
    Ok(())
}

/// Runs one criterion bench target on one thread.
fn one_bench(name: &str, quick: bool) -> Result<(), String> {
    let mut bench_args = vec!["bench", "--package", "tessera-benches", "--bench", name, "--"];
    if quick {
        bench_args.push("--quick");
    }
    cargo(&bench_args, &[("TESSERA_BENCH_THREADS", "1".to_string())])
}

/// The criterion benches beside numpy and JAX in paired rounds (see `bench_peers`), then the
/// GPU and TPU tables from the first round's full run.
fn kernel_report(root: &Path, quick: bool, rounds: usize) -> Result<String, String> {
    let mut report = crate::bench_peers::report(root, quick, rounds)?;
    report.push('\n');
    report.push_str(&crate::bench_gpu::report(root, |group, id| criterion_nanos(root, group, id)));
    report.push('\n');
    report.push_str(&crate::bench_tpu::report(root, |group, id| criterion_nanos(root, group, id)));
    report.push('\n');
    Ok(report)
}

/// Median nanoseconds of one criterion bench, if it ran.
pub(crate) fn criterion_nanos(root: &Path, group: &str, id: &str) -> Option<f64> {
    let path = root.join(format!("target/criterion/{group}/{id}/new/estimates.json"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

/// Operations per iteration a criterion bench declared (`Throughput::Elements`), if it ran.
pub(crate) fn criterion_elements(root: &Path, group: &str, id: &str) -> Option<f64> {
    let path = root.join(format!("target/criterion/{group}/{id}/new/benchmark.json"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["throughput"]["Elements"].as_f64()
}

/// A Python with numpy and threadpoolctl (and, if it installs, jax) in `target/peers-venv`.
pub(crate) fn peer_python(root: &Path) -> Result<PathBuf, String> {
    let python = venv_python(root, "peers-venv", "numpy, threadpoolctl", &["numpy", "threadpoolctl"])?;
    if !python_imports(&python, "jax") {
        // Optional: the training-step peer.
        let _ = Command::new(python.with_file_name("pip")).args(["install", "--quiet", "jax"]).status();
    }
    Ok(python)
}

/// The Python of `target/<name>`, made with `pip install <packages>` when it cannot import
/// `modules`.
pub(crate) fn venv_python(root: &Path, name: &str, modules: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let venv = root.join("target").join(name);
    let python = venv.join("bin/python");
    if !python_imports(&python, modules) {
        let _ = Command::new("python3").arg("-m").arg("venv").arg(&venv).status();
        let _ = Command::new(venv.join("bin/pip")).arg("install").arg("--quiet").args(packages).status();
        if !python_imports(&python, modules) {
            return Err(format!("no Python venv with {modules} could be made in {}", venv.display()));
        }
    }
    Ok(python)
}

fn python_imports(python: &Path, modules: &str) -> bool {
    Command::new(python).args(["-c", &format!("import {modules}")]).status().is_ok_and(|s| s.success())
}

/// Runs a peer script on `threads` threads and keeps CSV rows
/// `section,impl,variant,threads,case,unit,median,…` whose unit is `unit`.
/// Runs a peer script with `threads` as its argument (or `mode`, when the script takes a mode
/// and reads its thread count from `THREADS`) and collects its `unit` rows.
fn peer_rows(
    python: &Path,
    script: &Path,
    mode: Option<&str>,
    unit: &str,
    pin_one_thread: bool,
    threads: usize,
) -> PeerRows {
    if !script.exists() {
        return Err(format!("{} not found", script.display()));
    }
    let mut rows = Vec::new();
    {
        let mut command = if pin_one_thread && threads == 1 && which("taskset") {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(python);
            c
        } else {
            Command::new(python)
        };
        let output = command
            .arg(script)
            .arg(mode.map_or_else(|| threads.to_string(), str::to_string))
            .env("THREADS", threads.to_string())
            .env_remove("OPENBLAS_CORETYPE")
            .env_remove("OPENBLAS_L2_SIZE")
            .env("OPENBLAS_NUM_THREADS", threads.to_string())
            .env("XLA_FLAGS", format!("--xla_cpu_multi_thread_eigen={}", threads > 1))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !output.status.success() {
            return Err(format!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or("")
            ));
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let cols: Vec<&str> = line.split(',').collect();
            if cols.len() > 6
                && cols[5] == unit
                && let Ok(value) = cols[6].parse()
            {
                rows.push((threads, cols[4].to_string(), value));
            }
        }
    }
    Ok(rows)
}

fn which(program: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success())
}

pub(crate) fn numpy_sgemm(root: &Path, python: &Path, threads: usize) -> PeerRows {
    peer_rows(python, &root.join("../shared/peers/sgemm_numpy.py"), None, "GFLOP/s", false, threads)
}

pub(crate) fn jax_steps(root: &Path, python: &Path, threads: usize) -> PeerRows {
    let has_jax = Command::new(python).args(["-c", "import jax"]).status().is_ok_and(|s| s.success());
    if !has_jax {
        return Err("jax is not installed in the peer venv".into());
    }
    let mut rows = peer_rows(python, &root.join("../shared/peers/train_jax.py"), None, "ms/step", true, threads)?;
    // The neural-LM step's peer lives in this repository, beside the bench it pairs with.
    rows.extend(peer_rows(python, &root.join("xtask/peers/lm_jax.py"), None, "ms/step", true, threads)?);
    let gpt = root.join("../shared/peers/gpt_jax.py");
    rows.extend(peer_rows(python, &gpt, Some("step"), "ms/step", true, threads)?);
    Ok(rows)
}

pub(crate) fn peer_value(rows: &PeerRows, threads: usize, case: &str) -> Option<f64> {
    rows.as_ref().ok()?.iter().find(|(t, c, _)| *t == threads && c == case).map(|(_, _, v)| *v)
}

pub(crate) fn show(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.digits$}"))
}
