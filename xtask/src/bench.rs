//! `cargo xtask bench`: runs the criterion benches on 1 and 2 threads, then the peers (numpy's
//! OpenBLAS for GEMM, JAX for training steps) in a private venv when Python is available, the
//! n-gram builder beside KenLM's recorded numbers (see `bench_ngram`), word2vec beside gensim
//! (see `bench_word2vec`), and
//! prints one table per bench with ratios. The report is also written to
//! `target/bench-report.md`. `--only kernels|gpu|tpu|ngram|word2vec` runs one section; `--quick` shortens
//! criterion's measurements and trains word2vec for one epoch instead of three.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, workspace_root};

const THREADS: [usize; 2] = [1, 2];
const SHAPES: [&str; 7] =
    ["64x64x64", "128x128x128", "256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "4096x1024x256"];

/// A peer's measurement: (threads, case, value).
type PeerRows = Result<Vec<(usize, String, f64)>, String>;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).map(String::as_str);
    let wanted = |section: &str| only.is_none_or(|o| o == section);
    let root = workspace_root();
    let mut report = String::new();
    if wanted("kernels") {
        report.push_str(&kernel_report(&root, quick)?);
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

/// The criterion benches (every bench target) on 1 and 2 threads beside numpy and JAX.
fn kernel_report(root: &Path, quick: bool) -> Result<String, String> {
    let python = peer_python(root);
    let (mut numpy, mut jax): (PeerRows, PeerRows) = (Ok(Vec::new()), Ok(Vec::new()));
    // Each thread count runs Tessera and then its peers back to back, so a ratio compares
    // measurements taken minutes apart at most on this shared, noisy machine.
    for threads in THREADS {
        let mut bench_args = vec!["bench", "--package", "tessera-benches", "--"];
        if quick {
            bench_args.push("--quick");
        }
        cargo(&bench_args, &[("TESSERA_BENCH_THREADS", threads.to_string())])?;
        merge(&mut numpy, python.clone().and_then(|p| numpy_sgemm(root, &p, threads)));
        merge(&mut jax, python.clone().and_then(|p| jax_steps(root, &p, threads)));
    }
    let mut report = matmul_report(root, &numpy);
    report.push('\n');
    report.push_str(&training_report(root, &jax));
    report.push('\n');
    report.push_str(&crate::bench_gpu::report(root, |group, id| criterion_nanos(root, group, id)));
    report.push('\n');
    report.push_str(&crate::bench_tpu::report(root, |group, id| criterion_nanos(root, group, id)));
    report.push('\n');
    Ok(report)
}

/// Median nanoseconds of one criterion bench, if it ran.
fn criterion_nanos(root: &Path, group: &str, id: &str) -> Option<f64> {
    let path = root.join(format!("target/criterion/{group}/{id}/new/estimates.json"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn flops(shape: &str) -> f64 {
    2.0 * shape.split('x').filter_map(|d| d.parse::<f64>().ok()).product::<f64>()
}

/// A Python with numpy and threadpoolctl (and, if it installs, jax) in `target/peers-venv`.
fn peer_python(root: &Path) -> Result<PathBuf, String> {
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

/// Adds one run's rows to the rows so far (an error sticks).
fn merge(into: &mut PeerRows, more: PeerRows) {
    match (into.as_mut(), more) {
        (Ok(rows), Ok(more)) => rows.extend(more),
        (Ok(_), Err(why)) => *into = Err(why),
        (Err(_), _) => {}
    }
}

/// Runs a peer script on `threads` threads and keeps CSV rows
/// `section,impl,variant,threads,case,unit,median,…` whose unit is `unit`.
fn peer_rows(python: &Path, script: &Path, unit: &str, pin_one_thread: bool, threads: usize) -> PeerRows {
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
            .arg(threads.to_string())
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

fn numpy_sgemm(root: &Path, python: &Path, threads: usize) -> PeerRows {
    peer_rows(python, &root.join("../shared/peers/sgemm_numpy.py"), "GFLOP/s", false, threads)
}

fn jax_steps(root: &Path, python: &Path, threads: usize) -> PeerRows {
    let has_jax = Command::new(python).args(["-c", "import jax"]).status().is_ok_and(|s| s.success());
    if !has_jax {
        return Err("jax is not installed in the peer venv".into());
    }
    peer_rows(python, &root.join("../shared/peers/train_jax.py"), "ms/step", true, threads)
}

fn peer_value(rows: &PeerRows, threads: usize, case: &str) -> Option<f64> {
    rows.as_ref().ok()?.iter().find(|(t, c, _)| *t == threads && c == case).map(|(_, _, v)| *v)
}

pub(crate) fn show(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.digits$}"))
}

fn matmul_report(root: &Path, numpy: &PeerRows) -> String {
    let mut out = String::new();
    let _ =
        writeln!(out, "## f32 matmul, backend-cpu vs numpy/OpenBLAS (GFLOP/s; ratio > 1 means Tessera is faster)\n");
    if let Err(why) = numpy {
        let _ = writeln!(out, "numpy peer unavailable: {why}\n");
    }
    let _ = writeln!(out, "| threads | shape | tessera | numpy | tessera / numpy |\n|---|---|---|---|---|");
    for threads in THREADS {
        for shape in SHAPES {
            let ours = criterion_nanos(root, &format!("cpu_matmul_f32_t{threads}"), shape).map(|ns| flops(shape) / ns);
            let theirs = peer_value(numpy, threads, shape);
            let ratio = ours.zip(theirs).map(|(a, b)| a / b);
            let _ =
                writeln!(out, "| {threads} | {shape} | {} | {} | {} |", show(ours, 1), show(theirs, 1), show(ratio, 2));
        }
    }
    out
}

fn training_report(root: &Path, jax: &PeerRows) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Training steps, backend-cpu vs JAX (XLA, jit) (ms/step; ratio > 1 means Tessera is faster)\n"
    );
    if let Err(why) = jax {
        let _ = writeln!(out, "JAX peer unavailable: {why}\n");
    }
    let _ = writeln!(out, "| threads | workload | tessera | jax | jax / tessera |\n|---|---|---|---|---|");
    let cases = [
        ("mlp_step", "784-256-10_b64", "mlp784-256-10_b64_step"),
        ("conv2d", "3x3_16-32_32x32_b32_fwdbwd", "conv3x3_16to32_32x32_b32_fwdbwd"),
        ("lstm", "in128_h256_seq35_b20_fwdbwd", "lstm_in128_h256_seq35_b20_fwdbwd"),
    ];
    for threads in THREADS {
        for (bench, id, peer_case) in cases {
            let ours = criterion_nanos(root, &format!("cpu_{bench}_t{threads}"), id).map(|ns| ns / 1e6);
            let theirs = peer_value(jax, threads, peer_case);
            let ratio = ours.zip(theirs).map(|(a, b)| b / a);
            let _ = writeln!(
                out,
                "| {threads} | {bench} {id} | {} | {} | {} |",
                show(ours, 3),
                show(theirs, 3),
                show(ratio, 2)
            );
        }
    }
    out
}
