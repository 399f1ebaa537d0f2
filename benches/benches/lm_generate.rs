#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Per-token latency of text generation (`nlp::lm::generate`, what `tessera lm generate` runs),
//! [`TOKENS`] tokens per iteration after a one-word prompt, on backend-cpu:
//!
//! - `lstm_2x200_v10k`: Zaremba "small" (2 x 200 LSTM, 10,000 ids, untied), random weights (the
//!   cost of a step does not depend on them); each token is one step of the network on one
//!   stream, the softmax of its 10,000 logits read back, and a draw.
//! - `kn3_ptb`: an interpolated modified Kneser-Ney 3-gram of Penn Treebank train
//!   (`../shared/data/ptb`, its 10,000-word vocabulary); each token scores every word of the vocabulary after
//!   the context, then draws.
//!
//! Each model is timed with greedy decoding and with nucleus sampling (top-p 0.9 at temperature
//! 0.8, repetition penalty 1.1). `cargo xtask lm-latency` runs this on 1 and 2 threads and
//! prints milliseconds per token.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nlp::lm::sampling::{Sampler, SamplingConfig};
use nlp::lm::{
    GenerateConfig, LanguageModel, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, Vocabulary, WordVocab, generate,
};
use nlp::ngram::{KneserNeyConfig, NgramCounter, kneser_ney};
use tensor_core::TensorRng;
use tessera_benches::init_threads;

/// Tokens generated per iteration.
const TOKENS: usize = 100;

/// The sampling configurations timed, by the suffix of their bench id.
fn samplers() -> [(&'static str, SamplingConfig); 2] {
    let nucleus =
        SamplingConfig { top_p: Some(0.9), repetition_penalty: 1.1, ..SamplingConfig::with_temperature(0.8, 1) };
    [("greedy", SamplingConfig::greedy()), ("top_p", nucleus)]
}

/// Times [`TOKENS`] tokens of `model` after `prompt` with each sampler, as `<name>_<sampler>`.
fn bench_model(c: &mut Criterion, group: &str, name: &str, model: &dyn LanguageModel, prompt: &str) {
    let prompt: Vec<u32> = model.vocabulary().encode(prompt).iter().map(|t| t.id).collect();
    let config = GenerateConfig { max_tokens: TOKENS, stop: None };
    let mut group = c.benchmark_group(group);
    group.sample_size(10).measurement_time(Duration::from_secs(8)).throughput(Throughput::Elements(TOKENS as u64));
    for (suffix, sampling) in samplers() {
        group.bench_function(format!("{name}_{suffix}"), |bench| {
            bench.iter(|| {
                let mut sampler = Sampler::new(sampling).expect("a valid sampling config");
                let ids = generate(model, &prompt, &config, &mut sampler, &mut |_| Ok(())).expect("generation runs");
                assert_eq!(ids.len(), TOKENS);
            })
        });
    }
    group.finish();
}

fn lm_generate(c: &mut Criterion) {
    let threads = init_threads();
    let group = format!("cpu/lm_generate/t{threads}");
    let words: Vec<String> = (0..9_998).map(|i| format!("w{i}")).collect();
    let vocab = WordVocab::build(words.iter().map(String::as_str), 1, None);
    assert_eq!(vocab.size(), 10_000, "two specials and 9,998 words");
    let device = backend_cpu::CpuDevice::shared();
    let network = RnnLm::new(RnnLmConfig::zaremba_small(vocab.size()), &mut TensorRng::new(0), &device)
        .expect("the small config is valid");
    let lstm = NeuralLm::new(network, NeuralVocab::Words(vocab)).expect("sizes agree");
    bench_model(c, &group, "lstm_2x200_v10k", &lstm, "w1");

    let Some(ptb) = test_support::shared_data("ptb") else { return };
    let mut counter = NgramCounter::new(3).expect("a valid order");
    counter.add_file(&ptb.join("ptb.train.txt.gz")).expect("PTB train reads");
    let kn3 =
        kneser_ney(counter.finish().expect("PTB is not empty"), &KneserNeyConfig::default()).expect("KN estimates");
    bench_model(c, &group, "kn3_ptb", &kn3, "the");
}

criterion_group!(benches, lm_generate);
criterion_main!(benches);
