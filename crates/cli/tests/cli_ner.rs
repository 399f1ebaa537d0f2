//! `tessera ner train|eval|tag` on a tiny synthetic CoNLL-2003-style file written to a temp
//! folder: training writes a folder whose test F1 `eval` reproduces, `tag` prints entities with
//! character offsets (and JSON Lines), and malformed input is an error naming file and line.

mod common;

use common::{number_after, scratch, tessera, tessera_with_stdin};

fn write_conll(name: &str, count: usize, seed: u64) -> std::path::PathBuf {
    let mut text = String::from("-DOCSTART- -X- -X- O\n\n");
    for sentence in ner::synthetic::sentences(count, seed) {
        for (word, tag) in sentence.words.iter().zip(&sentence.tags) {
            text.push_str(&format!("{word} NN O {tag}\n"));
        }
        text.push('\n');
    }
    let path = scratch("ner", name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn train_eval_and_tag_a_tiny_model() {
    let (train, valid, test) =
        (write_conll("train.txt", 300, 1), write_conll("valid.txt", 40, 2), write_conll("test.txt", 60, 3));
    let model = scratch("ner", "model");
    let p = |path: &std::path::Path| path.to_str().unwrap().to_string();
    let args = [
        "ner",
        "train",
        "--train",
        &p(&train),
        "--valid",
        &p(&valid),
        "--test",
        &p(&test),
        "--out",
        &p(&model),
        "--epochs",
        "6",
        "--word-dim",
        "16",
        "--char-filters",
        "8",
        "--hidden",
        "16",
        "--dropout",
        "0.1",
        "--batch-size",
        "10",
        "--lr",
        "0.01",
    ];
    let out = tessera(&args).ok().to_string();
    let trained = number_after(out.lines().find(|l| l.starts_with("overall")).expect("an overall line"), "F1");
    assert!(trained > 90.0, "{out}");
    let eval = tessera(&["ner", "eval", "--model", &p(&model), "--data", &p(&test)]).ok().to_string();
    assert_eq!(number_after(eval.lines().next().unwrap(), "F1"), trained, "{eval}");

    let tagged =
        tessera(&["ner", "tag", "--model", &p(&model), "--text", "Greta Novak flew to Oslo ."]).ok().to_string();
    assert_eq!(tagged.trim(), "0\t11\tPER\tGreta Novak\n20\t24\tLOC\tOslo", "{tagged}");
    let json = tessera_with_stdin(
        &["ner", "tag", "--model", &p(&model), "--json"],
        "in Kyoto , Hugo met Rossi Corp today .\n\n".as_bytes(),
    );
    let lines: Vec<serde_json::Value> = json.ok().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one object per input line, the empty one included");
    assert_eq!(lines[0]["entities"][0], serde_json::json!({"type": "LOC", "text": "Kyoto", "start": 3, "end": 8}));
    assert_eq!(lines[1]["entities"], serde_json::json!([]));
}

#[test]
fn malformed_conll_is_an_error_with_file_and_line() {
    let bad = scratch("ner", "bad.txt");
    std::fs::write(&bad, "EU NNP B-NP B-ORG\nrejects VBZ O\n").unwrap();
    let path = bad.to_str().unwrap();
    let run = tessera(&["ner", "train", "--train", path, "--valid", path, "--test", path, "--out", "/nonexistent/x"]);
    assert!(run.error().contains(&format!("{path}:2: 3 columns, expected 4")), "{}", run.error());
    let missing = tessera(&["ner", "tag", "--model", "/nonexistent/model", "--text", "x"]);
    assert!(missing.error().contains("/nonexistent/model/config.json"), "{}", missing.error());
}
