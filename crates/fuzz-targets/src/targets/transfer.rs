//! Transfer learning's own readers (LoRA adapter files, a word-vector body) and word2vec's
//! evaluation files (analogy questions, similarity judgements).

use std::path::Path;
use std::sync::Arc;

use ::transfer::{Body, Lora, LoraConfig};
use backend_cpu::CpuDevice;
use nlp::word2vec::{Embeddings, VectorFormat};
use nn_layers::layers::Linear;
use tensor_core::{Device, TensorRng};

use super::{Target, text};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "lora-adapters",
            files: &["adapters.safetensors"],
            seeds: || vec![lora_seed()],
            read: read_lora,
        },
        Target {
            name: "transfer-body-vectors",
            files: &["vectors.txt"],
            seeds: || vec![super::text::vectors(VectorFormat::Text)],
            read: |path| text(Body::load(path, None, &device())),
        },
        Target {
            name: "word2vec-analogies",
            files: &["questions-words.txt"],
            seeds: || vec![ANALOGIES.as_bytes().to_vec()],
            read: |path| text(embeddings().evaluate_analogies(path, 100, true)),
        },
        Target {
            name: "word2vec-pairs",
            files: &["wordsim.tsv"],
            seeds: || vec![PAIRS.as_bytes().to_vec()],
            read: |path| text(embeddings().evaluate_word_pairs(path, true)),
        },
    ]
}

fn device() -> Arc<dyn Device> {
    CpuDevice::shared()
}

/// A 3x4 linear layer with rank-2 adapters on its weight.
fn adapted() -> (Linear, Lora) {
    let linear = Linear::new(4, 3, &mut TensorRng::new(0), &device()).expect("a tiny layer");
    let config = LoraConfig { rank: 2, alpha: 4.0, targets: vec!["weight".into()], seed: 0 };
    let lora = Lora::attach(&linear, &config).expect("the layer's weight takes an adapter");
    (linear, lora)
}

fn lora_seed() -> Vec<u8> {
    let dir = super::seed_scratch("lora");
    let path = dir.join("adapters.safetensors");
    adapted().1.save(&path).expect("the seed adapters are written");
    let bytes = std::fs::read(&path).expect("the seed is read back");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn read_lora(path: &Path) -> Result<(), String> {
    let (_linear, lora) = adapted();
    text(lora.load(path))
}

/// Four 3-dimensional vectors to evaluate.
fn embeddings() -> Embeddings {
    let words = ["king", "queen", "man", "woman"].map(String::from).to_vec();
    let values = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
    Embeddings::new(words, 3, values).expect("valid vectors")
}

const ANALOGIES: &str = ": capital-common-countries\nking queen man woman\nKING MAN QUEEN WOMAN\n\
                         : gram1-adjective-to-adverb\nking queen man unknown\n";

const PAIRS: &str = "# word1\tword2\tscore\nking\tqueen\t8.5\nman\twoman\t8.3\nking\tman\t5.0\nqueen\tunseen\t1\n";
