//! The data-parallel guarantees, checked by launching `examples/ddp_worker.rs` under `mpirun`:
//! two ranks with global batch B train the same parameters as one rank with batch B (MLP,
//! CNN, LSTM language model), every rank ends bit-identical, and a rank that panics, fails or
//! is killed ends the whole job within seconds with its message; the shared-memory all-reduce
//! sums like a reference in rank order, bit for bit, on 2 and 3 ranks and in pieces. These need MPI: built with
//! `--features mpi` and `mpirun` on the PATH; elsewhere they skip with the reason (and fail
//! under `CI=true`).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The worker example and `mpirun`, or the reason they are not there.
fn launcher() -> Result<PathBuf, String> {
    if !cfg!(feature = "mpi") {
        return Err("built without the `mpi` feature (cargo test -p distributed --features mpi)".into());
    }
    Command::new("mpirun").arg("--version").output().map_err(|e| format!("no `mpirun` on the PATH ({e})"))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).ok_or("no target folder")?;
    let worker = profile_dir.join("examples").join("ddp_worker");
    if !worker.exists() {
        return Err(format!("{} is not built (cargo builds it with the tests)", worker.display()));
    }
    Ok(worker)
}

/// `mpirun -n <ranks> ddp_worker <args>` with root allowed (CI runs as root), and its time.
fn mpirun(worker: &PathBuf, ranks: usize, args: &[&str]) -> (Output, Duration) {
    mpirun_with(worker, ranks, args, &[])
}

/// [`mpirun`] with extra environment variables.
fn mpirun_with(worker: &PathBuf, ranks: usize, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new("mpirun")
        .envs(env.iter().copied())
        .args(["-n", &ranks.to_string(), "--oversubscribe"])
        .arg(worker)
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("mpirun starts");
    (output, started.elapsed())
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn floats(path: &PathBuf) -> Vec<f32> {
    std::fs::read(path).unwrap().chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Trains `model` on 1 and on 2 ranks with the same global batch; checks that the parameters
/// agree to float tolerance and that both ranks of the 2-rank job hold the same bits.
fn equivalent(model: &str, batch: &str, steps: &str) {
    let Some(worker) = test_support::require("MPI", launcher()) else { return };
    let dir = std::env::temp_dir().join(format!("tessera-ddp-{model}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (one, two) = (dir.join("one.f32"), dir.join("two.f32"));
    let (single, _) = mpirun(&worker, 1, &["train", model, batch, steps, one.to_str().unwrap()]);
    assert!(single.status.success(), "1 rank: {}", text(&single));
    let (pair, _) = mpirun(&worker, 2, &["train", model, batch, steps, two.to_str().unwrap()]);
    assert!(pair.status.success(), "2 ranks: {}", text(&pair));
    let hashes: Vec<String> = String::from_utf8_lossy(&pair.stdout)
        .lines()
        .filter_map(|l| l.split(" hash ").nth(1).map(str::to_string))
        .collect();
    assert_eq!(hashes.len(), 2, "both ranks report a hash: {}", text(&pair));
    assert_eq!(hashes[0], hashes[1], "every rank holds bit-identical parameters");
    let (a, b) = (floats(&one), floats(&two));
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let worst = a.iter().zip(&b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(worst <= 1e-5 * scale.max(1.0), "{model}: 1 vs 2 ranks differ by {worst} (scale {scale})");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn two_ranks_train_the_mlp_like_one() {
    equivalent("mlp", "16", "20");
}

#[test]
fn two_ranks_train_the_cnn_like_one() {
    equivalent("cnn", "16", "10");
}

#[test]
fn two_ranks_train_the_lstm_lm_like_one() {
    equivalent("lstm", "8", "10");
}

/// Rank 1 fails at step 5 in the way `mode` names; the job must end non-zero within 10 s and
/// say why.
fn job_ends(mode: &str, expected: &str) {
    let Some(worker) = test_support::require("MPI", launcher()) else { return };
    let (output, took) = mpirun(&worker, 2, &["fault", mode, "5"]);
    let all = text(&output);
    assert!(!output.status.success(), "{mode}: the job must fail: {all}");
    assert!(took < Duration::from_secs(10), "{mode}: the job took {took:?} to end");
    assert!(all.contains(expected), "{mode}: the output names the failure ({expected:?}): {all}");
}

#[test]
fn a_rank_that_panics_ends_the_job_with_its_message() {
    job_ends("panic", "injected panic on rank 1 at step 5");
}

#[test]
fn a_rank_that_fails_ends_the_job_with_its_message() {
    job_ends("error", "rank 1 of 2: injected error on rank 1 at step 5");
}

#[test]
fn a_killed_rank_ends_the_job() {
    job_ends("kill", "rank 1");
}

/// The worker's `sums` check on `ranks` ranks with `env`; every rank must report success over
/// shared memory (or over MPI when `shared` is false).
fn sums(ranks: usize, env: &[(&str, &str)], shared: bool) {
    let Some(worker) = test_support::require("MPI", launcher()) else { return };
    let (output, _) = mpirun_with(&worker, ranks, &["sums"], env);
    let all = text(&output);
    assert!(output.status.success(), "{ranks} ranks {env:?}: {all}");
    let ok: Vec<&str> = all.lines().filter(|l| l.starts_with("sums ok")).collect();
    assert_eq!(ok.len(), ranks, "every rank reports: {all}");
    for line in ok {
        assert!(line.contains(&format!("shared {shared}")), "{line}");
        if shared {
            assert!(line.contains("mismatch: all-reduce mismatch"), "different lengths are an error: {line}");
        }
    }
}

#[test]
fn shared_memory_sums_match_a_reference_on_two_ranks() {
    sums(2, &[], true);
}

#[test]
fn shared_memory_sums_in_small_pieces_on_two_and_three_ranks() {
    // 4 KiB pieces: most lengths take several pieces, and 3 ranks split them unevenly.
    sums(2, &[("TESSERA_SHM_PIECE_KB", "4")], true);
    sums(3, &[("TESSERA_SHM_PIECE_KB", "4")], true);
}

#[test]
fn mpi_sums_match_the_same_reference() {
    sums(2, &[("TESSERA_SHM_ALLREDUCE", "off")], false);
}

#[test]
fn ranks_that_do_not_see_each_other_are_refused() {
    let Some(worker) = test_support::require("MPI", launcher()) else { return };
    // Started without mpirun but told by a (pretend) launcher that it is one of two: each such
    // process would be a one-rank world.
    let output = Command::new(&worker)
        .args(["train", "mlp", "16", "1", "/dev/null"])
        .env("PMI_SIZE", "2")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("the ranks do not see each other"), "{}", text(&output));
}

#[test]
/// Over shared memory (every rank of the test on this machine).
fn a_wrong_length_on_one_rank_fails_every_rank_instead_of_waiting() {
    let Some(worker) = test_support::require("MPI", launcher()) else { return };
    let (output, took) = mpirun_with(&worker, 2, &["lengths"], &[]);
    let all = text(&output);
    assert!(took < Duration::from_secs(10), "the ranks waited: {took:?}: {all}");
    assert!(output.status.success(), "{all}");
    assert!(all.contains("lengths ok rank 1: ") && all.contains("lengths ok rank 0: "), "{all}");
    assert!(all.contains("all-reduce mismatch"), "rank 0 is told: {all}");
}
