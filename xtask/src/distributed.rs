//! `cargo xtask distributed`: the data-parallel benchmark. Builds `ddp_worker` (the
//! distributed crate's example, with MPI) and runs it under `mpirun` for
//!
//! - all-reduce of 1 to 100 MB on 2 ranks against a plain copy of the same bytes (goal: within
//!   3x of the copy on one machine);
//! - training throughput of 2 ranks x 1 thread against 1 rank x 1 thread for the MLP, the CNN
//!   and the LSTM language model (goal: 1.8x), with how much of backward was communication
//!   left exposed, with and without overlap.
//!
//! Run it under `flock /work/bench.lock` where other benchmarks may run.

use std::process::Command;

use crate::{cargo, workspace_root};

/// Runs the benchmark; `--quick` uses fewer sizes and steps.
pub fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    cargo(&["build", "--release", "-p", "distributed", "--features", "mpi", "--example", "ddp_worker"], &[])?;
    let worker = workspace_root().join("target/release/examples/ddp_worker");
    let sizes: &[usize] = if quick { &[1, 10] } else { &[1, 10, 50, 100] };
    println!("all-reduce (sum, f32) on 2 ranks vs a copy of the same bytes in one process:");
    for &mb in sizes {
        let repeats = (200 / mb).clamp(5, 50).to_string();
        println!("  {}", mpirun(&worker, 2, &["allreduce", &mb.to_string(), &repeats])?);
    }
    let steps = if quick { "20" } else { "60" };
    println!("training steps, 1 thread per rank (examples/s is global-batch examples per second):");
    for (model, batch) in [("mlp", "128"), ("cnn", "64"), ("lstm", "32")] {
        let one = mpirun(&worker, 1, &["bench", model, batch, steps])?;
        let two = mpirun(&worker, 2, &["bench", model, batch, steps])?;
        let serial = mpirun(&worker, 2, &["bench", model, batch, steps, "serial"])?;
        let rate = |line: &str| field(line, "examples_per_s");
        println!("  1 rank:             {one}");
        println!("  2 ranks, overlap:   {two}");
        println!("  2 ranks, no overlap: {serial}");
        println!(
            "  {model}: speed-up {:.2}x with overlap, {:.2}x without; exposed communication {:.1}% / {:.1}% of the 2-rank run",
            rate(&two) / rate(&one),
            rate(&serial) / rate(&one),
            100.0 * field(&two, "exposed_s") / field(&two, "seconds"),
            100.0 * field(&serial, "exposed_s") / field(&serial, "seconds"),
        );
    }
    Ok(())
}

/// The number after `name` in a `key value` line of the worker.
fn field(line: &str, name: &str) -> f64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == name).and_then(|w| w[1].parse().ok()).unwrap_or(f64::NAN)
}

/// `mpirun -n ranks worker args` with one thread per rank; its last line of output.
fn mpirun(worker: &std::path::Path, ranks: usize, args: &[&str]) -> Result<String, String> {
    let output = Command::new("mpirun")
        .args(["-n", &ranks.to_string(), "--bind-to", "core"])
        .arg(worker)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .map_err(|e| format!("cannot start mpirun (install openmpi-bin): {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("mpirun {args:?} failed: {stdout}{}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(stdout.lines().last().unwrap_or_default().to_string())
}
