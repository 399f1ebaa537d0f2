//! A tiny BiLSTM-CRF and its softmax-head twin learn the synthetic tagging task (entity F1 on
//! unseen sentences), the CRF's predictions are valid IOB2, and a saved folder loads back to
//! the same predictions.

use std::sync::Arc;

use backend_cpu::CpuDevice;
use ner::data::NerVocab;
use ner::metric::EntityScores;
use ner::model::{Head, NerConfig, NerTagger};
use ner::train::{TrainConfig, evaluate, predict, train};
use serde_json::json;
use tensor_core::{Device, TensorRng};

fn dev() -> Arc<dyn Device> {
    CpuDevice::shared()
}

fn small(vocab: &NerVocab, head: Head) -> NerConfig {
    NerConfig {
        word_dim: 16,
        char_dim: 8,
        char_filters: 8,
        hidden: 16,
        dropout: 0.1,
        ..NerConfig::for_vocab(vocab, head)
    }
}

fn fit(head: Head) -> (NerTagger, NerVocab, EntityScores) {
    let (train_set, valid, test) =
        (ner::synthetic::sentences(300, 1), ner::synthetic::sentences(40, 2), ner::synthetic::sentences(100, 3));
    let vocab = NerVocab::build(&train_set, None, &[]);
    let tagger = NerTagger::new(&small(&vocab, head), &mut TensorRng::new(4), &dev()).unwrap();
    let config = TrainConfig { epochs: 6, batch_size: 10, lr: 1e-2, ..TrainConfig::default() };
    let epochs = train(&tagger, &vocab, &train_set, &valid, &config, &dev(), &mut |_, _, _| Ok(())).unwrap();
    assert!(epochs.last().unwrap().loss < epochs[0].loss, "{epochs:?}");
    let (scores, _) = evaluate(&tagger, &vocab, &test, &dev()).unwrap();
    (tagger, vocab, scores)
}

#[test]
fn bilstm_crf_learns_the_synthetic_task_and_round_trips_through_a_folder() {
    let (tagger, vocab, scores) = fit(Head::Crf);
    assert!(scores.overall.f1() > 0.95, "CRF test F1 {}\n{}", scores.overall.f1(), scores.table());
    let sentences: Vec<Vec<&str>> =
        vec![vec!["Greta", "Novak", "flew", "to", "New", "York", "."], vec!["in", "Oslo", "."]];
    let before = predict(&tagger, &vocab, &sentences, &dev()).unwrap();
    let mask =
        nn_layers::layers::TransitionMask::iob2(&vocab.tags.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
    for tags in &before {
        let ids: Vec<usize> = tags.iter().map(|t| vocab.tag_id(t).unwrap()).collect();
        assert!(mask.allows_start(ids[0]) && ids.windows(2).all(|w| mask.allows(w[0], w[1])), "{tags:?}");
    }
    let dir = std::env::temp_dir().join(format!("ner-folder-{}", std::process::id()));
    ner::folder::save(&dir, &tagger, &vocab, json!({"note": "test"})).unwrap();
    let (loaded, loaded_vocab, report) = ner::folder::load(&dir, &dev()).unwrap();
    assert_eq!(report["note"], "test");
    let listed = |v: &NerVocab| -> Vec<String> {
        (0..v.words.len())
            .chain(0..v.chars.len())
            .map(|i| v.words.word(i).or(v.chars.word(i)).unwrap().to_string())
            .collect()
    };
    assert_eq!((listed(&loaded_vocab), &loaded_vocab.tags), (listed(&vocab), &vocab.tags));
    assert_eq!(predict(&loaded, &loaded_vocab, &sentences, &dev()).unwrap(), before);
    // A folder whose vocabulary disagrees with its config is an error naming the file.
    std::fs::write(dir.join(ner::folder::CHARS), "<pad> 0\n").unwrap();
    let error = ner::folder::load(&dir, &dev()).err().unwrap().to_string();
    assert!(error.contains("chars.txt") && error.contains("the config says"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn softmax_head_learns_too() {
    let (_, _, scores) = fit(Head::Softmax);
    assert!(scores.overall.f1() > 0.9, "softmax test F1 {}\n{}", scores.overall.f1(), scores.table());
}

#[test]
fn pretrained_vectors_fill_the_word_table_and_can_be_frozen() {
    let sentences = ner::synthetic::sentences(50, 5);
    let words = vec!["paris".to_string(), "unused".to_string()];
    let vectors = nlp::word2vec::Embeddings::new(words, 16, vec![0.5; 32]).unwrap();
    let vocab = NerVocab::build(&sentences, Some(&vectors), &[]);
    let config = NerConfig { freeze_words: true, ..small(&vocab, Head::Crf) };
    let tagger = NerTagger::new(&config, &mut TensorRng::new(0), &dev()).unwrap();
    assert_eq!(tagger.init_words(&vocab, &vectors).unwrap(), 1, "only `paris` is in both");
    let wrong = nlp::word2vec::Embeddings::new(vec!["paris".into()], 4, vec![0.0; 4]).unwrap();
    assert!(tagger.init_words(&vocab, &wrong).unwrap_err().to_string().contains("4-wide"));
    let frozen: Vec<String> =
        nn_layers::ModuleExt::parameters(&tagger).into_iter().filter(|(_, p)| p.is_frozen()).map(|(n, _)| n).collect();
    assert_eq!(frozen, ["words.weight"]);
}
