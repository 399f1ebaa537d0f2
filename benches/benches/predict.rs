#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Using trained models: loading a model folder (config, vocabularies, weights) and predicting
//! through `tessera::Pipeline` on raw input, for each kind `tessera train` writes: an MLP and a
//! LeNet CNN on 28x28 PNG files (decoding included), a TextCNN and a BiLSTM tagger on
//! sentences. Weights are random at the sizes training gives (the cost does not depend on
//! their values). Ids: `cpu/predict/t<threads>/load_<kind>` and `<kind>_b64`, 64 inputs per
//! iteration (`cargo xtask bench --only predict` runs 1 and 2 threads and reports ms and
//! inputs/s).

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nlp::classify::{TextCnn, TextCnnConfig};
use nlp::tag::{Tagger, TaggerConfig};
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::Module;
use nn_layers::models::{LeNetConfig, lenet};
use serde_json::json;
use tensor_core::TensorRng;
use tessera::Pipeline;
use tessera::folder::{self, Architecture, FolderConfig, InputFormat, LossCurve};
use tessera::images::ImageInput;
use tessera_benches::init_threads;

const INPUTS: usize = 64;
const WORDS: usize = 20_000;

fn vocab(prefix: &str, n: usize) -> Vocab {
    Vocab::from_counts((0..n).map(|i| (format!("{prefix}{i}"), (n - i) as u64 + 1)), &VocabConfig::default())
}

fn save(
    dir: &Path,
    architecture: Architecture,
    input: InputFormat,
    labels: usize,
    model: &dyn Module,
    vocabs: &[(&str, &Vocab)],
) {
    let config = FolderConfig {
        architecture,
        input,
        labels: (0..labels).map(|i| format!("c{i}")).collect(),
        training: json!({}),
        loss: LossCurve::default(),
    };
    folder::save(dir, &config, model, vocabs).unwrap();
}

/// Model folders of each kind and the inputs to predict on, in a scratch folder.
fn setup(root: &Path) -> (Vec<(&'static str, PathBuf)>, Vec<String>, Vec<String>) {
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let image = ImageInput::unit(28, 28, 1);
    let mlp_sizes = vec![784, 256, 10];
    let mlp = tessera::pipeline::mlp(&mlp_sizes, &mut rng, &device).unwrap();
    save(&root.join("mlp"), Architecture::Mlp { sizes: mlp_sizes }, InputFormat::Image(image.clone()), 10, &mlp, &[]);
    let lenet_config = LeNetConfig::for_digits([28, 28], 10);
    let cnn = lenet(&lenet_config, &mut rng, &device).unwrap();
    save(&root.join("cnn"), Architecture::LeNet(lenet_config), InputFormat::Image(image), 10, &cnn, &[]);
    let words = vocab("w", WORDS);
    let text_config = TextCnnConfig { embedding: 64, filters: 64, ..TextCnnConfig::kim(words.len(), 2) };
    let textcnn = TextCnn::new(&text_config, &mut rng, &device).unwrap();
    let text_input = InputFormat::Words { lowercase: true };
    save(
        &root.join("textcnn"),
        Architecture::TextCnn(text_config),
        text_input,
        2,
        &textcnn,
        &[(folder::VOCAB, &words)],
    );
    let suffixes = vocab("s", 3000);
    let tagger_config = TaggerConfig {
        words: words.len(),
        suffixes: suffixes.len(),
        tags: 80,
        word_dim: 100,
        suffix_dim: 32,
        hidden: 128,
        bidirectional: true,
        dropout: 0.3,
    };
    let tagger = Tagger::new(&tagger_config, &mut rng, &device).unwrap();
    let vocabs = [(folder::VOCAB, &words), (folder::SUFFIXES, &suffixes)];
    save(
        &root.join("tagger"),
        Architecture::Tagger(tagger_config),
        InputFormat::Words { lowercase: false },
        80,
        &tagger,
        &vocabs,
    );

    let pngs: Vec<String> = (0..INPUTS)
        .map(|i| {
            let pixels: Vec<u8> = (0..784).map(|p| ((p * 7 + i * 13) % 256) as u8).collect();
            let path = root.join(format!("{i}.png"));
            image::GrayImage::from_raw(28, 28, pixels).unwrap().save(&path).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect();
    // Sentences of 12 to 30 words from the vocabulary, as a review or a news sentence.
    let sentences: Vec<String> = (0..INPUTS)
        .map(|i| (0..12 + i % 19).map(|j| format!("w{}", (i * 31 + j * 17) % WORDS)).collect::<Vec<_>>().join(" "))
        .collect();
    let folders = ["mlp", "cnn", "textcnn", "tagger"].into_iter().map(|k| (k, root.join(k))).collect();
    (folders, pngs, sentences)
}

fn predict(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let root = std::env::temp_dir().join(format!("tessera-bench-predict-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let (folders, pngs, sentences) = setup(&root);
    let mut group = c.benchmark_group(format!("cpu/predict/t{threads}"));
    group.sample_size(20);
    for (kind, dir) in &folders {
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("load_{kind}"), |b| b.iter(|| Pipeline::load(dir, &device).unwrap()));
        let pipeline = Pipeline::load(dir, &device).unwrap();
        let inputs = if pipeline.reads_images() { &pngs } else { &sentences };
        group.throughput(Throughput::Elements(INPUTS as u64));
        group.bench_function(format!("{kind}_b{INPUTS}"), |b| b.iter(|| pipeline.predict(inputs, 1).unwrap()));
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&root);
}

criterion_group!(benches, predict);
criterion_main!(benches);
