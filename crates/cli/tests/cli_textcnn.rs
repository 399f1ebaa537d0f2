//! `tessera train textcnn` on a CSV the test writes from the Rotten Tomatoes snippets (fresh vs
//! rotten), then `tessera predict` on the held-out sentences: the folder's accuracy there equals
//! what training reported. Then bad text input: a missing field, an unseen label, non-UTF-8.

mod common;

use common::{number_after, scratch, tessera, tessera_with_stdin};
use tessera::text_data::{TextFormat, read_labelled};
use test_support::shared_data;

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[test]
fn textcnn_folder_predicts_the_accuracy_training_reported() {
    let Some(dir) = shared_data("rotten-tomatoes") else { return };
    let source = dir.join("rotten_tomatoes_corpus_full.csv.gz");
    let rows = read_labelled(&source, TextFormat::Csv, "text", "category").unwrap();
    let reviews: Vec<(String, String)> = rows
        .into_iter()
        .filter(|r| r.label == "fresh" || r.label == "rotten")
        .map(|r| (r.text.split_whitespace().collect::<Vec<_>>().join(" "), r.label))
        .filter(|(t, _)| !t.is_empty())
        .collect();
    assert!(reviews.len() > 12_000, "{} fresh/rotten snippets", reviews.len());
    // Every fifth of the first 5,000 is held out.
    let (mut train, mut test) = (String::from("label,text\n"), String::from("label,text\n"));
    let mut held_out = Vec::new();
    for (i, (text, label)) in reviews.iter().take(5000).enumerate() {
        let row = format!("{label},{}\n", quote(text));
        if i % 5 == 0 {
            test.push_str(&row);
            held_out.push((text.clone(), label.clone()));
        } else {
            train.push_str(&row);
        }
    }
    let (train_csv, test_csv) = (scratch("textcnn", "train.csv"), scratch("textcnn", "test.csv"));
    std::fs::write(&train_csv, train).unwrap();
    std::fs::write(&test_csv, test).unwrap();
    let model = scratch("textcnn", "model");
    let model_arg = model.to_str().unwrap();
    let run = tessera(&[
        "train",
        "textcnn",
        "--data",
        train_csv.to_str().unwrap(),
        "--test-data",
        test_csv.to_str().unwrap(),
        "--epochs",
        "2",
        "--embedding",
        "32",
        "--filters",
        "32",
        "--out",
        model_arg,
    ]);
    let out = run.ok();
    assert!(out.contains("4000 train / 1000 test sentences") && out.contains(r#"labels ["fresh", "rotten"]"#), "{out}");
    let summary = out.lines().find(|l| l.starts_with("summary:")).unwrap();
    let reported = number_after(summary, "test accuracy");
    println!("{summary}");
    // Two epochs on 4,000 snippets: well above chance (~58% fresh), far from Kim's ~80%.
    assert!(reported > 60.0, "{summary}");
    for file in ["config.json", "weights.safetensors", "vocab.txt", "loss.svg"] {
        assert!(model.join(file).is_file(), "{file} in the model folder");
    }

    let sentences = scratch("textcnn", "sentences.txt");
    std::fs::write(&sentences, held_out.iter().map(|(t, _)| format!("{t}\n")).collect::<String>()).unwrap();
    let run = tessera(&["predict", model_arg, "--file", sentences.to_str().unwrap(), "--json", "--top-k", "2"]);
    let predicted: Vec<serde_json::Value> = run.ok().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(predicted.len(), held_out.len());
    let hits = predicted.iter().zip(&held_out).filter(|(p, (_, label))| p["label"] == label.as_str()).count();
    let accuracy = 100.0 * hits as f64 / held_out.len() as f64;
    assert!((accuracy - reported).abs() < 0.006, "predict {accuracy}% vs training's {reported}%");
    let p = &predicted[0]["top"];
    let total = p[0]["probability"].as_f64().unwrap() + p[1]["probability"].as_f64().unwrap();
    assert!((total - 1.0).abs() < 1e-5, "{p}");

    // A sentence from the arguments, plain output: the sentence, a tab, label and probability.
    let run = tessera(&["predict", model_arg, "a dull, lifeless and tedious film"]);
    let line = run.ok().trim_end().to_string();
    assert!(line.starts_with("a dull, lifeless and tedious film\t"), "{line}");
    assert!(line.contains("fresh ") || line.contains("rotten "), "{line}");

    // Standard input, one sentence a line, batched like the rest; bad bytes are named by line.
    let from_stdin = tessera_with_stdin(&["predict", model_arg, "--json"], b"a fine film\n\nthe worst\r\n");
    let lines: Vec<&str> = from_stdin.ok().lines().collect();
    assert_eq!(lines.len(), 2, "blank lines are skipped: {lines:?}");
    assert!(lines[1].contains(r#""input":"the worst""#), "{}", lines[1]);
    let message = tessera_with_stdin(&["predict", model_arg], b"fine\nbad\xff\n").error().to_string();
    assert!(message.starts_with("(standard input):2: not UTF-8"), "{message}");

    // A vocabulary that lost its last word no longer matches the config and the weights.
    let vocab = model.join("vocab.txt");
    let text = std::fs::read_to_string(&vocab).unwrap();
    let words = text.lines().count();
    std::fs::write(&vocab, text.lines().take(words - 1).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let message = tessera(&["predict", model_arg, "fine"]).error().to_string();
    assert!(message.starts_with(&format!("{}: holds {} entries", vocab.display(), words - 1)), "{message}");
    assert!(message.ends_with(&format!("but config.json says {words}")), "{message}");
}

#[test]
fn bad_text_data_is_a_message_naming_the_file_and_line() {
    let csv = scratch("textcnn-bad", "data.csv");
    std::fs::write(&csv, "label,sentence\npos,good\nneg,bad\n").unwrap();
    let csv_arg = csv.to_str().unwrap();
    let message = tessera(&["train", "textcnn", "--data", csv_arg]).error().to_string();
    assert_eq!(message, format!("{csv_arg}:1: no field `text` in the header (fields: label, sentence)"));

    let test = scratch("textcnn-bad", "test.csv");
    std::fs::write(&test, "label,sentence\npos,fine\nmeh,so so\n").unwrap();
    let out = scratch("textcnn-bad", "model");
    let message = tessera(&[
        "train",
        "textcnn",
        "--data",
        csv_arg,
        "--test-data",
        test.to_str().unwrap(),
        "--text-field",
        "sentence",
        "--out",
        out.to_str().unwrap(),
    ])
    .error()
    .to_string();
    assert_eq!(
        message,
        format!("{}:3: label `meh` is not among the training labels [\"neg\", \"pos\"]", test.display())
    );
    assert!(!out.exists(), "nothing is written when the data is bad");

    let latin1 = scratch("textcnn-bad", "latin1.jsonl");
    std::fs::write(&latin1, b"{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"caf\xe9\", \"label\": 0}\n").unwrap();
    let message = tessera(&["train", "textcnn", "--data", latin1.to_str().unwrap()]).error().to_string();
    assert!(message.starts_with(&format!("{}:2: not UTF-8", latin1.display())), "{message}");
}
