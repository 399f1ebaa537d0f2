//! `tessera` under `mpirun` (built with `--features mpi`): `devices` reports each rank and the
//! world size, and `train mlp` on 2 ranks prints the same epochs as on 1 (the global batch is
//! split, the gradients averaged). Skipped with the reason without the feature or `mpirun`
//! (failed under `CI=true`).

use std::process::{Command, Output};

fn mpirun_found() -> Result<(), String> {
    if !cfg!(feature = "mpi") {
        return Err("built without the `mpi` feature (cargo test -p tessera --features mpi)".into());
    }
    Command::new("mpirun").arg("--version").output().map(|_| ()).map_err(|e| format!("no `mpirun` ({e})"))
}

fn mpirun(ranks: usize, args: &[&str]) -> Output {
    Command::new("mpirun")
        .args(["-n", &ranks.to_string(), "--oversubscribe", env!("CARGO_BIN_EXE_tessera")])
        .args(args)
        .current_dir(test_support::workspace_root())
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("mpirun starts")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn devices_reports_rank_and_world_size() {
    let Some(()) = test_support::require("MPI", mpirun_found()) else { return };
    let text = stdout(&mpirun(2, &["devices"]));
    assert!(text.contains("MPI rank 0 of world size 2") && text.contains("MPI rank 1 of world size 2"), "{text}");
}

#[test]
fn two_ranks_train_the_mlp_like_one() {
    let Some(()) = test_support::require("MPI", mpirun_found()) else { return };
    let dir = std::env::temp_dir().join(format!("tessera-cli-mpi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |ranks: usize| {
        let out = dir.join(format!("mlp{ranks}.safetensors"));
        let text = stdout(&mpirun(
            ranks,
            &["train", "mlp", "--epochs", "2", "--hidden", "32", "--out", out.to_str().unwrap()],
        ));
        assert!(out.exists(), "rank 0 writes the checkpoint");
        text.lines()
            .filter(|l| l.starts_with("epoch"))
            .map(|l| l.split(" (").next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one.len(), 2, "one epoch line per epoch, from rank 0 alone");
    assert_eq!(one, two, "the same losses and accuracies on 1 and 2 ranks");
    std::fs::remove_dir_all(&dir).ok();
}
