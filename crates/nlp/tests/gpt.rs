//! The character-level GPT: Hugging Face GPT-2's parameter names, cached decoding against the
//! full pass, training on shipped text against an add-k unigram baseline, gradient
//! accumulation against one large step, a resumed run, the model folder, and bad input.

use std::path::PathBuf;
use std::sync::Arc;

use autograd::no_grad;
use backend_cpu::CpuDevice;
use nlp::NlpError;
use nlp::corpus::read_text;
use nlp::lm::train::{OptimizerKind, Schedule, TrainConfig, Windows, train};
use nlp::lm::{
    CharVocab, Gpt, GptConfig, LanguageModel, LmNetwork, MODEL_CHARS, MODEL_CONFIG, NeuralLm, NeuralVocab, TokenStream,
    Vocabulary, load_model, load_network,
};
use nn_layers::ModuleExt;
use nn_layers::layers::{Activation, Positions};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Optimizer, Sgd, SgdConfig};
use tensor_core::{Device, Tensor, TensorRng};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-gpt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const TEXT: &str = "the cat sat on the mat.\nthe dog sat on the log.\na cat saw the dog.\n";

fn tiny(vocab: usize, positions: Positions, bias: bool) -> GptConfig {
    GptConfig {
        vocab_size: vocab,
        context: 16,
        layers: 2,
        heads: 2,
        width: 16,
        dropout: 0.0,
        bias,
        positions,
        activation: Activation::GeluTanh,
    }
}

fn tiny_lm(positions: Positions, seed: u64) -> NeuralLm<Gpt> {
    let vocab = CharVocab::build(TEXT);
    let model = Gpt::new(tiny(vocab.size(), positions, true), &mut TensorRng::new(seed), &CpuDevice::shared()).unwrap();
    NeuralLm::new(model, NeuralVocab::Chars(vocab)).unwrap()
}

/// The characters of `text` as one stream (a newline first, as after any line).
fn char_stream(text: &str, vocab: &CharVocab) -> TokenStream {
    let lines: Vec<Vec<u32>> = text.lines().map(|l| vocab.encode(l).iter().map(|t| t.id).collect()).collect();
    TokenStream::from_sentences(&lines, vocab.end_id())
}

#[test]
fn parameter_names_follow_hugging_face_gpt2() {
    let lm = tiny_lm(Positions::Learned, 0);
    let names: Vec<String> = lm.model().parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[..3], ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight"]);
    assert!(names.contains(&"transformer.h.1.attn.c_attn.weight".to_string()));
    assert!(names.contains(&"transformer.h.1.mlp.c_proj.bias".to_string()));
    assert_eq!(names.last().unwrap(), "transformer.ln_f.bias");
    assert!(!names.iter().any(|n| n.starts_with("lm_head")), "the head is the token embedding: {names:?}");
    let shapes: Vec<Vec<usize>> = lm.model().parameters().iter().map(|(_, p)| p.value().dims().to_vec()).collect();
    assert_eq!(shapes[names.iter().position(|n| n == "transformer.h.0.attn.c_attn.weight").unwrap()], [16, 48]);
    let rotary = tiny_lm(Positions::Rotary, 0);
    assert!(!rotary.model().parameters().iter().any(|(n, _)| n.contains("wpe")), "rotary positions have no table");
}

#[test]
fn cached_decoding_gives_the_logits_of_the_full_pass() {
    for positions in [Positions::Learned, Positions::Sinusoidal, Positions::Rotary] {
        let lm = tiny_lm(positions, 1);
        let vocab = lm.vocab();
        let ids: Vec<u32> = vocab.encode("the cat sat on").iter().map(|t| t.id).collect();
        let device = lm.device().clone();
        let values: Vec<i64> = ids.iter().map(|&id| id as i64).collect();
        let full = no_grad(|| {
            let logits =
                lm.model().forward_ids(&Tensor::from_vec(values, [1, ids.len()], &device).unwrap(), None, None);
            logits.unwrap().value().to_vec::<f32>().unwrap()
        });
        let (first, mut state) = lm.model().decode_start(&ids[..1]).unwrap();
        let mut cached = first;
        for &id in &ids[1..] {
            cached.extend(lm.model().decode_push(&mut state, id).unwrap());
        }
        assert_eq!(state.cache.len(), ids.len());
        assert_eq!(cached.len(), full.len());
        let worst = cached.iter().zip(&full).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{positions:?}: cached and full logits differ by {worst}");
        // Past the context, decoding starts again from the last half of it.
        let mut state = lm.model().decode_start(&ids[..1]).unwrap().1;
        for _ in 0..40 {
            lm.model().decode_push(&mut state, ids[2]).unwrap();
        }
        assert!(state.cache.len() <= 16);
    }
}

/// Cross-entropy (nats per character) of an add-k unigram model of `train` on `held_out`.
fn unigram_nats(train: &[u32], held_out: &[u32], vocab: usize, k: f64) -> f64 {
    let mut counts = vec![0.0; vocab];
    train.iter().for_each(|&id| counts[id as usize] += 1.0);
    let total = train.len() as f64 + k * vocab as f64;
    -held_out.iter().map(|&id| ((counts[id as usize] + k) / total).ln()).sum::<f64>() / held_out.len() as f64
}

#[test]
fn a_tiny_gpt_beats_an_add_k_unigram_on_held_out_austen() {
    let text = read_text(&test_support::repo_data("austen/austen_novels.txt.gz")).unwrap();
    let text: String = text.chars().take(220_000).collect();
    let vocab = CharVocab::build(&text);
    let (train_stream, held_out) = char_stream(&text, &vocab).split(0.9);
    let config = GptConfig { context: 32, width: 32, heads: 4, ..tiny(vocab.size(), Positions::Learned, false) };
    let device: Arc<dyn Device> = CpuDevice::shared();
    let lm =
        NeuralLm::new(Gpt::new(config, &mut TensorRng::new(0), &device).unwrap(), NeuralVocab::Chars(vocab)).unwrap();
    let recipe = TrainConfig {
        epochs: 1,
        streams: 16,
        window: 32,
        windows: Windows::Random { steps_per_epoch: 250 },
        eval_streams: 8,
        eval_windows: Some(40),
        ..TrainConfig::gpt_recipe(250, 250)
    };
    let recipe = TrainConfig { schedule: Schedule::WarmupCosine { base: 3e-3, warmup: 20, min: 3e-4 }, ..recipe };
    let out = scratch("austen");
    let started = std::time::Instant::now();
    let outcome = train(&lm, &train_stream, &held_out, &recipe, &out, false, &mut |_| {}).unwrap();
    let gpt_nats = outcome.history[0].valid_ppl.ln();
    let baseline = unigram_nats(train_stream.ids(), &held_out.ids()[1..], lm.vocab().size(), 1.0);
    eprintln!("GPT {gpt_nats:.3} nats/char vs add-1 unigram {baseline:.3} ({:.1} s)", started.elapsed().as_secs_f64());
    assert!(gpt_nats < baseline - 0.4, "GPT {gpt_nats} vs unigram {baseline}");
    assert!(out.join("best").join(MODEL_CHARS).is_file() && out.join("perplexity.svg").is_file());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn accumulated_windows_make_one_step_on_their_mean_loss() {
    let lm = tiny_lm(Positions::Learned, 2);
    let ids = char_stream(TEXT, &CharVocab::build(TEXT)).ids()[..65].to_vec();
    let stream = TokenStream::from_ids(ids);
    // Two contiguous windows of 4 streams x 8 steps, accumulated into one SGD step.
    let recipe = TrainConfig {
        epochs: 1,
        streams: 4,
        window: 8,
        optimizer: OptimizerKind::Sgd,
        schedule: Schedule::Step { base: 0.5, decay_after: 9, factor: 1.0 },
        clip: 0.0,
        sum_over_time: false,
        accumulate: 2,
        ..TrainConfig::zaremba_small()
    };
    let batches = nlp::lm::BpttBatches::training(&stream, 4, 8).unwrap();
    assert_eq!(batches.len(), 2);
    let by_hand = tiny_lm(Positions::Learned, 2);
    let mut sgd = Sgd::new(by_hand.model().parameters(), SgdConfig::new(0.5));
    let device = by_hand.device().clone();
    let mut total = None;
    for index in 0..2 {
        let w = batches.window(index);
        let inputs = Tensor::from_vec(w.inputs, [w.steps, w.streams], &device).unwrap();
        let targets = Tensor::from_vec(w.targets, [w.steps * w.streams], &device).unwrap();
        let (logits, _) = by_hand.model().forward_window(&inputs, None, None).unwrap();
        let loss = cross_entropy(&logits, &targets, CrossEntropy::default()).unwrap().scale(0.5).unwrap();
        total = Some(match total {
            None => loss,
            Some(t) => loss.add(&t).unwrap(),
        });
    }
    total.unwrap().backward().unwrap();
    sgd.step().unwrap();
    let out = scratch("accumulate");
    let outcome = train(&lm, &stream, &stream, &recipe, &out, false, &mut |_| {}).unwrap();
    assert_eq!(outcome.steps, 1);
    for ((name, a), (_, b)) in lm.model().parameters().iter().zip(by_hand.model().parameters()) {
        let (a, b) = (a.value().to_vec::<f32>().unwrap(), b.value().to_vec::<f32>().unwrap());
        let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-6, "{name}: {worst}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

fn weights(lm: &NeuralLm<Gpt>) -> Vec<Vec<f32>> {
    lm.model().parameters().iter().map(|(_, p)| p.value().to_vec::<f32>().unwrap()).collect()
}

#[test]
fn a_resumed_run_ends_on_the_same_weights() {
    let stream = char_stream(&TEXT.repeat(4), &CharVocab::build(TEXT));
    let recipe = TrainConfig {
        epochs: 2,
        streams: 4,
        window: 12,
        eval_streams: 2,
        windows: Windows::Random { steps_per_epoch: 3 },
        ..TrainConfig::gpt_recipe(6, 3)
    };
    let (whole, parts) = (tiny_lm(Positions::Rotary, 3), tiny_lm(Positions::Rotary, 3));
    let (a, b) = (scratch("whole"), scratch("parts"));
    train(&whole, &stream, &stream, &recipe, &a, false, &mut |_| {}).unwrap();
    let stopped =
        train(&parts, &stream, &stream, &TrainConfig { max_steps: Some(4), ..recipe }, &b, false, &mut |_| {});
    assert!(!stopped.unwrap().finished);
    let resumed = tiny_lm(Positions::Rotary, 9);
    let outcome = train(&resumed, &stream, &stream, &recipe, &b, true, &mut |_| {}).unwrap();
    assert!(outcome.finished && outcome.steps == 6);
    assert_eq!(weights(&whole), weights(&resumed));
    // A checkpoint of other heads does not resume.
    let vocab = CharVocab::build(TEXT);
    let other = Gpt::new(
        GptConfig { heads: 4, ..tiny(vocab.size(), Positions::Rotary, true) },
        &mut TensorRng::new(0),
        &CpuDevice::shared(),
    );
    let other = NeuralLm::new(other.unwrap(), NeuralVocab::Chars(vocab)).unwrap();
    let error = train(&other, &stream, &stream, &recipe, &b, true, &mut |_| {}).unwrap_err().to_string();
    assert!(error.contains(MODEL_CONFIG) && error.contains("heads 2 (this run: 4)"), "{error}");
    let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
}

#[test]
fn a_model_folder_round_trips_and_bad_input_is_a_typed_error() {
    let lm = tiny_lm(Positions::Sinusoidal, 4);
    let dir = scratch("folder");
    nlp::lm::save_model_folder(&dir, &lm).unwrap();
    let device: Arc<dyn Device> = CpuDevice::shared();
    let loaded = load_model(&dir, &device).unwrap();
    let sentences = ["the cat sat on the log.", "a dog saw the mat."];
    let (a, b) = (lm.perplexity(&sentences).unwrap(), loaded.perplexity(&sentences).unwrap());
    assert!((a.perplexity() - b.perplexity()).abs() < 1e-9, "{a:?} vs {b:?}");
    assert!(loaded.describe().starts_with("GPT 2 layers x 2 heads"), "{}", loaded.describe());
    assert_eq!(loaded.next_log_probs(&[]).unwrap(), lm.next_log_probs(&[]).unwrap());

    // A context longer than the model's positions.
    let ids = Tensor::from_vec(vec![1i64; 17], [1, 17], &device).unwrap();
    assert!(matches!(
        lm.model().forward_ids(&ids, None, None),
        Err(NlpError::ContextTooLong { tokens: 17, context: 16 })
    ));
    let stream = char_stream(TEXT, &CharVocab::build(TEXT));
    let too_long = TrainConfig { window: 20, streams: 2, ..TrainConfig::gpt_recipe(2, 1) };
    let error = train(&lm, &stream, &stream, &too_long, &scratch("long"), false, &mut |_| {}).unwrap_err();
    assert!(matches!(error, NlpError::ContextTooLong { tokens: 20, context: 16 }), "{error}");
    // An empty prompt.
    assert!(matches!(lm.model().decode_start(&[]), Err(NlpError::EmptyPrompt)));
    // A checkpoint of another width.
    let config_path = dir.join(MODEL_CONFIG);
    let config = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, config.replace("\"width\": 16", "\"width\": 32")).unwrap();
    let error = load_network::<Gpt>(&dir, &device).err().unwrap().to_string();
    assert!(
        error.contains("weights.safetensors") && error.contains("[17, 16]") && error.contains("[17, 32]"),
        "{error}"
    );
    // Heads that do not divide the width.
    std::fs::write(&config_path, config.replace("\"heads\": 2", "\"heads\": 3")).unwrap();
    let error = load_network::<Gpt>(&dir, &device).err().unwrap().to_string();
    assert!(error.contains(MODEL_CONFIG) && error.contains("multiple of heads 3"), "{error}");
    // Characters the model never saw are unknown, not an error.
    std::fs::write(&config_path, &config).unwrap();
    let tokens = lm.vocab().encode("cat§");
    assert!(tokens[3].oov && tokens[3].id == lm.vocab().unknown_id().unwrap());
    assert_eq!(lm.vocab().decode(&lm.vocab().encode_with_end("a cat")), "a cat\n");
    let _ = std::fs::remove_dir_all(&dir);
}
