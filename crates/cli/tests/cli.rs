//! The `tessera` binary end to end: train, evaluate the checkpoint, and fail cleanly (a message,
//! a non-zero exit, no panic) on bad input.

use std::path::PathBuf;
use std::process::Command;

fn tessera(args: &[&str]) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output =
        Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).current_dir(root).output().expect("tessera runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[test]
fn train_then_eval_the_checkpoint() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("digits.safetensors");
    let out_arg = out.to_str().unwrap();
    let (ok, text) =
        tessera(&["train", "mlp", "--dataset", "digits", "--epochs", "3", "--hidden", "32", "--out", out_arg]);
    assert!(ok, "{text}");
    assert!(text.contains("summary: test accuracy"), "{text}");
    assert!(out.exists() && out.with_extension("svg").exists());
    let svg = std::fs::read_to_string(out.with_extension("svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("polyline"));
    let (ok, text) = tessera(&["eval", "--dataset", "digits", "--checkpoint", out_arg]);
    assert!(ok && text.contains("accuracy"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn train_a_cnn_then_eval_and_inspect_it() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-cnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("cnn.safetensors");
    let out_arg = out.to_str().unwrap();
    let (ok, text) =
        tessera(&["train", "cnn", "--dataset", "digits", "--epochs", "2", "--hidden", "32", "--out", out_arg]);
    assert!(ok, "{text}");
    assert!(text.contains("LeNet CNN 8x8") && text.contains("summary: test accuracy"), "{text}");
    assert!(out.with_extension("svg").exists());
    let (ok, text) = tessera(&["eval", "--dataset", "digits", "--checkpoint", out_arg]);
    assert!(ok && text.contains("CNN") && text.contains("accuracy"), "{text}");
    let png = dir.join("maps.png");
    let (ok, text) =
        tessera(&["inspect", "cnn", "--dataset", "digits", "--checkpoint", out_arg, "--out", png.to_str().unwrap()]);
    assert!(ok && text.contains("16 kernels 3x3") && text.contains("16 feature maps 8x8"), "{text}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let (ok, text) = tessera(&["inspect", "cnn", "--dataset", "digits", "--checkpoint", out_arg, "--index", "99999"]);
    assert!(!ok && text.contains("99999") && !text.contains("panicked"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_input_is_a_message_not_a_panic() {
    let (ok, text) = tessera(&["train", "mlp", "--dataset", "mnist", "--data-dir", "/nonexistent/mnist"]);
    assert!(!ok && text.contains("/nonexistent/mnist") && !text.contains("panicked"), "{text}");
    let (ok, text) = tessera(&["train", "tagger", "--corpus", "/nonexistent/brown.jsonl.gz"]);
    assert!(!ok && text.contains("/nonexistent/brown.jsonl.gz") && !text.contains("panicked"), "{text}");
    let (ok, text) = tessera(&["eval", "--checkpoint", "/nonexistent/model.safetensors"]);
    assert!(!ok && text.contains("/nonexistent/model.safetensors") && !text.contains("panicked"), "{text}");
    let bogus = std::env::temp_dir().join(format!("tessera-bogus-{}.safetensors", std::process::id()));
    std::fs::write(&bogus, b"garbage").unwrap();
    let (ok, text) = tessera(&["eval", "--checkpoint", bogus.to_str().unwrap()]);
    assert!(!ok && text.contains("not a safetensors file") && !text.contains("panicked"), "{text}");
    std::fs::remove_file(bogus).unwrap();
}

#[test]
fn devices_lists_the_cpu_and_the_gpu_adapter_or_why_not() {
    let (ok, out) = tessera(&["devices"]);
    assert!(ok, "{out}");
    assert!(out.lines().any(|l| l.starts_with("cpu ")), "{out}");
    let gpu = out.lines().find(|l| l.starts_with("gpu ")).unwrap_or_else(|| panic!("no gpu line: {out}"));
    assert!(gpu.contains("gpu (") || gpu.contains("unavailable: no GPU adapter"), "{gpu}");
}

#[test]
fn tpu_sim_reports_cycles_and_checks_the_stepped_array() {
    let scalesim = ["tpu-sim", "--gemm", "20,10,12", "--array", "8x8", "--dataflow", "ws", "--timing", "scalesim"];
    let (ok, out) = tessera(&[&scalesim[..], &["--stepped"]].concat());
    assert!(ok, "{out}");
    // SCALE-Sim reports 167 (the last cycle's index) for this case.
    assert!(out.lines().any(|l| l.starts_with("gemm1") && l.contains(" 168 ")), "{out}");
    assert!(out.contains("agree with the fast mode (168 cycles)"), "{out}");
    let (ok, out) = tessera(&["tpu-sim", "--gemm", "200,512,512", "--stepped"]);
    assert!(ok && out.contains("Faithful timing") && out.contains("agree with the fast mode"), "{out}");
    let (ok, out) = tessera(&["tpu-sim", "--topology", "/nonexistent/layers.csv"]);
    assert!(!ok && out.contains("cannot read /nonexistent/layers.csv"), "{out}");
}
