//! `tessera ner train --encoder` and `tessera qa train --encoder` on tiny files written to a temp
//! folder, over a tiny cased WordPiece BERT built in the test: the folders they write load back
//! in `ner eval|tag` and `qa eval|answer` from one path (eval reproduces the training score),
//! and bad input (a folder of the wrong architecture, a context all `[UNK]`) is an error that
//! says so.

mod common;

use std::path::{Path, PathBuf};

use common::{number_after, scratch, tessera};
use nlp::encoder::{Bert, BertConfig, BertVocab, save_bert};
use serde_json::json;
use tensor_core::TensorRng;

fn p(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

/// A random cased WordPiece BERT over `texts`.
fn tiny_bert(name: &str, texts: &[String]) -> PathBuf {
    let vocab = BertVocab::train_wordpiece(texts.iter().map(String::as_str), 300, 1, false);
    let dir = scratch("bert-tasks", name);
    let bert = Bert::new(
        BertConfig::new(vocab.size(), 48, 1, 2, 32),
        &mut TensorRng::new(1),
        &backend_cpu::CpuDevice::shared(),
    )
    .unwrap();
    save_bert(&dir, &bert, &vocab).unwrap();
    dir
}

#[test]
fn ner_with_a_bert_encoder_trains_evaluates_and_tags_from_one_folder() {
    let sentences = ner::synthetic::sentences(300, 1);
    let write = |name: &str, from: usize, to: usize| {
        let mut text = String::from("-DOCSTART- -X- -X- O\n\n");
        for s in &sentences[from..to] {
            for (w, t) in s.words.iter().zip(&s.tags) {
                text.push_str(&format!("{w} NN O {t}\n"));
            }
            text.push('\n');
        }
        let path = scratch("bert-tasks", name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (train, test) = (write("ner-train.txt", 0, 240), write("ner-test.txt", 240, 300));
    let texts: Vec<String> = sentences.iter().map(|s| s.words.join(" ")).collect();
    let encoder = tiny_bert("ner-encoder", &texts);
    let model = scratch("bert-tasks", "ner-model");
    let out = tessera(&[
        "ner",
        "train",
        "--encoder",
        &p(&encoder),
        "--train",
        &p(&train),
        "--valid",
        &p(&test),
        "--test",
        &p(&test),
        "--out",
        &p(&model),
        "--epochs",
        "8",
        "--batch-size",
        "8",
        "--encoder-lr",
        "3e-3",
        "--dropout",
        "0",
    ])
    .ok()
    .to_string();
    let trained = number_after(out.lines().find(|l| l.starts_with("overall")).expect("an overall line"), "F1");
    assert!(trained > 60.0, "{out}");
    let eval = tessera(&["ner", "eval", "--model", &p(&model), "--data", &p(&test)]).ok().to_string();
    assert_eq!(number_after(eval.lines().next().unwrap(), "F1"), trained, "{eval}");
    let tagged = tessera(&["ner", "tag", "--model", &p(&model), "--json", "--text", &texts[250]]).ok().to_string();
    let line: serde_json::Value = serde_json::from_str(tagged.trim()).unwrap();
    for entity in line["entities"].as_array().unwrap() {
        let (start, end) = (entity["start"].as_u64().unwrap() as usize, entity["end"].as_u64().unwrap() as usize);
        let text: String = texts[250].chars().skip(start).take(end - start).collect();
        assert_eq!(entity["text"], json!(text), "offsets name the entity's characters");
    }
}

#[test]
fn qa_with_a_bert_encoder_trains_answers_and_refuses_bad_input() {
    let names = ["Emma", "Anne", "Jane", "Fanny", "Lucy"];
    let places = ["Bath", "London", "Highbury", "Kent", "Derby"];
    let mut paragraphs = Vec::new();
    let mut texts = Vec::new();
    for i in 0..40 {
        let (name, place) = (names[i % 5], places[(i / 5) % 5]);
        let context = format!("On that day {name} went to {place} with a letter , and it rained .");
        let start = context.find(place).unwrap();
        texts.push(context.clone());
        paragraphs.push(json!({"context": context, "qas": [
            {"id": format!("q{i}"), "question": format!("Where did {name} go ?"),
             "answers": [{"text": place, "answer_start": start}]}]}));
    }
    let squad = scratch("bert-tasks", "squad.json");
    std::fs::write(&squad, json!({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]}).to_string())
        .unwrap();
    texts.extend(names.iter().chain(&places).map(|s| format!("Where did {s} go ?")));
    let encoder = tiny_bert("qa-encoder", &texts);
    let model = scratch("bert-tasks", "qa-model");
    let out = tessera(&[
        "qa",
        "train",
        "--encoder",
        &p(&encoder),
        "--train",
        &p(&squad),
        "--dev",
        &p(&squad),
        "--out",
        &p(&model),
        "--epochs",
        "12",
        "--batch-size",
        "8",
        "--encoder-lr",
        "3e-3",
        "--doc-stride",
        "4",
        "--no-progress",
    ])
    .ok()
    .to_string();
    assert!(out.contains("dev EM"), "{out}");
    let eval = tessera(&["qa", "eval", "--model", &p(&model), "--data", &p(&squad)]).ok().to_string();
    assert!(number_after(&eval, "F1") > 50.0, "{out}\n{eval}");
    let context = scratch("bert-tasks", "context.txt");
    std::fs::write(&context, "On that day Jane went to Kent with a letter .").unwrap();
    let answered = tessera(&[
        "qa",
        "answer",
        "--model",
        &p(&model),
        "--context",
        &p(&context),
        "--question",
        "Where did Jane go ?",
        "--json",
    ])
    .ok()
    .to_string();
    let found: serde_json::Value = serde_json::from_str(answered.trim()).unwrap();
    let (start, end) = (found["start"].as_u64().unwrap() as usize, found["end"].as_u64().unwrap() as usize);
    let text: String = "On that day Jane went to Kent with a letter .".chars().skip(start).take(end - start).collect();
    assert_eq!(found["answer"], json!(text));

    let lora = scratch("bert-tasks", "qa-lora");
    let out = tessera(&[
        "qa",
        "train",
        "--encoder",
        &p(&encoder),
        "--train",
        &p(&squad),
        "--dev",
        &p(&squad),
        "--out",
        &p(&lora),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--lora-rank",
        "2",
        "--doc-stride",
        "4",
        "--no-progress",
    ])
    .ok()
    .to_string();
    assert!(out.contains("LoRA on the encoder"), "{out}");
    tessera(&["qa", "eval", "--model", &p(&lora), "--data", &p(&squad)]).ok();

    std::fs::write(&context, "☃☃ ☂☂ ☄").unwrap();
    let unknown = tessera(&["qa", "answer", "--model", &p(&model), "--context", &p(&context), "--question", "Where?"]);
    assert!(unknown.error().contains("all [UNK]"), "{}", unknown.error());
    let wrong = scratch("bert-tasks", "wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    std::fs::write(wrong.join("config.json"), r#"{"architecture": "resnet"}"#).unwrap();
    let refused = tessera(&["qa", "train", "--encoder", &p(&wrong), "--train", &p(&squad), "--dev", &p(&squad)]);
    assert!(refused.error().contains("architecture resnet"), "{}", refused.error());
    let resume = tessera(&["qa", "train", "--encoder", &p(&encoder), "--train", &p(&squad), "--resume", &p(&wrong)]);
    assert!(resume.error().contains("not supported with --encoder"), "{}", resume.error());
}
