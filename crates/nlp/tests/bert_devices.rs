//! Every backend runs the BERT-style encoder: a padded pair batch gives the CPU's states,
//! pooled outputs and masked-LM logits on the simulated TPU and on the GPU (lavapipe where no
//! GPU exists; skipped with a reason when no adapter starts, a failure under CI=true), and a few
//! pretraining steps follow the CPU's held-out loss.

use std::sync::Arc;

use autograd::no_grad;
use backend_cpu::CpuDevice;
use backend_gpu::GpuDevice;
use backend_tpu_sim::TpuDevice;
use nlp::encoder::{Bert, BertBatch, BertConfig, BertVocab, Pooling, PretrainConfig, pack_inputs, pretrain};
use tensor_core::{Device, TensorRng};

const TEXT: &[&str] = &[
    "the cat sat on the mat .",
    "the dog sat on the log .",
    "a cat saw the dog .",
    "a bird sang on the log .",
    "the dog saw a cat on the mat .",
];

/// What one device gives: the forward outputs, flattened, and the held-out loss curve.
fn run(device: &Arc<dyn Device>) -> (Vec<f32>, Vec<f64>) {
    let vocab = BertVocab::build(TEXT.iter().copied(), 1, None);
    let bert = Bert::new(BertConfig::new(vocab.size(), 16, 2, 2, 16), &mut TensorRng::new(5), device).unwrap();
    let inputs = [vocab.encode_pair("the cat sat", "on the mat", 16).unwrap(), vocab.encode("a dog", 16).unwrap()];
    let batch = BertBatch::from_inputs(&inputs, vocab.pad_id(), device).unwrap();
    let outputs = no_grad(|| {
        let states = bert.encode(&batch).unwrap();
        let mut out = states.value().to_vec::<f32>().unwrap();
        for pooling in [Pooling::Cls, Pooling::Mean] {
            out.extend(bert.pooled(&batch, &states, pooling).unwrap().value().to_vec::<f32>().unwrap());
        }
        out.extend(bert.mlm_logits(&states, None).unwrap().value().to_vec::<f32>().unwrap());
        out
    });
    let sentences: Vec<Vec<u32>> = (0..8).flat_map(|_| TEXT.iter().map(|s| vocab.tokenize(s))).collect();
    let inputs = pack_inputs(&sentences, &vocab, 16, 0).unwrap();
    let recipe =
        PretrainConfig { steps: 6, batch: 4, warmup: 2, eval_every: 3, eval_inputs: Some(8), ..Default::default() };
    let outcome = pretrain(&bert, &vocab, &inputs, &inputs, &recipe, None, &mut |_| {}).unwrap();
    (outputs, outcome.history.iter().map(|e| e.held_out.loss).collect())
}

fn assert_close(name: &str, cpu: &(Vec<f32>, Vec<f64>), other: &(Vec<f32>, Vec<f64>)) {
    let worst = cpu.0.iter().zip(&other.0).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert_eq!(cpu.0.len(), other.0.len());
    assert!(worst < 1e-4, "{name}'s outputs differ from the CPU's by {worst}");
    println!("cpu {:.5?}\n{name} {:.5?}", cpu.1, other.1);
    assert_eq!(cpu.1.len(), other.1.len());
    for (a, b) in cpu.1.iter().zip(&other.1) {
        assert!((a - b).abs() / a <= 1e-3, "{name} leaves the CPU's loss curve: {b} vs {a}");
    }
}

#[test]
fn a_bert_runs_and_pretrains_alike_on_every_backend() {
    let cpu = run(&CpuDevice::shared());
    let tpu: Arc<dyn Device> = TpuDevice::exact();
    assert_close("tpu-sim", &cpu, &run(&tpu));
    if let Some(gpu) = test_support::require("a GPU adapter", GpuDevice::shared()) {
        assert_close("gpu", &cpu, &run(&gpu));
    }
}
