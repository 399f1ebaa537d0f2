//! Hugging Face parity: tiny randomly initialised GPT-2 and BERT checkpoints in Hugging Face's
//! names and layouts load into Tessera's `Gpt` and `Bert` as they are and give the logits (and,
//! for BERT, the final states and pooled output) that Hugging Face's own implementation
//! computed for them, within 1e-4. The fixtures and their generator,
//! `fixtures/make_hf_fixtures.py`, sit beside this file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use autograd::no_grad;
use backend_cpu::CpuDevice;
use nlp::encoder::{Bert, BertBatch, BertConfig, Pooling};
use nlp::lm::{Gpt, GptConfig};
use nn_layers::NnError;
use nn_layers::checkpoint::{self, load_tensors};
use nn_layers::layers::{Activation, Positions};
use tensor_core::{Device, Tensor, TensorRng};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The fixture's tensor `name`.
fn stored(path: &Path, name: &str, device: &Arc<dyn Device>) -> Tensor {
    let tensors = load_tensors(path, device).unwrap();
    tensors.into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{} lacks `{name}`", path.display())).1
}

/// The largest absolute difference between `ours` and `expected` (same shape).
fn worst(ours: &Tensor, expected: &Tensor) -> f32 {
    assert_eq!(ours.dims(), expected.dims());
    let (a, b) = (ours.to_vec::<f32>().unwrap(), expected.to_vec::<f32>().unwrap());
    a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn gpt2_config(width: usize) -> GptConfig {
    GptConfig {
        vocab_size: 61,
        context: 16,
        layers: 2,
        heads: 3,
        width,
        dropout: 0.0,
        bias: true,
        positions: Positions::Learned,
        activation: Activation::GeluTanh,
    }
}

#[test]
fn a_hugging_face_gpt2_checkpoint_gives_its_logits() {
    let device: Arc<dyn Device> = CpuDevice::shared();
    let path = fixture("hf_gpt2_tiny.safetensors");
    let gpt = Gpt::new(gpt2_config(24), &mut TensorRng::new(9), &device).unwrap();
    let report = checkpoint::load(&path, &gpt, None).unwrap();
    assert!(report.missing.is_empty(), "missing {:?}", report.missing);
    assert_eq!(report.unexpected, ["expected_logits", "input_ids"], "only the test's tensors are left over");
    let ids = stored(&path, "input_ids", &device);
    let logits = no_grad(|| gpt.forward_ids(&ids, None, None).unwrap().value());
    let gap = worst(&logits, &stored(&path, "expected_logits", &device));
    assert!(gap < 1e-4, "GPT-2 logits differ from Hugging Face's by {gap}");
}

#[test]
fn a_gpt2_checkpoint_of_another_width_is_an_error_naming_the_tensor() {
    let device: Arc<dyn Device> = CpuDevice::shared();
    let gpt = Gpt::new(gpt2_config(12), &mut TensorRng::new(0), &device).unwrap();
    let before = gpt.wte().value().to_vec::<f32>().unwrap();
    let error = checkpoint::load(&fixture("hf_gpt2_tiny.safetensors"), &gpt, None).unwrap_err();
    assert!(matches!(error, NnError::ShapeMismatch { .. }), "{error}");
    assert!(error.to_string().contains("transformer."), "{error}");
    assert_eq!(gpt.wte().value().to_vec::<f32>().unwrap(), before, "a failed load changes nothing");
}

fn bert_config() -> BertConfig {
    BertConfig { intermediate: 40, ..BertConfig::new(53, 16, 2, 3, 24) }
}

/// The BERT fixture's model and batch (lengths from its attention mask).
fn hf_bert(device: &Arc<dyn Device>) -> (Bert, BertBatch, PathBuf) {
    let path = fixture("hf_bert_tiny.safetensors");
    let bert = Bert::new(bert_config(), &mut TensorRng::new(3), device).unwrap();
    let report = checkpoint::load(&path, &bert, None).unwrap();
    assert!(report.missing.is_empty(), "missing {:?}", report.missing);
    let mut unexpected = report.unexpected.clone();
    unexpected.retain(|n| {
        !n.starts_with("expected_") && !["input_ids", "token_type_ids", "attention_mask"].contains(&n.as_str())
    });
    assert_eq!(unexpected, ["cls.seq_relationship.bias", "cls.seq_relationship.weight"], "only the NSP head is unused");
    let mask = stored(&path, "attention_mask", device).to_vec::<i64>().unwrap();
    let steps = stored(&path, "input_ids", device).dims()[1];
    let lengths: Vec<usize> = mask.chunks(steps).map(|row| row.iter().sum::<i64>() as usize).collect();
    assert_eq!(lengths, [11, 7]);
    let batch =
        BertBatch::new(stored(&path, "input_ids", device), stored(&path, "token_type_ids", device), lengths).unwrap();
    (bert, batch, path)
}

#[test]
fn a_hugging_face_bert_checkpoint_gives_its_states_pooled_output_and_logits() {
    let device: Arc<dyn Device> = CpuDevice::shared();
    let (bert, batch, path) = hf_bert(&device);
    no_grad(|| {
        let hidden = bert.encode(&batch).unwrap();
        let gap = worst(&hidden.value(), &stored(&path, "expected_hidden", &device));
        assert!(gap < 1e-4, "final states differ from Hugging Face's by {gap}");
        let pooled = bert.pooled(&batch, &hidden, Pooling::Cls).unwrap().value();
        let gap = worst(&pooled, &stored(&path, "expected_pooled", &device));
        assert!(gap < 1e-4, "pooled outputs differ from Hugging Face's by {gap}");
        let logits = bert.mlm_logits(&hidden, None).unwrap().value().reshape([2, 11, 53]);
        let gap = worst(&logits, &stored(&path, "expected_logits", &device));
        assert!(gap < 1e-4, "masked-LM logits differ from Hugging Face's by {gap}");
    });
}
