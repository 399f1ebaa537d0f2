//! The `tessera` binary end to end: train, evaluate the checkpoint, and fail cleanly (exit code
//! 1, one message naming what was wrong, no panic) on bad input. Numbers in the output are
//! parsed and checked against each other, not just looked for.

mod common;

use common::{Run, lines_starting, number_after, scratch, tessera};

/// The per-epoch lines and the summary of a `train` run, checked for shape: one line per epoch
/// numbered in order, finite losses, and the summary's accuracy equal to the last epoch's.
/// Returns (first train loss, last train loss, last test loss, summary test accuracy in %).
fn check_training(run: &Run, epochs: usize) -> (f64, f64, f64, f64) {
    let out = run.ok();
    let lines = lines_starting(out, "epoch ");
    assert_eq!(lines.len(), epochs, "one line per epoch:\n{out}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(number_after(line, "epoch") as usize, i + 1, "{line}");
    }
    let (first, last) = (lines[0], lines[epochs - 1]);
    let summary = lines_starting(out, "summary: ");
    assert_eq!(summary.len(), 1, "{out}");
    let accuracy = number_after(summary[0], "test accuracy");
    assert_eq!(number_after(summary[0], "after") as usize, epochs, "{}", summary[0]);
    assert_eq!(accuracy, number_after(last, "test acc"), "the summary reports the last epoch:\n{out}");
    let losses = [number_after(first, "train loss"), number_after(last, "train loss"), number_after(last, "test loss")];
    assert!(losses.iter().all(|l| l.is_finite() && *l > 0.0), "{out}");
    (losses[0], losses[1], losses[2], accuracy)
}

/// Evaluating a checkpoint on the digits' test split reproduces the training run's last test
/// loss and accuracy (the same weights, the same 359 images); returns the evaluation's line.
fn check_eval_matches(checkpoint: &str, test_loss: f64, accuracy: f64) -> String {
    let run = tessera(&["eval", "--dataset", "digits", "--checkpoint", checkpoint]);
    let line = run.ok().trim_end().to_string();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with(checkpoint) && line.contains("on Digits test (359 examples)"), "{line}");
    // Batches may differ, so f32 sums may too: allow the printed loss's last digit and one image.
    assert!((number_after(&line, "loss") - test_loss).abs() <= 2e-4, "{line} vs test loss {test_loss}");
    assert!((number_after(&line, "accuracy") - accuracy).abs() <= 100.0 / 359.0 + 1e-9, "{line} vs {accuracy}%");
    line
}

#[test]
fn train_then_eval_the_checkpoint() {
    let out = scratch("cli", "digits");
    let out_arg = out.to_str().unwrap();
    let run = tessera(&["train", "mlp", "--dataset", "digits", "--epochs", "3", "--hidden", "32", "--out", out_arg]);
    assert!(run.stdout.starts_with("training MLP 64-32-10 (2410 weights) on Digits: 1438 train / 359 test"));
    let (first_loss, last_loss, test_loss, accuracy) = check_training(&run, 3);
    assert!(last_loss < first_loss, "the training loss falls: {first_loss} -> {last_loss}");
    // Ten classes: chance is 10%; three epochs of a small MLP reach about 75%.
    assert!((50.0..=100.0).contains(&accuracy), "test accuracy {accuracy}%");
    let svg = std::fs::read_to_string(out.join("loss.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("polyline"));
    check_eval_matches(out_arg, test_loss, accuracy);

    // A single-file checkpoint of the same weights, as `train` wrote before model folders,
    // still loads (its sizes read from the stored shapes).
    let old = scratch("cli", "old.safetensors");
    std::fs::copy(out.join("weights.safetensors"), &old).unwrap();
    check_eval_matches(old.to_str().unwrap(), test_loss, accuracy);
}

#[test]
fn train_a_cnn_then_eval_and_inspect_it() {
    let out = scratch("cli-cnn", "cnn");
    let out_arg = out.to_str().unwrap();
    let run = tessera(&["train", "cnn", "--dataset", "digits", "--epochs", "2", "--hidden", "32", "--out", out_arg]);
    assert!(run.stdout.starts_with("training LeNet CNN 8x8"), "{}", run.stdout);
    let (_, _, test_loss, accuracy) = check_training(&run, 2);
    assert!((10.0..=100.0).contains(&accuracy), "test accuracy {accuracy}%");
    assert!(out.join("loss.svg").exists());
    let line = check_eval_matches(out_arg, test_loss, accuracy);
    assert!(line.contains(": CNN "), "{line}");

    let png = scratch("cli-cnn", "maps.png");
    let run =
        tessera(&["inspect", "cnn", "--dataset", "digits", "--checkpoint", out_arg, "--out", png.to_str().unwrap()]);
    let text = run.ok();
    assert!(text.contains("test image 0 (label ") && text.contains("16 kernels 3x3, 16 feature maps 8x8"), "{text}");
    assert!((0.0..=9.0).contains(&number_after(text, "(label")), "{text}");
    // A grid of 3 rows (image, kernels, maps) by 16 equal tiles, 4-pixel gaps, with content.
    let decoder = png::Decoder::new(std::io::Cursor::new(std::fs::read(&png).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let (width, height) = (frame.width as usize - 17 * 4, frame.height as usize - 4 * 4);
    assert!(width % 16 == 0 && height % 3 == 0 && width / 16 == height / 3, "{}x{}", frame.width, frame.height);
    assert!(pixels.iter().filter(|&&p| p != pixels[0]).count() > pixels.len() / 10, "the tiles are drawn");

    let run = tessera(&["inspect", "cnn", "--dataset", "digits", "--checkpoint", out_arg, "--index", "99999"]);
    assert_eq!(run.error(), "--index 99999 but the test split has 359 images");
}

#[test]
fn bad_input_is_a_message_not_a_panic() {
    let message =
        tessera(&["train", "mlp", "--dataset", "mnist", "--data-dir", "/nonexistent/mnist"]).error().to_string();
    assert_eq!(message, "dataset folder /nonexistent/mnist does not exist; pass --data-dir");
    let message = tessera(&["train", "tagger", "--corpus", "/nonexistent/brown.jsonl.gz"]).error().to_string();
    assert_eq!(message, "corpus /nonexistent/brown.jsonl.gz does not exist; pass --corpus");
    let message = tessera(&["eval", "--checkpoint", "/nonexistent/model.safetensors"]).error().to_string();
    assert!(message.starts_with("/nonexistent/model.safetensors: "), "{message}");
    let message = tessera(&["eval", "--checkpoint", "/nonexistent/model"]).error().to_string();
    assert!(message.starts_with("/nonexistent/model: "), "{message}");
    let bogus = scratch("cli", "bogus.safetensors");
    std::fs::write(&bogus, b"garbage").unwrap();
    let message = tessera(&["eval", "--checkpoint", bogus.to_str().unwrap()]).error().to_string();
    assert!(message.starts_with(&format!("{}: not a safetensors file", bogus.display())), "{message}");
}

#[test]
fn devices_lists_the_cpu_and_the_gpu_adapter_or_why_not() {
    let run = tessera(&["devices"]);
    let names: Vec<&str> = run.ok().lines().map(|l| l.split_whitespace().next().unwrap_or("")).collect();
    assert_eq!(names, ["cpu", "gpu", "tpu-sim"], "{}", run.stdout);
    let cpu = lines_starting(&run.stdout, "cpu ")[0];
    assert!(number_after(cpu, "—") >= 1.0 && cpu.contains(" threads"), "{cpu}");
    let gpu = lines_starting(&run.stdout, "gpu ")[0];
    assert!(gpu.contains("gpu (") || gpu.contains("unavailable: no GPU adapter"), "{gpu}");
}

/// The value in `row` under the right-aligned column `name` of the table whose header is `header`.
fn cell(header: &str, row: &str, name: &str) -> f64 {
    let end = header.find(name).unwrap_or_else(|| panic!("no column {name}: {header}")) + name.len();
    let value = row[..end].split_whitespace().last().unwrap_or("");
    value.parse().unwrap_or_else(|_| panic!("column {name} holds `{value}` in: {row}"))
}

#[test]
fn tpu_sim_reports_cycles_and_checks_the_stepped_array() {
    let scalesim = ["tpu-sim", "--gemm", "20,10,12", "--array", "8x8", "--dataflow", "ws", "--timing", "scalesim"];
    let run = tessera(&[&scalesim[..], &["--stepped"]].concat());
    let out = run.ok();
    let header = lines_starting(out, "layer ")[0];
    let (gemm, total) = (lines_starting(out, "gemm1 ")[0], lines_starting(out, "total ")[0]);
    // SCALE-Sim reports 167 (the last cycle's index) for this case; one layer, so total = layer.
    assert_eq!((cell(header, gemm, "cycles"), cell(header, total, "cycles")), (168.0, 168.0), "{out}");
    // The 20x12 inputs and the 12x10 weights read once, the 20x10 outputs written once.
    let traffic = ["ifmap rd", "filter rd", "ofmap wr"].map(|name| cell(header, gemm, name));
    assert_eq!(traffic, [480.0, 120.0, 400.0], "{out}");
    assert!(out.contains("gemm1: the stepped array and memory agree with the fast mode (168 cycles)"), "{out}");

    let run = tessera(&["tpu-sim", "--gemm", "200,512,512", "--stepped"]);
    let out = run.ok();
    assert!(out.contains("Faithful timing") && out.contains("agree with the fast mode"), "{out}");
    let (header, total) = (lines_starting(out, "layer ")[0], lines_starting(out, "total ")[0]);
    let (cycles, stream, stalls) =
        (cell(header, total, "cycles"), cell(header, total, "stream"), cell(header, total, "stall:wts"));
    assert!(stream > 0.0 && stalls <= cycles && stream <= cycles, "{out}");
    let util = cell(header, total, "util%");
    assert!(util > 0.0 && util <= 100.0, "utilisation {util}%:\n{out}");
    let message = tessera(&["tpu-sim", "--topology", "/nonexistent/layers.csv"]).error().to_string();
    assert!(message.starts_with("cannot read /nonexistent/layers.csv: "), "{message}");
}

/// A SCALE-Sim config that limits memory (issue 30: 4 kB SRAMs, USER bandwidth 10, 32x32 WS)
/// gives SCALE-Sim's own columns, which SCALE-Sim 3.0 printed for this convolution as
/// 1617, 1279, 566, 12300, 2050, 6912.
#[test]
fn tpu_sim_with_a_memory_limited_scalesim_config_gives_scalesims_columns() {
    let cfg = scratch("issue30", "issue30.cfg");
    std::fs::write(
        &cfg,
        "[general]\nrun_name = issue30\n\n[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\n\
         IfmapSramSzkB: 4\nFilterSramSzkB: 4\nOfmapSramSzkB: 4\nBandwidth: 10\nDataflow: ws\n\n\
         [layout]\nIfmapSRAMBankBandwidth: 10\nFilterSRAMBankBandwidth: 10\n\n\
         [run_presets]\nInterfaceBandwidth: USER\n",
    )
    .unwrap();
    let topology = scratch("issue30", "conv.csv");
    std::fs::write(
        &topology,
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n\
         conv, 14, 14, 3, 3, 8, 16, 1,\n",
    )
    .unwrap();
    let run =
        tessera(&["tpu-sim", "--config", cfg.to_str().unwrap(), "--topology", topology.to_str().unwrap(), "--stepped"]);
    let out = run.ok();
    let header = lines_starting(out, "layer ")[1];
    let conv = lines_starting(out, "conv ")[1];
    // The second "Total Cycles" column ends where "prefetch)   Total Cycles" does.
    let columns = [
        "(incl. prefetch)",
        "prefetch)   Total Cycles",
        "Stall Cycles",
        "DRAM IFMAP Reads",
        "DRAM Filter Reads",
        "DRAM OFMAP Writes",
    ]
    .map(|name| cell(header, conv, name));
    assert_eq!(columns, [1617.0, 1279.0, 566.0, 12300.0, 2050.0, 6912.0], "{out}");
    assert!(out.contains("conv: the stepped array and memory agree with the fast mode (1280 cycles)"), "{out}");
}
