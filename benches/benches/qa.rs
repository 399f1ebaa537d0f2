#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The SQuAD reader (`crates/qa`): one training step on 32 questions (passages of 140 tokens,
//! questions of 12, SQuAD's means, a 40,000-word vocabulary; the sizes `tessera qa train` uses
//! by default), answering one question about one passage (tokenising included) and loading a
//! reader's folder. Ids: `cpu/qa/t<threads>/train_step_b32`, `answer_one`, `load_folder`
//! (`cargo xtask bench --only qa` runs 1 and 2 threads and reports questions/s and ms).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig};
use qa::features::Example;
use qa::tokenize::tokenize;
use qa::train::{EpochOptions, answer, train_epoch};
use qa::{Reader, ReaderConfig, folder};
use serde_json::json;
use tensor_core::TensorRng;
use tessera_benches::init_threads;

const WORDS: usize = 40_000;
const BATCH: usize = 32;

fn text(seed: usize, len: usize) -> String {
    (0..len).map(|j| format!("w{}", (seed * 7919 + j * 104_729) % WORDS)).collect::<Vec<_>>().join(" ")
}

fn qa(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let vocab =
        Vocab::from_counts((0..WORDS - 2).map(|i| (format!("w{i}"), (WORDS - i) as u64)), &VocabConfig::default());
    let config = ReaderConfig { words: vocab.len(), embedding: 100, hidden: 64, layers: 1, dropout: 0.3 };
    let reader = Reader::new(config, &mut TensorRng::new(0), &device).unwrap();
    let items: Vec<Example> = (0..BATCH)
        .map(|i| {
            let (passage, question) = (tokenize(&text(i, 140)), tokenize(&text(i + 1000, 12)));
            Example::new(&vocab, 0, &format!("q{i}"), &passage, &question, Some((60 + i, 62 + i)), None)
        })
        .collect();
    let mut adam = Adam::new(reader.parameters(), AdamConfig::adam(2e-3));
    let once = EpochOptions { max_batches: Some(1), ..EpochOptions::new(BATCH, 0) };
    let mut group = c.benchmark_group(format!("cpu/qa/t{threads}"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(format!("train_step_b{BATCH}"), |b| {
        b.iter(|| train_epoch(&reader, &mut adam, &items, &once, &device).unwrap())
    });
    let (context, question) = (text(5, 140), text(6, 12));
    group.throughput(Throughput::Elements(1));
    group.bench_function("answer_one", |b| b.iter(|| answer(&reader, &vocab, &context, &question, &device).unwrap()));
    let dir = std::env::temp_dir().join(format!("tessera-bench-qa-{}", std::process::id()));
    folder::save(&dir, &reader, &vocab, json!({})).unwrap();
    group.bench_function("load_folder", |b| b.iter(|| folder::load(&dir, &device).unwrap()));
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, qa);
criterion_main!(benches);
