//! Every backend trains a recurrent language model: a tiny LSTM LM (dropout on, truncated BPTT,
//! Adam, validation every epoch) follows the CPU's perplexity curve on the simulated TPU and on
//! the GPU (lavapipe where no GPU exists; skipped with a reason when no adapter starts, a
//! failure under CI=true).

use std::sync::Arc;

use backend_cpu::CpuDevice;
use backend_gpu::GpuDevice;
use backend_tpu_sim::TpuDevice;
use nlp::lm::train::{TrainConfig, train};
use nlp::lm::{NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, TokenStream, Vocabulary, WordVocab};
use nn_layers::layers::CellKind;
use tensor_core::{Device, TensorRng};

/// Largest gap between two devices' perplexities, relative: f32 sums run in other orders on
/// other devices, and Adam carries the differences from step to step.
const TOLERANCE: f64 = 1e-3;

const TEXT: &[&str] =
    &["the cat sat on the mat", "the dog sat on the log", "a cat saw the dog", "a bird sang on the log"];

/// (train, validation) perplexity per epoch of the same run on `device`.
fn perplexity_curve(device: &Arc<dyn Device>, name: &str) -> Vec<(f64, f64)> {
    let vocab = WordVocab::build(TEXT.iter().flat_map(|s| s.split_whitespace()), 1, None);
    let sentences: Vec<Vec<u32>> =
        (0..6).flat_map(|_| TEXT.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect())).collect();
    let stream = TokenStream::from_sentences(&sentences, vocab.end_id());
    let config = RnnLmConfig {
        cell: CellKind::Lstm,
        vocab_size: vocab.size(),
        embed: 12,
        hidden: 12,
        layers: 2,
        dropout: 0.2,
        tie_weights: true,
        init_range: 0.1,
    };
    let lm =
        NeuralLm::new(RnnLm::new(config, &mut TensorRng::new(1), device).unwrap(), NeuralVocab::Words(vocab)).unwrap();
    let train_config = TrainConfig {
        epochs: 3,
        streams: 3,
        window: 6,
        eval_streams: 2,
        ..TrainConfig::adamw_cosine(0.01, 0.01, 2, 0.001)
    };
    let out = std::env::temp_dir().join(format!("tessera-lm-devices-{}-{name}", std::process::id()));
    let outcome = train(&lm, &stream, &stream, &train_config, &out, false, &mut |_| {}).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    outcome.history.iter().map(|e| (e.train_ppl, e.valid_ppl)).collect()
}

fn assert_close(name: &str, cpu: &[(f64, f64)], other: &[(f64, f64)]) {
    println!("cpu {cpu:.5?}\n{name} {other:.5?}");
    assert_eq!(cpu.len(), other.len());
    for ((a, b), (c, d)) in cpu.iter().zip(other) {
        for (x, y) in [(a, c), (b, d)] {
            assert!((x - y).abs() / x <= TOLERANCE, "{name} leaves the CPU's curve: {y} vs {x}");
        }
    }
    assert!(cpu.last().unwrap().1 < cpu[0].1, "the model learns");
}

#[test]
fn an_lstm_lm_trains_alike_on_every_backend() {
    let cpu = perplexity_curve(&CpuDevice::shared(), "cpu");
    let tpu: Arc<dyn Device> = TpuDevice::exact();
    assert_close("tpu-sim", &cpu, &perplexity_curve(&tpu, "tpu"));
    if let Some(gpu) = test_support::require("a GPU adapter", GpuDevice::shared()) {
        assert_close("gpu", &cpu, &perplexity_curve(&gpu, "gpu"));
    }
}
