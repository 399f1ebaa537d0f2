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
            let ctx = Context { device: device.clone(), seed, quick: true };
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
