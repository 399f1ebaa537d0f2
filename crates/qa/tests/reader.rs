//! The reader learns a synthetic span task, its folder round-trips, and answers map back to
//! the exact passage text.

use std::sync::Arc;

use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig};
use qa::features::{build_vocab, examples};
use qa::squad::SquadSet;
use qa::train::{EpochOptions, answer, predict_set, train_epoch};
use qa::{Reader, ReaderConfig, folder, metric};
use serde_json::json;
use tensor_core::{Device, TensorRng};

/// Passages of filler words; the question names a marker word that occurs once, and the
/// answer is the two words after it.
fn synthetic(n: usize, seed: u64) -> serde_json::Value {
    let filler = ["red", "blue", "green", "stone", "river", "lamp", "seven", "north", "Öl", "çay"];
    let markers = ["alpha", "beta", "gamma", "delta", "omega"];
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |m: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) % m as u64) as usize
    };
    let paragraphs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let len = 8 + next(10);
            let mut words: Vec<&str> = (0..len).map(|_| filler[next(filler.len())]).collect();
            let at = next(len - 2);
            let marker = markers[next(markers.len())];
            words[at] = marker;
            let context = words.join(" ");
            let answer = words[at + 1..at + 3].join(" ");
            let start = words[..at + 1].iter().map(|w| w.chars().count() + 1).sum::<usize>();
            json!({"context": context, "qas": [{"id": format!("s{seed}-{i}"), "question": format!("What follows {marker} ?"),
                "answers": [{"text": answer, "answer_start": start}]}]})
        })
        .collect();
    json!({"data": [{"title": "synthetic", "paragraphs": paragraphs}]})
}

fn device() -> Arc<dyn Device> {
    backend_cpu::CpuDevice::shared()
}

fn small() -> ReaderConfig {
    ReaderConfig { words: 0, embedding: 16, hidden: 16, layers: 1, dropout: 0.0 }
}

#[test]
fn a_tiny_reader_learns_a_synthetic_span_task() {
    let device = device();
    let train = SquadSet::from_json(&synthetic(400, 1), std::path::Path::new("train"), true).unwrap();
    let test = SquadSet::from_json(&synthetic(100, 2), std::path::Path::new("test"), false).unwrap();
    let vocab = build_vocab(&train, 1000);
    let reader = Reader::new(ReaderConfig { words: vocab.len(), ..small() }, &mut TensorRng::new(3), &device).unwrap();
    let items = examples(&train, &vocab, Some(100));
    assert_eq!(items.len(), 400);
    let mut adam = Adam::new(reader.parameters(), AdamConfig::adam(1e-2));
    let mut losses = Vec::new();
    for epoch in 0..12 {
        losses.push(train_epoch(&reader, &mut adam, &items, &EpochOptions::new(16, epoch), &device).unwrap().loss);
    }
    let predictions = predict_set(&reader, &vocab, &test, 32, &device).unwrap();
    let score = metric::evaluate(&test, &predictions);
    assert!(losses[11] < losses[0] / 4.0, "loss did not fall: {losses:?}");
    assert!(score.exact_match > 80.0, "EM {} after losses {losses:?}", score.exact_match);
}

#[test]
fn the_folder_round_trips_and_answers_are_exact_substrings() {
    let device = device();
    let train = SquadSet::from_json(&synthetic(20, 5), std::path::Path::new("train"), true).unwrap();
    let vocab = build_vocab(&train, 1000);
    let reader = Reader::new(ReaderConfig { words: vocab.len(), ..small() }, &mut TensorRng::new(9), &device).unwrap();
    let dir = std::env::temp_dir().join(format!("qa-folder-{}", std::process::id()));
    folder::save(&dir, &reader, &vocab, json!({"epochs": 0})).unwrap();
    let (loaded, loaded_vocab, training) = folder::load(&dir, &device).unwrap();
    assert_eq!(training["epochs"], 0);
    assert_eq!(loaded_vocab, vocab);
    let context = "Die Straße führt über die Brücke nach Zürich, 42 km weit.";
    let a = answer(&reader, &vocab, context, "Wohin führt die Straße?", &device).unwrap();
    let b = answer(&loaded, &loaded_vocab, context, "Wohin führt die Straße?", &device).unwrap();
    assert_eq!(a, b);
    assert_eq!(qa::tokenize::char_slice(context, a.start, a.end), a.text);
    assert!(context.contains(&a.text) && !a.text.is_empty());
    assert!(answer(&reader, &vocab, "  ", "Why?", &device).is_err());
    assert!(answer(&reader, &vocab, context, "?!", &device).is_ok());
    assert_eq!(answer(&reader, &vocab, context, "", &device).unwrap_err().to_string(), "the question is empty");

    // A vocabulary of another size than the config says is an error naming the file.
    std::fs::write(dir.join(folder::VOCAB), "<pad> 0\n<unk> 0\nred 3\n").unwrap();
    let error = folder::load(&dir, &device).err().unwrap().to_string();
    assert!(error.contains("vocab.txt") && error.contains("holds 3 words"), "{error}");
    folder::save(&dir, &reader, &vocab, json!({})).unwrap();
    std::fs::remove_file(dir.join(folder::WEIGHTS)).unwrap();
    assert!(folder::load(&dir, &device).err().unwrap().to_string().contains("weights.safetensors"));
    std::fs::remove_dir_all(&dir).unwrap();
}
