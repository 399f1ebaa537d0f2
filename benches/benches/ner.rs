#![allow(missing_docs)] // criterion_group! generates undocumented items

//! The NER section's hot paths on backend-cpu, f32: the CRF loss's forward and backward
//! (forward algorithm in log space) and Viterbi decoding over a batch of 32 CoNLL-sized
//! sentences (lengths 8..=40, 9 IOB2 tags), throughput in sentences; and the latency of tagging
//! one 12-word sentence with a CoNLL-sized BiLSTM-CRF (19,400 words, char CNN, 2 x 200 LSTM),
//! as `tessera ner tag` does after loading.

use autograd::Var;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ner::data::NerVocab;
use ner::model::{Head, NerConfig, NerTagger};
use nn_layers::layers::{Crf, TransitionMask};
use tensor_core::{DType, Tensor, TensorRng};
use tessera_benches::init_threads;

const TAGS: [&str; 9] = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"];

fn crf(c: &mut Criterion) {
    let threads = init_threads();
    let device = backend_cpu::CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let crf = Crf::new(9, &mut rng, &device).unwrap().with_mask(TransitionMask::iob2(&TAGS).unwrap()).unwrap();
    let lengths: Vec<usize> = (0..32).map(|i| 8 + (i * 7) % 33).collect();
    let steps = *lengths.iter().max().unwrap();
    let emissions = Var::parameter(rng.normal([32, steps, 9], 0.0, 1.0, DType::F32, &device).unwrap());
    let tags: Vec<i64> = (0..32 * steps).map(|i| if i % 5 == 0 { 1 } else { 0 }).collect();
    let tags = Tensor::from_vec(tags, [32, steps], &device).unwrap();
    let mut group = c.benchmark_group(format!("cpu/ner/t{threads}"));
    group.sample_size(20).throughput(Throughput::Elements(32));
    group.bench_function("crf_fwdbwd_b32_t40_k9", |bench| {
        bench.iter(|| {
            emissions.zero_grad();
            crf.transitions.zero_grad();
            crf.loss(&emissions, &tags, &lengths).unwrap().backward().unwrap();
            emissions.grad().expect("emission gradient").sync().unwrap();
        })
    });
    let values = emissions.value();
    group.bench_function("viterbi_b32_t40_k9", |bench| bench.iter(|| crf.decode(&values, &lengths).unwrap()));
    group.finish();

    let train = ner::synthetic::sentences(20, 0);
    let vocab = NerVocab::build(&train, None, &[]);
    let config = NerConfig {
        words: 19_400,
        chars: 86,
        tags: TAGS.map(String::from).to_vec(),
        ..NerConfig::for_vocab(&vocab, Head::Crf)
    };
    let tagger = NerTagger::new(&config, &mut rng, &device).unwrap();
    let sentence =
        vec!["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "from", "Peter", "Blackburn", "."];
    let one = vec![sentence];
    let mut group = c.benchmark_group(format!("cpu/ner/t{threads}"));
    group.sample_size(30);
    group.bench_function("tag_one_sentence_w12", |bench| {
        bench.iter(|| ner::train::predict(&tagger, &vocab, &one, &device).unwrap())
    });
    group.finish();
}

criterion_group!(benches, crf);
criterion_main!(benches);
