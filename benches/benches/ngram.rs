#![allow(missing_docs)] // criterion_group! generates undocumented items

//! N-gram language models on Penn Treebank (`../shared/data/ptb`): building an interpolated
//! modified Kneser-Ney 5-gram from the training file (streaming, counting and estimation, as
//! KenLM's `lmplz -o 5` does), and scoring the test file with the built model. Single-threaded,
//! like KenLM; run once (at TESSERA_BENCH_THREADS=1).

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use nlp::ngram::{BackoffModel, KneserNeyConfig, LanguageModel, NgramCounter, kneser_ney};
use tessera_benches::bench_threads;

fn build(train: &Path, order: usize) -> BackoffModel {
    let mut counter = NgramCounter::new(order).expect("a valid order");
    counter.add_file(train).expect("PTB train reads");
    kneser_ney(counter.finish().expect("PTB is not empty"), &KneserNeyConfig::default()).expect("KN estimates")
}

fn ngram(c: &mut Criterion) {
    if bench_threads() != 1 {
        return;
    }
    let Some(dir) = test_support::shared_data("ptb") else { return };
    let (train, test) = (dir.join("ptb.train.txt.gz"), dir.join("ptb.test.txt.gz"));
    let mut group = c.benchmark_group("cpu/ngram");
    group.sample_size(10);
    group.bench_function("ptb_build_kn5", |bench| bench.iter(|| build(&train, 5).ngram_count(5)));
    let model = build(&train, 5);
    group.bench_function("ptb_score_test_kn5", |bench| {
        bench.iter(|| model.perplexity_of_file(&test).expect("PTB test reads").perplexity())
    });
    group.finish();
}

criterion_group!(benches, ngram);
criterion_main!(benches);
