//! Tiny pretrained folders and toy tasks shared by the transfer tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use nlp::encoder::{Bert, BertConfig, BertVocab, save_bert};
use nlp::lm::{Gpt, GptConfig, NeuralLm, NeuralVocab, WordVocab, save_model_folder};
use tensor_core::{Device, TensorRng};
use transfer::Example;

pub fn device() -> Arc<dyn Device> {
    backend_cpu::CpuDevice::shared()
}

/// A fresh, empty temporary folder for one test.
pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-transfer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const GOOD: [&str; 4] = ["good", "great", "fine", "lovely"];
const BAD: [&str; 4] = ["bad", "awful", "poor", "dull"];
const FILLER: [&str; 6] = ["the", "film", "was", "a", "story", "plot"];

/// Sentences of filler words with one sentiment word: class 1 for a good word.
pub fn toy_examples(n: usize, seed: u64) -> Vec<Example> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |m: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % m
    };
    (0..n)
        .map(|i| {
            let class = (i % 2) as i64;
            let word = if class == 1 { GOOD[next(4)] } else { BAD[next(4)] };
            let mut words: Vec<&str> = (0..4).map(|_| FILLER[next(6)]).collect();
            words.insert(next(5), word);
            Example::class(&words.join(" "), class)
        })
        .collect()
}

pub fn toy_texts() -> Vec<String> {
    let mut texts: Vec<String> = toy_examples(40, 7).iter().map(|e| e.words.join(" ")).collect();
    texts.push(GOOD.join(" ") + " " + &BAD.join(" ") + " " + &FILLER.join(" "));
    texts
}

/// A randomly initialised BERT folder over the toy words.
pub fn bert_folder(name: &str) -> PathBuf {
    let dir = temp(name);
    let texts = toy_texts();
    let vocab = BertVocab::build(texts.iter().map(String::as_str), 1, None);
    let bert = Bert::new(BertConfig::new(vocab.size(), 16, 2, 2, 16), &mut TensorRng::new(1), &device()).unwrap();
    save_bert(&dir, &bert, &vocab).unwrap();
    dir
}

/// A randomly initialised GPT folder over the toy words (a word vocabulary).
pub fn gpt_folder(name: &str) -> PathBuf {
    let dir = temp(name);
    let texts = toy_texts();
    let vocab = WordVocab::build(texts.iter().flat_map(|t| t.split(' ')), 1, None);
    let mut config = GptConfig::nano_shakespeare(nlp::lm::Vocabulary::size(&vocab));
    config.context = 16;
    config.layers = 2;
    config.heads = 2;
    config.width = 16;
    config.dropout = 0.0;
    let gpt = Gpt::new(config, &mut TensorRng::new(2), &device()).unwrap();
    save_model_folder(&dir, &NeuralLm::new(gpt, NeuralVocab::Words(vocab)).unwrap()).unwrap();
    dir
}

/// A word2vec text file of random 8-wide vectors for the toy words.
pub fn vectors_file(name: &str) -> PathBuf {
    let dir = temp(name);
    let path = dir.join("vectors.txt");
    let words: Vec<&str> = GOOD.iter().chain(&BAD).chain(&FILLER).copied().collect();
    let mut text = format!("{} 8\n", words.len());
    for (i, w) in words.iter().enumerate() {
        let v: Vec<String> = (0..8).map(|k| format!("{:.3}", ((i * 8 + k) as f64 * 0.37).sin())).collect();
        text.push_str(&format!("{w} {}\n", v.join(" ")));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// A randomly initialised one-layer LSTM language-model folder over the toy words.
pub fn rnn_folder(name: &str) -> PathBuf {
    let dir = temp(name);
    let texts = toy_texts();
    let vocab = WordVocab::build(texts.iter().flat_map(|t| t.split(' ')), 1, None);
    let mut config = nlp::lm::RnnLmConfig::zaremba_small(nlp::lm::Vocabulary::size(&vocab));
    config.layers = 1;
    config.embed = 12;
    config.hidden = 12;
    config.dropout = 0.0;
    let lm = nlp::lm::RnnLm::new(config, &mut TensorRng::new(3), &device()).unwrap();
    save_model_folder(&dir, &NeuralLm::new(lm, NeuralVocab::Words(vocab)).unwrap()).unwrap();
    dir
}
