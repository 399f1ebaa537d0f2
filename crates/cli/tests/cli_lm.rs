//! `tessera lm` end to end: train a recurrent model into a folder, stop and resume it, then
//! query it and an n-gram ARPA file through the same verbs (ppl, score, next, generate with every
//! sampling option, a mixture), and fail cleanly on bad input (a message naming the file or the
//! option, a non-zero exit, no panic).

mod common;

use std::path::PathBuf;
use std::process::Command;

fn tessera(args: &[&str]) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output =
        Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).current_dir(root).output().expect("tessera runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains("panicked"), "{text}");
    (output.status.success(), text)
}

const TEXT: &str = "the cat sat on the mat\nthe dog sat on the log\na cat saw the dog\nthe dog saw a cat on the mat\n\
                    a dog sat\nthe cat ate\nthe cat sat on the dog\na bird sang on the log\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-cli-lm-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn train_resume_and_query_neural_and_ngram_models_alike() {
    let dir = scratch("train");
    let corpus = dir.join("toy.txt");
    std::fs::write(&corpus, TEXT.repeat(10)).unwrap();
    let (corpus, out) = (corpus.to_str().unwrap(), dir.join("run"));
    let out_arg = out.to_str().unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "lm",
            "train",
            "--arch",
            "gru",
            "--train",
            corpus,
            "--valid",
            corpus,
            "--test",
            corpus,
            "--out",
            out_arg,
            "--embed",
            "16",
            "--hidden",
            "16",
            "--layers",
            "1",
            "--epochs",
            "2",
            "--batch",
            "4",
            "--bptt",
            "6",
            "--optimizer",
            "adamw",
            "--lr",
            "0.01",
            "--mean-loss",
            "--tie",
        ];
        args.extend_from_slice(extra);
        tessera(&args)
    };
    let (ok, text) = train(&["--max-steps", "5"]);
    assert!(ok && text.contains("stopped after 5 steps"), "{text}");
    let (ok, text) = train(&["--resume"]);
    assert!(ok && text.contains("epoch  2") && text.contains("test perplexity"), "{text}");
    let best = out.join("best");
    for file in ["config.json", "weights.safetensors", "vocab.txt"] {
        assert!(best.join(file).is_file(), "{file} is in the model folder");
    }
    assert!(std::fs::read_to_string(out.join("perplexity.svg")).unwrap().starts_with("<svg"));

    let arpa = dir.join("toy.arpa");
    let (ok, text) = tessera(&["ngram", "train", "--order", "3", "-o", arpa.to_str().unwrap(), corpus]);
    assert!(ok, "{text}");
    for model in [best.to_str().unwrap(), arpa.to_str().unwrap()] {
        let (ok, text) = tessera(&["lm", "ppl", "--model", model, corpus]);
        assert!(ok && text.contains("perplexity") && text.contains("80 sentences, 510 tokens"), "{model}: {text}");
        let (ok, text) = tessera(&["lm", "score", "--model", model, "the cat sat", "sat cat the"]);
        assert!(ok && text.contains("most fluent first"), "{model}: {text}");
        let (ok, text) = tessera(&["lm", "next", "--model", model, "the", "--top", "3"]);
        assert!(ok && text.lines().filter(|l| l.starts_with("  ")).count() == 3, "{model}: {text}");
        check_generation(model);
    }
    let arpa_arg = arpa.to_str().unwrap();
    let greedy_until = |stop: &str| {
        let args = ["lm", "generate", "--model", arpa_arg, "--prompt", "the", "--temperature", "0", "--stop", stop];
        common::tessera(&args).ok().to_string()
    };
    assert_eq!(greedy_until("sat"), "the cat sat\n", "greedy decoding stops after --stop");
    assert_eq!(greedy_until("on"), "the cat sat on\n");
    let (ok, text) = tessera(&[
        "lm",
        "ppl",
        "--model",
        arpa.to_str().unwrap(),
        "--mix",
        best.to_str().unwrap(),
        "--fit-on",
        corpus,
        corpus,
    ]);
    assert!(ok && text.contains("mixture"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `tessera lm generate` with `model`: tokens and a latency summary, the same text for the same
/// seed (every sampling option set), other text for another seed, and a typed error for each
/// option out of range.
fn check_generation(model: &str) {
    let generate = |extra: &[&str]| {
        let mut args = vec!["lm", "generate", "--model", model];
        if !extra.contains(&"--prompt") {
            args.extend_from_slice(&["--prompt", "the"]);
        }
        args.extend_from_slice(extra);
        common::tessera(&args)
    };
    let run = generate(&["--seed", "3"]);
    assert!(run.ok().starts_with("the") && run.stderr.contains("ms per token"), "{model}: {}", run.stderr);
    let sampled = [
        "--keep-going",
        "--max-tokens",
        "40",
        "--temperature",
        "0.9",
        "--top-k",
        "8",
        "--top-p",
        "0.95",
        "--repetition-penalty",
        "1.2",
    ];
    let with_seed = |seed: &str| generate(&[sampled.as_slice(), &["--seed", seed]].concat());
    let first = with_seed("5");
    let text = first.ok();
    assert!(first.stderr.starts_with("40 tokens in "), "{model}: {}", first.stderr);
    assert_eq!(with_seed("5").ok(), text, "{model}: a fixed seed writes the same text");
    assert_ne!(with_seed("6").ok(), text, "{model}: another seed writes other text");
    let summary = generate(&["--max-tokens", "5", "--keep-going"]).stderr;
    assert!(summary.starts_with("5 tokens in ") && summary.contains(" ms per token"), "{model}: {summary}");

    let bad = [
        (&["--top-p", "1.5"][..], "top_p 1.5 must lie in (0, 1]"),
        (&["--top-p", "0"], "top_p 0 must lie in (0, 1]"),
        (&["--top-k", "0"], "top_k must be at least 1"),
        (&["--temperature", "-1"], "temperature -1 must be finite and >= 0"),
        (&["--repetition-penalty", "0"], "repetition penalty 0 must be finite and > 0"),
        (&["--stop", "zebra"], "--stop `zebra` is not a token of the model's vocabulary"),
        (&["--prompt", "zebra quagga"], "every word of the prompt `zebra quagga` is outside the model's vocabulary"),
    ];
    for (flags, message) in bad {
        let error = generate(flags).error().to_string();
        assert!(error.contains(message), "{model} {flags:?}: `{error}` does not say `{message}`");
    }
}

#[test]
fn bad_input_names_the_file() {
    let dir = scratch("bad");
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let (ok, text) =
        tessera(&["lm", "train", "--arch", "lstm", "--train", empty, "--valid", empty, "--out", dir.to_str().unwrap()]);
    assert!(!ok && text.contains(empty) && text.contains("no text"), "{text}");
    let folder = dir.join("not-a-model");
    std::fs::create_dir_all(&folder).unwrap();
    let (ok, text) = tessera(&["lm", "ppl", "--model", folder.to_str().unwrap(), empty]);
    assert!(!ok && text.contains("config.json") && text.contains("missing"), "{text}");
    let arpa = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/austen/SOURCE.md");
    let (ok, text) = tessera(&["lm", "generate", "--model", arpa.to_str().unwrap(), "--prompt", "x"]);
    assert!(!ok && text.contains("SOURCE.md"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_character_gpt_trains_resumes_and_answers_the_same_verbs() {
    let dir = scratch("gpt");
    let corpus = dir.join("toy.txt");
    std::fs::write(&corpus, TEXT.repeat(20)).unwrap();
    let (corpus, out) = (corpus.to_str().unwrap(), dir.join("run"));
    let out_arg = out.to_str().unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "lm",
            "train",
            "--arch",
            "gpt",
            "--chars",
            "--train",
            corpus,
            "--out",
            out_arg,
            "--layers",
            "1",
            "--heads",
            "2",
            "--width",
            "16",
            "--context",
            "16",
            "--steps",
            "8",
            "--eval-every",
            "4",
            "--eval-windows",
            "4",
            "--positions",
            "rotary",
            "--accumulate",
            "2",
        ];
        args.extend_from_slice(extra);
        tessera(&args)
    };
    let (ok, text) = train(&["--max-steps", "5"]);
    assert!(ok && text.contains("stopped after 5 steps"), "{text}");
    let (ok, text) = train(&["--resume", "--test", corpus]);
    assert!(ok && text.contains("step     8: train loss") && text.contains("final val loss"), "{text}");
    let best = out.join("best");
    assert!(best.join("chars.json").is_file());
    let model = best.to_str().unwrap();
    let (ok, text) = tessera(&["lm", "ppl", "--model", model, corpus]);
    assert!(ok && text.contains("GPT 1 layers x 2 heads") && text.contains("0 OOV"), "{text}");
    let (ok, text) = tessera(&["lm", "generate", "--model", model, "--prompt", "the c", "--max-tokens", "30"]);
    assert!(ok && text.starts_with("the c") && text.contains("ms per token"), "{text}");
    let (ok, text) = tessera(&["lm", "next", "--model", model, "the", "--top", "2"]);
    assert!(ok, "{text}");
    let bad = ["lm", "train", "--arch", "gpt", "--chars", "--train", corpus, "--out", out_arg, "--heads", "3"];
    let (ok, text) = tessera(&bad);
    assert!(!ok && text.contains("multiple of heads 3"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bert_pretrains_into_a_model_folder_and_reports_masked_token_accuracy() {
    let dir = scratch("bert");
    let corpus = dir.join("toy.txt");
    std::fs::write(&corpus, TEXT.repeat(20)).unwrap();
    let (corpus, out) = (corpus.to_str().unwrap(), dir.join("run"));
    let out_arg = out.to_str().unwrap();
    let mut args = vec!["lm", "train", "--arch", "bert", "--train", corpus, "--out", out_arg, "--layers", "1"];
    args.extend(["--heads", "2", "--width", "16", "--context", "16", "--steps", "8", "--eval-every", "4"]);
    args.extend(["--eval-windows", "8", "--batch", "4", "--warmup", "2"]);
    let (ok, text) = tessera(&args);
    assert!(ok && text.contains("step      8: train loss") && text.contains("masked-token accuracy"), "{text}");
    assert!(text.contains("summary: held-out masked-token accuracy") && text.contains("majority baseline"), "{text}");
    let best = out.join("best");
    assert!(best.join("vocab.txt").is_file() && best.join("weights.safetensors").is_file());
    let (ok, text) = tessera(&["lm", "ppl", "--model", best.to_str().unwrap(), corpus]);
    assert!(!ok && text.contains("masked LM"), "{text}");
    let (ok, text) = tessera(&[args.as_slice(), &["--resume"]].concat());
    assert!(!ok && text.contains("does not take --resume"), "{text}");
    let with = |flag: &str, value: &'static str| {
        let mut changed = args.clone();
        let at = changed.iter().position(|a| *a == flag).unwrap();
        changed[at + 1] = value;
        tessera(&changed)
    };
    let (ok, text) = with("--heads", "3");
    assert!(!ok && text.contains("multiple of heads 3"), "{text}");
    let (ok, text) = with("--context", "3");
    assert!(!ok && text.contains("cannot hold a sentence pair"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
