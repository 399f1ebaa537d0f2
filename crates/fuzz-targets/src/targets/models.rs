//! Model folders: a recurrent LM with a word vocabulary, a GPT with characters, a recurrent LM
//! with a BPE tokenizer, and a BERT encoder. Each seed is a folder Tessera saved; the input
//! holds its files (config first, then the vocabulary, then the weights).

use std::path::Path;
use std::sync::Arc;

use backend_cpu::CpuDevice;
use nlp::encoder::{Bert, BertConfig, BertVocab, load_bert, save_bert};
use nlp::lm::{
    BpeVocab, CharVocab, Gpt, GptConfig, LmNetwork, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, Vocabulary, WordVocab,
    load_model, save_model_folder,
};
use nn_layers::layers::{Activation, CellKind, Positions};
use tensor_core::{Device, TensorRng};

use super::{Target, join_files, seed_scratch, text};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "lm-folder-words",
            files: &["config.json", "vocab.txt", "weights.safetensors"],
            seeds: || {
                vec![folder_seed(&["config.json", "vocab.txt", "weights.safetensors"], |dir| save(dir, rnn_words()))]
            },
            read: read_lm,
        },
        Target {
            name: "lm-folder-gpt",
            files: &["config.json", "chars.json", "weights.safetensors"],
            seeds: || {
                vec![folder_seed(&["config.json", "chars.json", "weights.safetensors"], |dir| save(dir, gpt_chars()))]
            },
            read: read_lm,
        },
        Target {
            name: "lm-folder-bpe",
            files: &["config.json", "tokenizer.json", "weights.safetensors"],
            seeds: || {
                vec![folder_seed(&["config.json", "tokenizer.json", "weights.safetensors"], |dir| save(dir, rnn_bpe()))]
            },
            read: read_lm,
        },
        Target {
            name: "bert-folder",
            files: &["config.json", "vocab.txt", "weights.safetensors"],
            seeds: || {
                vec![folder_seed(&["config.json", "vocab.txt", "weights.safetensors"], |dir| {
                    let vocab = BertVocab::from_words("the cat sat on the mat".split(' '), 1, None);
                    let config = BertConfig { intermediate: 8, ..BertConfig::new(vocab.size(), 8, 1, 2, 4) };
                    let bert = Bert::new(config, &mut TensorRng::new(0), &device()).expect("a tiny BERT");
                    save_bert(dir, &bert, &vocab).expect("the seed folder is written");
                })]
            },
            read: |folder| text(load_bert(folder, &device())),
        },
    ]
}

fn device() -> Arc<dyn Device> {
    CpuDevice::shared()
}

/// Loads a language model folder and scores a sentence with it.
fn read_lm(folder: &Path) -> Result<(), String> {
    let lm = load_model(folder, &device()).map_err(|e| e.to_string())?;
    lm.perplexity(&["the cat sat"]).map(|_| ()).map_err(|e| format!("{} (scoring): {e}", folder.display()))
}

fn save<M: LmNetwork>(dir: &Path, lm: NeuralLm<M>) {
    save_model_folder(dir, &lm).expect("the seed folder is written");
}

/// The files of a folder `write` saves, joined as a folder target's input.
pub(super) fn folder_seed(files: &[&str], write: impl FnOnce(&Path)) -> Vec<u8> {
    let dir = seed_scratch("folder");
    write(&dir);
    let parts: Vec<Vec<u8>> =
        files.iter().map(|name| std::fs::read(dir.join(name)).expect("the seed folder holds its files")).collect();
    let _ = std::fs::remove_dir_all(&dir);
    join_files(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

fn rnn(vocab: NeuralVocab) -> NeuralLm {
    let config = RnnLmConfig {
        cell: CellKind::Lstm,
        vocab_size: vocab.size(),
        embed: 4,
        hidden: 4,
        layers: 1,
        dropout: 0.0,
        tie_weights: true,
        init_range: 0.1,
    };
    let model = RnnLm::new(config, &mut TensorRng::new(0), &device()).expect("a tiny RNN LM");
    NeuralLm::new(model, vocab).expect("the vocabulary fits")
}

fn rnn_words() -> NeuralLm {
    rnn(NeuralVocab::Words(WordVocab::build("the cat sat on the mat".split(' '), 1, None)))
}

fn rnn_bpe() -> NeuralLm {
    let vocab = BpeVocab::new(super::text::tokenizer(), "<|endoftext|>").expect("the end token is special");
    rnn(NeuralVocab::Bpe(Box::new(vocab)))
}

fn gpt_chars() -> NeuralLm<Gpt> {
    let vocab = CharVocab::build("the cat sat on the mat.");
    let config = GptConfig {
        vocab_size: vocab.size(),
        context: 8,
        layers: 1,
        heads: 2,
        width: 8,
        dropout: 0.0,
        bias: true,
        positions: Positions::Learned,
        activation: Activation::GeluTanh,
    };
    let model = Gpt::new(config, &mut TensorRng::new(0), &device()).expect("a tiny GPT");
    NeuralLm::new(model, NeuralVocab::Chars(vocab)).expect("the vocabulary fits")
}
