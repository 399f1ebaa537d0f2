//! `tessera train mlp|cnn --resume`: a run killed with SIGKILL at random moments (mid-epoch and
//! in the middle of writing a checkpoint, which it does every two steps) and resumed each time
//! from its training checkpoint ends with a checkpoint byte-identical to an uninterrupted
//! one-thread run with the same seed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tessera;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-cli-resume-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The flags of the run, writing its final checkpoint to `out`.
fn args(arch: &str, out: &Path) -> Vec<String> {
    let out = out.display().to_string();
    ["train", arch, "--dataset", "digits", "--epochs", "4", "--hidden", "16", "--batch-size", "32", "--seed", "5"]
        .into_iter()
        .map(String::from)
        .chain(["--out".to_string(), out])
        .collect()
}

fn one_thread(command: &mut Command) -> &mut Command {
    command.env("RAYON_NUM_THREADS", "1").current_dir(test_support::workspace_root())
}

/// Runs `arch` to the end, killing it at random moments and resuming; returns how many kills
/// landed before it finished and its final checkpoint.
fn killed_and_resumed(arch: &str, dir: &Path, mut seed: u64) -> (usize, Vec<u8>) {
    let out = dir.join("killed");
    let ckpt = dir.join("ckpt");
    let mut kills = 0;
    for _ in 0..200 {
        let mut run = args(arch, &out);
        let started = ckpt.exists() || dir.join("ckpt.old").exists();
        run.extend([if started { "--resume" } else { "--checkpoint-dir" }.to_string(), ckpt.display().to_string()]);
        run.extend(["--checkpoint-every".to_string(), "2".to_string()]);
        let mut child = one_thread(&mut Command::new(env!("CARGO_BIN_EXE_tessera")))
            .args(&run)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // The first kill lands early (start-up and the first steps take longer than this); the
        // window then widens, so that kills land anywhere and a run eventually finishes.
        let wait_ms = 5 + (seed >> 33) % (30 + 40 * kills as u64);
        std::thread::sleep(Duration::from_millis(wait_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            continue;
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "{arch}: a resumed run failed ({status}) after {kills} kills");
        return (kills, std::fs::read(out.join("weights.safetensors")).unwrap());
    }
    panic!("{arch}: no run finished in 200 tries");
}

fn check(arch: &str, seed: u64) {
    let dir = scratch(arch);
    let reference = dir.join("reference");
    let status = one_thread(&mut Command::new(env!("CARGO_BIN_EXE_tessera")))
        .args(args(arch, &reference))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the uninterrupted {arch} run failed");
    let expected = std::fs::read(reference.join("weights.safetensors")).unwrap();
    let (kills, got) = killed_and_resumed(arch, &dir, seed);
    assert!(kills >= 1, "{arch}: the run finished before any kill; the test would prove nothing");
    assert!(got == expected, "{arch}: after {kills} kills the final checkpoint differs from the uninterrupted run's");
    eprintln!("{arch}: {kills} kills, final checkpoint identical");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_mlp_run_resumes_to_identical_weights() {
    check("mlp", 1);
}

#[test]
fn a_killed_cnn_run_resumes_to_identical_weights() {
    check("cnn", 2);
}

#[test]
fn resuming_from_a_folder_without_a_checkpoint_is_a_typed_error() {
    let dir = scratch("none");
    let missing = dir.join("nothing");
    let mut run = args("mlp", &dir.join("out"));
    run.extend(["--resume".to_string(), missing.display().to_string()]);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let message = tessera(&run).error().to_string();
    assert!(message.contains("nothing") && message.contains("no training checkpoint"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
