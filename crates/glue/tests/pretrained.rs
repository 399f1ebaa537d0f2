//! The pretrained models through `crates/transfer`: a tiny BERT folder (random weights over the
//! task's words) is fine-tuned and used as features on a tiny sentiment task and a tiny pair
//! task; the wrong kind of folder and a missing folder are typed errors.

use std::path::{Path, PathBuf};

use glue::models::{Context, Outputs, by_name};
use glue::run::run_model;
use glue::spec::parse_spec;
use nlp::encoder::{Bert, BertConfig, BertVocab, save_bert};
use tensor_core::TensorRng;

/// A fresh temporary folder.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glue-pretrained-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 120 sentences ("a good film" / "a bad film" with filler) as a CSV, and 120 pairs as a TSV.
fn write_tasks(dir: &Path) -> Vec<String> {
    let (mut csv, mut tsv, mut texts) =
        (String::from("label,text,movie\n"), String::from("a\tb\tlabel\tpage\n"), Vec::new());
    for i in 0..120 {
        let (word, label) =
            if i % 2 == 0 { (["good", "great"][i % 4 / 2], "pos") } else { (["bad", "dull"][i % 4 / 2], "neg") };
        let text = format!("a {word} film number {}", i % 7);
        csv.push_str(&format!("{label},{text},movie{}\n", i % 12));
        let (a, b, same) = if i % 2 == 0 { ("red", "red", "same") } else { ("red", "blue", "different") };
        tsv.push_str(&format!("the ball is {a}\tthe ball is {b}\t{same}\tpage{}\n", i % 12));
        texts.push(text);
        texts.push(format!("the ball is {a} the ball is {b}"));
    }
    std::fs::write(dir.join("tiny.csv"), csv).unwrap();
    std::fs::write(dir.join("pairs.tsv"), tsv).unwrap();
    texts
}

/// A randomly initialised BERT (2 layers x 2 heads x 16 wide, 32 positions) over `texts`' words.
fn bert_folder(dir: &Path, texts: &[String]) -> PathBuf {
    let folder = dir.join("bert");
    let vocab = BertVocab::build(texts.iter().map(String::as_str), 1, None);
    let device = backend_cpu::CpuDevice::shared();
    let bert = Bert::new(BertConfig::new(vocab.size(), 32, 2, 2, 16), &mut TensorRng::new(3), &device).unwrap();
    save_bert(&folder, &bert, &vocab).unwrap();
    folder
}

/// The sentiment task over `tiny.csv`.
fn sentiment_spec() -> glue::spec::TaskSpec {
    parse_spec(
        r#"{"name": "tiny-sentiment", "data": {"path": "tiny.csv", "format": "csv"}, "kind": "single",
            "text": "text", "label": "label", "labels": ["neg", "pos"], "metrics": ["accuracy", "mcc"],
            "split": {"group": "movie", "seed": 1, "fractions": [0.6, 0.2, 0.2]}}"#,
        "tiny.json",
    )
    .unwrap()
}

#[test]
fn bert_models_run_the_benchmark_tasks() {
    let dir = temp("run");
    let texts = write_tasks(&dir);
    let bert = bert_folder(&dir, &texts);
    let single = sentiment_spec();
    let pair = parse_spec(
        r#"{"name": "tiny-pair", "data": {"path": "pairs.tsv", "format": "tsv"}, "kind": "pair",
            "text": ["a", "b"], "label": "label", "metrics": ["accuracy"],
            "split": {"group": "page", "seed": 2, "fractions": [0.6, 0.2, 0.2]}}"#,
        "pair.json",
    )
    .unwrap();
    let specs = [single, pair];
    let device = backend_cpu::CpuDevice::shared();
    let ctx = Context { device, seed: 0, quick: true, pretrained: Some(bert.clone()) };
    for name in ["bert-features", "bert-finetune", "bert-lora"] {
        let model = by_name(name).unwrap();
        let record = run_model(model.as_ref(), &specs, &dir, &ctx, "cpu", |_| {}).unwrap();
        assert_eq!(record.model, name);
        assert_eq!(record.tasks.len(), 2, "{name}");
        for task in &record.tasks {
            assert!(
                task.score.is_finite() && (0.0..=1.0).contains(&task.score),
                "{name} {}: {}",
                task.task,
                task.score
            );
            assert_eq!(task.config["body"], "a BERT-style encoder", "{name}");
            assert_eq!(task.config["pretrained"], bert.display().to_string());
            assert!(task.config["kept_epoch"].as_u64().unwrap() >= 1, "{name}");
        }
    }

    // Predictions come back one per example, in order, as classes of the task.
    let task = glue::data::load_task(&specs[0], &dir).unwrap();
    let fitted = by_name("bert-features").unwrap().fit(&task, &ctx).unwrap();
    match (&fitted.dev, &fitted.test) {
        (Outputs::Classes(dev), Outputs::Classes(test)) => {
            assert_eq!((dev.len(), test.len()), (task.dev.len(), task.test.len()));
            assert!(dev.iter().chain(test).all(|&c| c < 2));
        }
        other => panic!("expected classes, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pretrained_models_need_the_right_folder() {
    let dir = temp("errors");
    let texts = write_tasks(&dir);
    let bert = bert_folder(&dir, &texts);
    let spec = sentiment_spec();
    let task = glue::data::load_task(&spec, &dir).unwrap();
    let device = backend_cpu::CpuDevice::shared();

    let missing = Context { device: device.clone(), seed: 0, quick: true, pretrained: None };
    let err = by_name("bert-finetune").unwrap().fit(&task, &missing).err().unwrap().to_string();
    assert!(err.contains("bert-finetune") && err.contains("--pretrained"), "{err}");

    let wrong = Context { device, seed: 0, quick: true, pretrained: Some(bert.clone()) };
    let err = by_name("gpt-finetune").unwrap().fit(&task, &wrong).err().unwrap().to_string();
    assert!(err.contains("config.json") && err.contains("architecture bert") && err.contains("gpt"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
