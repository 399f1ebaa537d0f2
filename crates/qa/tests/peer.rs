//! Tessera's SQuAD scores equal the Python peer's (`xtask/peers/squad_eval.py`, the official
//! v1.1 evaluation reimplemented from its definition) to 4 decimals on the same predictions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use qa::metric::evaluate;
use qa::squad::SquadSet;
use qa::tokenize::{char_slice, tokenize};

fn peer_scores(python: &Path, dataset: &Path, predictions: &Path) -> (f64, f64) {
    let script = test_support::workspace_root().join("xtask/peers/squad_eval.py");
    let out = Command::new(python).arg(script).arg(dataset).arg(predictions).output().unwrap();
    assert!(out.status.success(), "peer failed: {}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (doc["exact_match"].as_f64().unwrap(), doc["f1"].as_f64().unwrap())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qa-peer-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Predictions of every kind the metric treats specially: exact, a window around the answer
/// (partial overlap), with articles and punctuation added, empty, and missing.
fn varied_predictions(set: &SquadSet) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, (p, q)) in set.questions().enumerate() {
        let context = &set.paragraphs[p].context;
        let answer = &q.answers[0];
        let end = answer.start + answer.text.chars().count();
        let prediction = match k % 6 {
            0 => answer.text.clone(),
            1 => char_slice(context, answer.start.saturating_sub(12), end).to_string(),
            2 => format!("The {}!", answer.text.to_uppercase()),
            3 => String::new(),
            4 => continue,
            _ => tokenize(context).iter().skip(k % 7).take(3).map(|t| t.text.as_str()).collect::<Vec<_>>().join(" "),
        };
        out.insert(q.id.clone(), prediction);
    }
    out
}

fn check(python: &Path, dataset: &Path, set: &SquadSet, name: &str) {
    let predictions = varied_predictions(set);
    let dir = scratch(name);
    let file = dir.join("predictions.json");
    std::fs::write(&file, serde_json::to_vec(&predictions).unwrap()).unwrap();
    let ours = evaluate(set, &predictions);
    let (em, f1) = peer_scores(python, dataset, &file);
    assert!((ours.exact_match - em).abs() < 5e-5, "EM: Tessera {} vs peer {em}", ours.exact_match);
    assert!((ours.f1 - f1).abs() < 5e-5, "F1: Tessera {} vs peer {f1}", ours.f1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scores_equal_the_python_peer_on_a_synthetic_set() {
    let Some(python) = test_support::python_with("json") else { return };
    let contexts = [
        "The Eiffel Tower, built in 1889, stands in Paris — «la ville lumière».",
        "Ærøskøbing's harbour (est. 1522) is an old port; the ferry leaves at 7 a.m.",
        "Sōseki wrote 'Kokoro' in 1914. A novel, an elegy and the end of an era.",
    ];
    let mut paragraphs = Vec::new();
    for (i, context) in contexts.iter().enumerate() {
        let tokens = tokenize(context);
        let qas: Vec<serde_json::Value> = (0..tokens.len().saturating_sub(3))
            .map(|j| {
                let answer = char_slice(context, tokens[j].start, tokens[j + 2].end);
                serde_json::json!({"id": format!("p{i}q{j}"), "question": "What?", "answers": [
                    {"text": answer, "answer_start": tokens[j].start},
                    {"text": tokens[j + 1].text, "answer_start": tokens[j + 1].start}]})
            })
            .collect();
        paragraphs.push(serde_json::json!({"context": context, "qas": qas}));
    }
    let doc = serde_json::json!({"data": [{"title": "synthetic", "paragraphs": paragraphs}]});
    let dir = scratch("synthetic");
    let dataset = dir.join("synthetic.json");
    std::fs::write(&dataset, serde_json::to_vec(&doc).unwrap()).unwrap();
    let set = SquadSet::read(&dataset, false).unwrap();
    assert!(set.len() > 40);
    check(&python, &dataset, &set, "synthetic-run");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scores_equal_the_python_peer_on_squad_dev() {
    let Some(dir) = test_support::shared_data("squad") else { return };
    let Some(python) = test_support::python_with("json") else { return };
    let dataset = dir.join("dev-v1.1.json.gz");
    let set = SquadSet::read(&dataset, false).unwrap();
    check(&python, &dataset, &set, "dev");
}
