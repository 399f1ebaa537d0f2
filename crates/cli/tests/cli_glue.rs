//! `tessera glue` end to end: a bad spec is one message naming the file and the key; a good
//! spec over a tiny CSV is added, run (majority and TF-IDF LR) and ranked on a board.

mod common;

use common::{scratch, tessera};

#[test]
fn glue_add_run_board() {
    let bad = scratch("glue", "bad.json");
    std::fs::write(
        &bad,
        r#"{"name": "x", "data": {"path": "a.csv", "format": "csv"}, "kind": "single",
        "text": "t", "label": "l", "metrics": ["bleu"], "split": {"group": "g"}}"#,
    )
    .unwrap();
    let message = tessera(&["glue", "add", bad.to_str().unwrap()]).error().to_string();
    assert!(message.starts_with(&format!("{}: key `metrics[0]`: unknown metric `bleu`", bad.display())), "{message}");

    let dir = bad.parent().unwrap().to_path_buf();
    let mut csv = String::from("label,text,movie\n");
    for i in 0..120 {
        let (label, word) = if i % 2 == 0 { ("pos", "good") } else { ("neg", "bad") };
        csv.push_str(&format!("{label},a {word} film {i},m{}\n", i % 12));
    }
    std::fs::write(dir.join("tiny.csv"), csv).unwrap();
    let spec = dir.join("tiny.json");
    std::fs::write(
        &spec,
        r#"{"name": "tiny", "data": {"path": "tiny.csv", "format": "csv"}, "kind": "single",
        "text": "text", "label": "label", "labels": ["neg", "pos"], "metrics": ["accuracy"],
        "split": {"group": "movie", "seed": 1, "fractions": [0.6, 0.2, 0.2]}}"#,
    )
    .unwrap();
    let (data, registry, runs) = (dir.to_str().unwrap(), dir.join("tasks"), dir.join("runs"));
    // A folder left by an earlier run whose process had the same id must not add its records.
    for old in [&registry, &runs] {
        let _ = std::fs::remove_dir_all(old);
    }
    let place = ["--data-dir", data, "--registry", registry.to_str().unwrap()];
    let added = tessera(&[&["glue", "add", spec.to_str().unwrap()][..], &place[..]].concat()).ok().to_string();
    assert!(added.starts_with("added tiny (single)"), "{added}");
    for model in ["majority", "tfidf-lr"] {
        let args = ["glue", "run", "--model", model, "--tasks", "tiny", "--quick", "--runs", runs.to_str().unwrap()];
        let out = tessera(&[&args[..], &place[..]].concat()).ok().to_string();
        assert!(out.contains("suite score"), "{out}");
    }
    let board = tessera(&["glue", "board", "--runs", runs.to_str().unwrap(), "--out", data]).ok().to_string();
    assert!(board.contains("| tfidf-lr | cpu | 1 |") && board.contains("| majority | cpu | 1 |"), "{board}");
    assert!(dir.join("leaderboard.html").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
