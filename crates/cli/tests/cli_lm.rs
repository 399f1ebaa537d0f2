//! `tessera lm` end to end: train a recurrent model into a folder, stop and resume it, then
//! query it and an n-gram ARPA file through the same verbs (ppl, score, next, generate, a
//! mixture), and fail cleanly on bad input (a message naming the file, a non-zero exit, no
//! panic).

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
        let (ok, text) = tessera(&["lm", "generate", "--model", model, "--prompt", "the", "--seed", "3"]);
        assert!(ok && text.starts_with("the") && text.contains("ms per token"), "{model}: {text}");
        let (_, again) = tessera(&["lm", "generate", "--model", model, "--prompt", "the", "--seed", "3"]);
        assert_eq!(again.lines().next(), text.lines().next(), "a fixed seed writes the same text");
    }
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
