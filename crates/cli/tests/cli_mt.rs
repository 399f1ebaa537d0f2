//! `tessera mt` on a tiny made-up language pair (number words, German to English): train into a
//! model folder (stopping and resuming halfway), translate arguments and standard input, score
//! the test split; fine-tune from a folder (`--init`) under a CPU budget; and bad input is a
//! one-line error.

mod common;

use std::path::Path;

use common::{number_after, scratch, tessera, tessera_with_stdin};

const DE: [&str; 8] = ["eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht"];
const EN: [&str; 8] = ["one", "two", "three", "four", "five", "six", "seven", "eight"];

/// `count` pairs of 2 to 4 number words, header `de en`.
fn tsv(count: usize, seed: u64) -> String {
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut out = String::from("de\ten\n");
    for _ in 0..count {
        let words: Vec<usize> = (0..2 + next(3)).map(|_| next(8) as usize).collect();
        let de: Vec<&str> = words.iter().map(|&w| DE[w]).collect();
        let en: Vec<&str> = words.iter().map(|&w| EN[w]).collect();
        out.push_str(&format!("{}\t{}.\n", de.join(" "), en.join(" ")));
    }
    out
}

fn data_dir() -> std::path::PathBuf {
    let dir = scratch("mt", "numbers");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("train.tsv"), tsv(1000, 1)).unwrap();
    std::fs::write(dir.join("valid.tsv"), tsv(20, 2)).unwrap();
    std::fs::write(dir.join("test.tsv"), tsv(40, 3)).unwrap();
    dir
}

const SMALL: &[&str] = &[
    "--vocab-size",
    "300",
    "--embed",
    "32",
    "--hidden",
    "128",
    "--epochs",
    "16",
    "--max-tokens",
    "200",
    "--lr",
    "0.005",
    "--dropout",
    "0",
    "--label-smoothing",
    "0",
    "--valid-sentences",
    "20",
];

#[test]
fn a_tiny_transformer_trains_translates_and_evaluates() {
    let data = data_dir();
    let out = scratch("mt-transformer", "model");
    let (data_s, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["mt", "train", "--arch", "transformer", "--data", data_s, "--src", "de", "--tgt", "en"];
    args.extend(["--out", out_s, "--vocab-size", "300", "--embed", "32", "--heads", "2", "--ff", "64"]);
    args.extend(["--layers", "1", "--dropout", "0", "--epochs", "12", "--max-tokens", "256", "--lr", "3e-3"]);
    let report = tessera(&args).ok().to_string();
    assert!(report.contains("epoch  12:"), "{report}");
    let eval = tessera(&["mt", "eval", out_s, "--split", "test", "--beam", "2"]).ok().to_string();
    let bleu = number_after(&eval, "BLEU");
    assert!(bleu > 20.0, "test BLEU {bleu} after 12 epochs on number words:\n{report}\n{eval}");
    let lines = tessera(&["mt", "translate", out_s, "zwei drei", "vier eins"]).ok().to_string();
    assert_eq!(lines.lines().count(), 2, "{lines}");

    // Fine-tuning: --init starts from the folder's weights and vocabulary, and a CPU budget of
    // 0.12 s ends training inside the first epoch, which is still validated and saved.
    let tuned = scratch("mt-transformer", "tuned");
    let tuned_s = tuned.to_str().unwrap();
    let mut args = vec!["mt", "train", "--init", out_s, "--data", data_s, "--src", "de", "--tgt", "en"];
    args.extend(["--out", tuned_s, "--epochs", "5", "--max-tokens", "32", "--lr", "1e-4", "--cpu-minutes", "0.002"]);
    let report = tessera(&args).ok().to_string();
    assert!(report.contains("starting from") && report.contains("(budget spent)"), "{report}");
    assert!(report.contains("epoch   1:") && !report.contains("epoch   2:"), "{report}");
    let read = |dir: &Path| std::fs::read_to_string(dir.join("tokenizer.json")).unwrap();
    assert_eq!(read(&tuned), read(&out), "fine-tuning keeps the vocabulary");
    let eval = tessera(&["mt", "eval", tuned_s, "--split", "test"]).ok().to_string();
    assert!(number_after(&eval, "BLEU") > 20.0, "a gentle fine-tune forgot the task:\n{report}\n{eval}");

    // LoRA: only the adapters train (far fewer numbers), and they are merged into the weights.
    let lora = scratch("mt-transformer", "lora");
    let lora_s = lora.to_str().unwrap();
    let mut args = vec!["mt", "train", "--init", out_s, "--data", data_s, "--src", "de", "--tgt", "en"];
    args.extend(["--out", lora_s, "--epochs", "1", "--max-tokens", "256", "--lr", "1e-3", "--lora-rank", "2"]);
    let report = tessera(&args).ok().to_string();
    let before = report.split(" parameters (").next().unwrap_or_default();
    let all: f64 = before.split_whitespace().last().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let trained = number_after(&report, "parameters (");
    assert!(trained > 0.0 && trained < all / 4.0, "{trained} of {all} parameters trained:\n{report}");
    assert!(lora.join("lora.safetensors").is_file());
    let eval = tessera(&["mt", "eval", lora_s, "--split", "test"]).ok().to_string();
    assert!(number_after(&eval, "BLEU") > 20.0, "{report}\n{eval}");
    let mut bad = args.clone();
    bad.extend(["--lora-targets", "*no_such_weight*"]);
    let error = tessera(&bad).error().to_string();
    assert!(error.contains("no_such_weight") && error.lines().count() == 1, "{error}");
}

#[test]
fn train_resume_translate_and_eval_a_tiny_pair() {
    let data = data_dir();
    let out = scratch("mt", "model");
    let (data_s, out_s) = (data.to_str().unwrap(), out.to_str().unwrap());
    let base = ["mt", "train", "--data", data_s, "--src", "de", "--tgt", "en", "--out", out_s];
    let mut first: Vec<&str> = base.to_vec();
    first.extend(SMALL);
    first.extend(["--max-steps", "100"]);
    assert!(tessera(&first).ok().contains("continue with --resume"));
    let mut resumed: Vec<&str> = base.to_vec();
    resumed.extend(SMALL);
    resumed.push("--resume");
    let report = tessera(&resumed).ok().to_string();
    assert!(report.contains("epoch  16:"), "{report}");
    for file in ["config.json", "weights.safetensors", "tokenizer.json", "loss.svg", "bleu.svg"] {
        assert!(Path::new(&out).join(file).is_file(), "{file} missing from the model folder");
    }

    let eval = tessera(&["mt", "eval", out_s, "--split", "test"]).ok().to_string();
    let bleu = number_after(&eval, "BLEU");
    assert!(bleu > 30.0, "test BLEU {bleu} after 16 epochs on number words:\n{report}\n{eval}");
    let beam = tessera(&["mt", "eval", out_s, "--split", "test", "--beam", "3"]).ok().to_string();
    assert!(number_after(&beam, "chrF") > 50.0, "{beam}");

    let args = tessera(&["mt", "translate", out_s, "zwei drei", "vier eins"]).ok().to_string();
    assert_eq!(args.lines().count(), 2, "{args}");
    let piped =
        tessera_with_stdin(&["mt", "translate", out_s, "--beam", "2"], "zwei drei\n\nacht 漢字 \u{1F600}\n".as_bytes());
    let lines: Vec<String> = piped.ok().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[1], "", "an empty line translates to an empty line");
}

#[test]
fn bad_data_and_unknown_architectures_are_one_line_errors() {
    let dir = scratch("mt", "bad");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.tsv");
    std::fs::write(&bad, "de\ten\neins\tone\nzwei\n").unwrap();
    let base = ["mt", "train", "--data", bad.to_str().unwrap(), "--src", "de", "--tgt", "en", "--out"];
    let out = dir.join("model");
    let mut args = base.to_vec();
    args.push(out.to_str().unwrap());
    let message = tessera(&args).error().to_string();
    assert!(message.contains("bad.tsv:3:") && message.contains("the header has"), "{message}");

    let good = dir.join("good.tsv");
    std::fs::write(&good, tsv(10, 5)).unwrap();
    let message = tessera(&[
        "mt",
        "train",
        "--arch",
        "transformer",
        "--data",
        good.to_str().unwrap(),
        "--src",
        "de",
        "--tgt",
        "en",
        "--out",
        out.to_str().unwrap(),
        "--vocab-size",
        "300",
        "--embed",
        "30",
        "--heads",
        "4",
    ])
    .error()
    .to_string();
    assert!(message.contains("width 30 must be a multiple of heads 4"), "{message}");
    let message = tessera(&["mt", "translate", dir.join("none").to_str().unwrap(), "hallo"]).error().to_string();
    assert!(message.contains("no such model folder"), "{message}");
}
