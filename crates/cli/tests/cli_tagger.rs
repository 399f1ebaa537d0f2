//! The tagger from the user's CoNLL file: Brown written out in the CoNLL column format trains
//! to the accuracy the JSON Lines route reaches, and `tessera predict` on the held-out
//! sentences of the folder it writes reproduces the accuracy training reported.

mod common;

use common::{number_after, scratch, tessera};
use nlp::classify::split_indices;
use nlp::corpus::{read_brown, simplify_brown_tag};
use test_support::shared_data;

const TRAIN: &[&str] = &["--train-docs", "40", "--epochs", "2", "--hidden", "32", "--seed", "0"];

fn summary_accuracy(out: &str) -> f64 {
    number_after(out.lines().find(|l| l.starts_with("summary:")).expect("a summary line"), "held-out token accuracy")
}

#[test]
fn conll_route_matches_jsonl_and_predict_reproduces_the_report() {
    let Some(dir) = shared_data("brown") else { return };
    let corpus = dir.join("brown_tagged.jsonl.gz");
    let docs = read_brown(&corpus).unwrap();
    let mut conll = String::new();
    for doc in &docs {
        conll.push_str("-DOCSTART- -X-\n\n");
        for sentence in &doc.sentences {
            for (word, tag) in sentence {
                conll.push_str(&format!("{word} {tag}\n"));
            }
            conll.push('\n');
        }
    }
    let conll_path = scratch("tagger", "brown.conll");
    std::fs::write(&conll_path, conll).unwrap();

    let jsonl_model = scratch("tagger", "from-jsonl");
    let mut args =
        vec!["train", "tagger", "--corpus", corpus.to_str().unwrap(), "--out", jsonl_model.to_str().unwrap()];
    args.extend(TRAIN);
    let from_jsonl = summary_accuracy(tessera(&args).ok());

    let model = scratch("tagger", "from-conll");
    let model_arg = model.to_str().unwrap();
    let mut args = vec!["train", "tagger", "--conll", conll_path.to_str().unwrap(), "--brown-tags", "--out", model_arg];
    args.extend(TRAIN);
    let out = tessera(&args).ok().to_string();
    let from_conll = summary_accuracy(&out);
    println!("held-out token accuracy: {from_conll}% from CoNLL, {from_jsonl}% from JSON Lines");
    assert!(from_conll > 80.0, "{out}");
    assert!((from_conll - from_jsonl).abs() <= 1.0, "CoNLL {from_conll}% vs JSON Lines {from_jsonl}%");
    for file in ["config.json", "weights.safetensors", "vocab.txt", "suffixes.txt", "loss.svg"] {
        assert!(model.join(file).is_file(), "{file} in the model folder");
    }

    // The held-out documents of the seeded split training used (80/10/10 by document).
    let test_docs = &split_indices(docs.len(), &[0.8, 0.1, 0.1], 0)[2];
    let sentences: Vec<&Vec<(String, String)>> =
        test_docs.iter().flat_map(|&i| &docs[i].sentences).filter(|s| !s.is_empty()).collect();
    let text: String =
        sentences.iter().map(|s| s.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" ") + "\n").collect();
    let file = scratch("tagger", "held-out.txt");
    std::fs::write(&file, text).unwrap();
    let run = tessera(&["predict", model_arg, "--file", file.to_str().unwrap(), "--pretokenized", "--json"]);
    let predicted: Vec<serde_json::Value> = run.ok().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(predicted.len(), sentences.len());
    let (mut hits, mut tokens) = (0, 0);
    for (p, gold) in predicted.iter().zip(&sentences) {
        let tags = p["tags"].as_array().unwrap();
        assert_eq!(tags.len(), gold.len());
        for (tag, (_, g)) in tags.iter().zip(gold.iter()) {
            hits += usize::from(tag.as_str() == Some(simplify_brown_tag(g).as_str()));
            tokens += 1;
        }
    }
    let accuracy = 100.0 * hits as f64 / tokens as f64;
    println!("predict on the {} held-out sentences: {accuracy:.4}% of {tokens} tokens", sentences.len());
    assert!((accuracy - from_conll).abs() < 0.02, "predict {accuracy}% vs training's {from_conll}%");

    // Raw text: the word tokenizer splits it, each word gets a tag from the tag set.
    let run = tessera(&["predict", model_arg, "The jury said it did not find any evidence."]);
    let line = run.ok().trim_end().to_string();
    let tagged = line.split('\t').nth(1).unwrap();
    assert!(tagged.starts_with("The/at jury/nn "), "{line}");
    assert_eq!(tagged.split(' ').count(), 10, "{line}");
}

/// A small CoNLL file of named-entity tags (no documents, so split by sentence): the tags come
/// back exactly as written, upper case and `B-`/`I-` prefixes kept.
#[test]
fn conll_tags_are_kept_as_written() {
    let names = ["Anna", "Peter", "Maria", "John", "Lena"];
    let mut conll = String::new();
    for i in 0..40 {
        let name = names[i % names.len()];
        conll.push_str(&format!("{name} B-PER\nSmith I-PER\nvisited O\nParis B-LOC\n. O\n\n"));
    }
    let path = scratch("tagger-ner", "ner.conll");
    std::fs::write(&path, conll).unwrap();
    let model = scratch("tagger-ner", "model");
    let model_arg = model.to_str().unwrap();
    let run = tessera(&[
        "train",
        "tagger",
        "--conll",
        path.to_str().unwrap(),
        "--epochs",
        "3",
        "--hidden",
        "16",
        "--lr",
        "0.02",
        "--out",
        model_arg,
    ]);
    run.ok();
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(model.join("config.json")).unwrap()).unwrap();
    let mut labels: Vec<&str> = config["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    labels.sort();
    assert_eq!(labels, ["B-LOC", "B-PER", "I-PER", "O"]);
    let run = tessera(&["predict", model_arg, "--json", "Maria Smith visited Paris ."]);
    let tags: serde_json::Value = serde_json::from_str(run.ok().trim()).unwrap();
    assert_eq!(tags["tags"].as_array().unwrap().len(), 5);
    assert!(tags["tags"].as_array().unwrap().iter().all(|t| labels.contains(&t.as_str().unwrap())), "{tags}");
}
