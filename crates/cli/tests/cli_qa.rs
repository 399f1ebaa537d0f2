//! `tessera qa train|eval|answer` on a tiny synthetic SQuAD file in a scratch folder: training
//! learns it, `eval` reproduces the score and writes the official predictions format, `answer`
//! prints an exact passage substring, and bad input is one error line naming the file and the
//! question.

mod common;

use common::{number_after, scratch, tessera};
use serde_json::json;

/// Passages of filler words; the question names a marker word, the answer is the next two.
fn synthetic(n: usize, seed: u64) -> serde_json::Value {
    let filler = ["red", "blue", "green", "stone", "river", "lamp", "seven", "north", "Öl", "çay"];
    let markers = ["alpha", "beta", "gamma", "delta"];
    let mut state = seed.wrapping_add(17);
    let mut next = |m: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % m as u64) as usize
    };
    let paragraphs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let len = 8 + next(8);
            let mut words: Vec<&str> = (0..len).map(|_| filler[next(filler.len())]).collect();
            let at = next(len - 2);
            let marker = markers[next(markers.len())];
            words[at] = marker;
            let start = words[..at + 1].iter().map(|w| w.chars().count() + 1).sum::<usize>();
            json!({"context": words.join(" "), "qas": [{"id": format!("q{seed}-{i}"),
                "question": format!("What follows {marker}?"),
                "answers": [{"text": words[at + 1..at + 3].join(" "), "answer_start": start}]}]})
        })
        .collect();
    json!({"data": [{"title": "synthetic", "paragraphs": paragraphs}]})
}

#[test]
fn train_eval_answer_on_a_synthetic_squad_file() {
    let train = scratch("qa", "train.json");
    let dev = scratch("qa", "dev.json");
    std::fs::write(&train, synthetic(300, 1).to_string()).unwrap();
    std::fs::write(&dev, synthetic(60, 2).to_string()).unwrap();
    let model = scratch("qa", "reader");
    let (train_s, dev_s, model_s) = (train.to_str().unwrap(), dev.to_str().unwrap(), model.to_str().unwrap());
    let out = tessera(&[
        "qa",
        "train",
        "--train",
        train_s,
        "--dev",
        dev_s,
        "--out",
        model_s,
        "--epochs",
        "10",
        "--batch-size",
        "16",
        "--lr",
        "0.01",
        "--embedding",
        "16",
        "--hidden",
        "16",
        "--dropout",
        "0",
        "--no-progress",
    ]);
    let printed = out.ok();
    let best = printed.lines().find(|l| l.starts_with("best dev")).expect("a summary line");
    let trained_f1 = number_after(best, "F1");
    assert!(trained_f1 > 80.0, "{printed}");

    let predictions = scratch("qa", "predictions.json");
    let run =
        tessera(&["qa", "eval", "--model", model_s, "--data", dev_s, "--predictions", predictions.to_str().unwrap()]);
    let scored = run.ok();
    assert!((number_after(scored, "F1") - trained_f1).abs() < 0.01, "{scored} vs {best}");
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&predictions).unwrap()).unwrap();
    assert_eq!(written.as_object().unwrap().len(), 60);

    let context = scratch("qa", "context.txt");
    std::fs::write(&context, "lamp river beta çay Öl stone north").unwrap();
    let run = tessera(&[
        "qa",
        "answer",
        "--model",
        model_s,
        "--context",
        context.to_str().unwrap(),
        "--question",
        "What follows beta?",
        "--json",
    ]);
    let answered: serde_json::Value = serde_json::from_str(run.ok().trim()).unwrap();
    assert_eq!(answered["answer"], "çay Öl");
    assert_eq!((answered["start"].as_u64(), answered["end"].as_u64()), (Some(16), Some(22)));

    let error =
        tessera(&["qa", "answer", "--model", model_s, "--context", context.to_str().unwrap(), "--question", " "])
            .error()
            .to_string();
    assert_eq!(error, "--question is empty");
}

#[test]
fn bad_squad_files_and_folders_are_one_error_line() {
    let bad = scratch("qa", "bad.json");
    let doc = json!({"data": [{"paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "5733be284776f41900661182", "question": "Where?", "answers": [{"text": "France", "answer_start": 2}]}]}]}]});
    std::fs::write(&bad, doc.to_string()).unwrap();
    let bad_s = bad.to_str().unwrap();
    let error = tessera(&["qa", "train", "--train", bad_s, "--dev", bad_s, "--out", "/nonexistent/x", "--no-progress"])
        .error()
        .to_string();
    assert!(error.starts_with(&format!("{bad_s}: question 5733be284776f41900661182: answer_start 2")), "{error}");

    let missing = scratch("qa", "no-such-folder");
    let error = tessera(&["qa", "eval", "--model", missing.to_str().unwrap(), "--data", bad_s]).error().to_string();
    assert!(error.contains("no such model folder"), "{error}");
}
