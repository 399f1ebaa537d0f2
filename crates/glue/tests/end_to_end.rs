//! A small end-to-end run in seconds: a user spec over a tiny CSV (quoted fields, a group
//! column), added to a registry folder, run with the majority, TF-IDF LR and TextCNN models,
//! written as records and read back into a leaderboard.

use std::path::Path;

use glue::board::Board;
use glue::data::load_task;
use glue::models::{Context, by_name};
use glue::record::{RunRecord, read_records};
use glue::registry;
use glue::run::run_model;

/// 240 short reviews: positive ones say "good"/"great", negative ones "bad"/"awful"; 24 movies.
fn write_tiny(dir: &Path) {
    let mut csv = String::from("label,text,movie\n");
    let (pos, neg) = (["good", "great", "fine", "lovely"], ["bad", "awful", "dull", "poor"]);
    for i in 0..240 {
        let positive = i % 2 == 0;
        let word = if positive { pos[i % 4] } else { neg[i % 4] };
        let label = if positive { "pos" } else { "neg" };
        csv.push_str(&format!("{label},\"a {word} film, \"\"really\"\" {word} number {i}\",movie{}\n", i % 24));
    }
    std::fs::write(dir.join("tiny.csv"), csv).unwrap();
    let spec = format!(
        r#"{{"name": "tiny-sentiment", "data": {{"path": "{}", "format": "csv"}}, "kind": "single",
        "text": "text", "label": "label", "labels": ["neg", "pos"], "metrics": ["accuracy", "mcc"],
        "split": {{"group": "movie", "seed": 1, "fractions": [0.6, 0.2, 0.2]}}}}"#,
        dir.join("tiny.csv").display()
    );
    std::fs::write(dir.join("tiny.json"), spec).unwrap();
}

#[test]
fn tiny_task_runs_end_to_end() {
    let dir = std::env::temp_dir().join(format!("glue-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    write_tiny(&dir);
    let tasks_dir = dir.join("tasks");
    let spec = registry::add(&dir.join("tiny.json"), &tasks_dir).unwrap();
    let specs = registry::select(&["tiny-sentiment".to_string()], Some(&tasks_dir)).unwrap();
    assert_eq!(specs[0], glue::spec::TaskSpec { origin: specs[0].origin.clone(), ..spec });
    let task = load_task(&specs[0], &dir).unwrap();
    assert_eq!(task.train.len() + task.dev.len() + task.test.len(), 240);
    assert!(task.train[0].text.contains("\"really\""), "{}", task.train[0].text);

    let device = backend_cpu::CpuDevice::shared();
    let runs = dir.join("runs");
    for name in ["majority", "tfidf-lr", "textcnn"] {
        for seed in [0, 1] {
            let ctx = Context { device: device.clone(), seed, quick: true, pretrained: None };
            let model = by_name(name).unwrap();
            let record = run_model(model.as_ref(), &specs, &dir, &ctx, "cpu", |_| {}).unwrap();
            assert_eq!(record.tasks.len(), 1);
            let path = record.write(&runs).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let back = RunRecord::from_json(&serde_json::from_str(&text).unwrap(), "test").unwrap();
            assert_eq!(back.tasks[0].metrics, record.tasks[0].metrics);
            std::thread::sleep(std::time::Duration::from_millis(2)); // distinct file names
        }
    }
    let records = read_records(&runs).unwrap();
    assert_eq!(records.len(), 6);
    let tfidf = records.iter().find(|r| r.model == "tfidf-lr").unwrap();
    assert!(tfidf.tasks[0].score > 0.9, "TF-IDF LR should separate the tiny task: {:?}", tfidf.tasks[0].metrics);
    let majority = records.iter().find(|r| r.model == "majority").unwrap();
    assert_eq!(majority.tasks[0].metrics[1], ("mcc".to_string(), 0.0));

    let board = Board::new(records);
    assert_eq!(board.rows.len(), 3);
    assert_eq!(board.rows[0].runs.len(), 2);
    assert_ne!(board.rows[2].model, "tfidf-lr", "the floor should not rank last-but-one above TF-IDF");
    let md = board.markdown();
    assert!(md.contains("| tfidf-lr | cpu | 2 |") && md.contains("tiny-sentiment"), "{md}");
    let html = board.html();
    assert!(html.contains("<table id=\"board\">") && html.contains("confusion") && html.contains("<script>"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tiny tagging and pair tasks through the models that handle them (BiLSTM and its tagger,
/// word2vec-MLP, the majority tagger): they train, predict every token and score.
#[test]
fn tiny_tagging_and_pair_tasks_run() {
    let dir = std::env::temp_dir().join(format!("glue-e2e-tag-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut jsonl = String::new();
    let mut pairs = String::from("premise\thypothesis\tlabel\tpage\n");
    for doc in 0..30 {
        let mut text = String::new();
        for s in 0..4 {
            let noun = ["dog", "cat", "bird"][(doc + s) % 3];
            text.push_str(&format!("\tthe/at {noun}/nn runs/vbz fast/rb ./.\n\n"));
        }
        jsonl.push_str(&serde_json::json!({ "id": format!("d{doc}"), "tagged_text": text }).to_string());
        jsonl.push('\n');
        for k in 0..4 {
            let (a, b, label) = if k % 2 == 0 { ("red", "red", "same") } else { ("red", "blue", "different") };
            pairs.push_str(&format!("the ball is {a} today\tthe ball is {b} now\t{label}\tpage{doc}\n"));
        }
    }
    std::fs::write(dir.join("tagged.jsonl"), jsonl).unwrap();
    std::fs::write(dir.join("pairs.tsv"), pairs).unwrap();
    let tagging = glue::spec::parse_spec(
        r#"{"name": "tiny-pos", "data": {"path": "tagged.jsonl", "format": "jsonl"}, "kind": "tagging",
            "text": "tagged_text", "label": "tagged_text", "metrics": ["accuracy"],
            "split": {"group": "id", "seed": 2, "fractions": [0.6, 0.2, 0.2]}}"#,
        "tiny-pos.json",
    )
    .unwrap();
    let pair = glue::spec::parse_spec(
        r#"{"name": "tiny-pair", "data": {"path": "pairs.tsv", "format": "tsv"}, "kind": "pair",
            "text": ["premise", "hypothesis"], "label": "label", "metrics": ["accuracy", "macro_f1"],
            "split": {"group": "page", "seed": 2, "fractions": [0.6, 0.2, 0.2]}}"#,
        "tiny-pair.json",
    )
    .unwrap();
    let specs = [tagging, pair];
    let ctx = Context { device: backend_cpu::CpuDevice::shared(), seed: 0, quick: true, pretrained: None };
    for name in ["majority", "bilstm", "word2vec-mlp", "tfidf-lr"] {
        let model = by_name(name).unwrap();
        let record = run_model(model.as_ref(), &specs, &dir, &ctx, "cpu", |_| {}).unwrap();
        let expected = if name == "majority" || name == "bilstm" { 2 } else { 1 };
        assert_eq!(record.tasks.len(), expected, "{name}");
        for t in &record.tasks {
            assert!(t.score.is_finite() && (0.0..=1.0).contains(&t.score), "{name} {}: {}", t.task, t.score);
        }
        if name == "majority" {
            // Every word has one tag here, so the per-word majority tagger is exact.
            assert_eq!(record.tasks[0].score, 1.0);
        }
        if name == "tfidf-lr" {
            // "red" vs "blue" in the second text decides the label.
            assert!(record.tasks[0].score > 0.9, "{:?}", record.tasks[0].metrics);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
