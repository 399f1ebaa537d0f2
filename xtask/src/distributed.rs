//! `cargo xtask distributed`: the data-parallel benchmark. Builds `ddp_worker` (the
//! distributed crate's example, with MPI) and runs it under `mpirun` for
//!
//! - all-reduce of 1 to 100 MB on 2 ranks against a plain copy of the same bytes (goal: within
//!   3x of the copy on one machine): MPI's `MPI_Allreduce` and the job's own all-reduce
//!   (`distributed::Mpi::sum_f32`, over shared memory on one machine), which training uses;
//! - training throughput of 2 ranks x 1 thread against 1 rank x 1 thread for the MLP, the CNN
//!   and the LSTM language model (goal: 1.8x), with how much of backward was communication
//!   left exposed, with and without overlap: at the same global batch (each rank does half the
//!   work of a step), and at the same per-rank batch (the global batch doubles), the way
//!   PyTorch DDP and Horovod report throughput scaling; the last also with MPI's all-reduce
//!   (`TESSERA_SHM_ALLREDUCE=off`) for comparison.
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
    let mut summary = Vec::new();
    for &mb in sizes {
        let repeats = (200 / mb).clamp(5, 50).to_string();
        let line = mpirun(&worker, 2, &["allreduce", &mb.to_string(), &repeats], &[])?;
        println!("  {line}");
        summary.push(format!(
            "  {mb} MB: copy {:.3} ms; MPI_Allreduce {:.3} ms ({:.2}x the copy); shared memory {:.3} ms ({:.2}x)",
            field(&line, "copy_ms"),
            field(&line, "allreduce_ms"),
            field(&line, "ratio"),
            field(&line, "own_ms"),
            field(&line, "own_ratio"),
        ));
    }
    println!("{}", summary.join("\n"));
    println!("training steps, 1 thread per rank (examples/s is global-batch examples per second):");
    // Steps enough for a few seconds per run: the MLP's step is about 0.1 ms, the others' 1-2 ms.
    for (model, batch, steps) in [("mlp", 128usize, 20_000usize), ("cnn", 64, 2_000), ("lstm", 32, 2_000)] {
        let steps = if quick { steps / 10 } else { steps }.to_string();
        let run = |ranks: usize, global: usize, mode: &str, env: &[(&str, &str)]| -> Result<String, String> {
            let global = global.to_string();
            let mut args = vec!["bench", model, &global, &steps];
            args.extend((!mode.is_empty()).then_some(mode));
            mpirun(&worker, ranks, &args, env)
        };
        let one = run(1, batch, "", &[])?;
        let two = run(2, batch, "", &[])?;
        let serial = run(2, batch, "serial", &[])?;
        // DDP and Horovod report throughput at a fixed per-rank batch: the global batch grows
        // with the ranks.
        let weak = run(2, 2 * batch, "", &[])?;
        let weak_mpi = run(2, 2 * batch, "", &[("TESSERA_SHM_ALLREDUCE", "off")])?;
        let rate = |line: &str| field(line, "examples_per_s");
        let exposed = |line: &str| 100.0 * field(line, "exposed_s") / field(line, "seconds");
        println!("  1 rank:                          {one}");
        println!("  2 ranks, overlap:                {two}");
        println!("  2 ranks, no overlap:             {serial}");
        println!("  2 ranks, overlap, per-rank batch {batch}: {weak}");
        println!("  the same over MPI's all-reduce:  {weak_mpi}");
        println!(
            "  {model}: speed-up at global batch {batch}: {:.2}x with overlap, {:.2}x without (exposed communication \
             {:.1}% / {:.1}%); at {batch} per rank: {:.2}x (exposed {:.1}%), over MPI's all-reduce {:.2}x \
             (exposed {:.1}%)",
            rate(&two) / rate(&one),
            rate(&serial) / rate(&one),
            exposed(&two),
            exposed(&serial),
            rate(&weak) / rate(&one),
            exposed(&weak),
            rate(&weak_mpi) / rate(&one),
            exposed(&weak_mpi),
        );
    }
    Ok(())
}

/// The number after `name` in a `key value` line of the worker.
fn field(line: &str, name: &str) -> f64 {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).find(|w| w[0] == name).and_then(|w| w[1].parse().ok()).unwrap_or(f64::NAN)
}

/// `mpirun -n ranks worker args` with one thread per rank and `env`; its last line of output.
fn mpirun(worker: &std::path::Path, ranks: usize, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let output = Command::new("mpirun")
        .envs(env.iter().copied())
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
