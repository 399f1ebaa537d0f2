//! Recurrent language models: PyTorch's parameter names, weight tying, the perplexity
//! convention checked exactly on a uniform model, batched scoring against token-by-token
//! reading, generation, and a resumed training run ending on the same weights as an
//! uninterrupted one.

use std::path::PathBuf;

use backend_cpu::CpuDevice;
use nlp::lm::sampling::{Sampler, SamplingConfig};
use nlp::lm::train::{OptimizerKind, Schedule, TrainConfig, train};
use nlp::lm::{
    GenerateConfig, LanguageModel, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, TokenStream, Vocabulary, WordVocab,
    generate,
};
use nn_layers::ModuleExt;
use nn_layers::layers::CellKind;
use tensor_core::{Tensor, TensorRng};

const TEXT: &[&str] = &[
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat saw the dog",
    "the dog saw a cat on the mat",
    "a dog sat",
    "the cat ate",
    "the cat sat on the dog",
    "a bird sang on the log",
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-lm-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn toy_vocab() -> WordVocab {
    WordVocab::build(TEXT.iter().flat_map(|s| s.split_whitespace()), 1, None)
}

fn toy_lm(cell: CellKind, tie: bool, dropout: f64, seed: u64) -> NeuralLm {
    let vocab = toy_vocab();
    let config = RnnLmConfig {
        cell,
        vocab_size: vocab.size(),
        embed: 8,
        hidden: 8,
        layers: 2,
        dropout,
        tie_weights: tie,
        init_range: 0.1,
    };
    let model = RnnLm::new(config, &mut TensorRng::new(seed), &CpuDevice::shared()).unwrap();
    NeuralLm::new(model, NeuralVocab::Words(vocab)).unwrap()
}

fn toy_stream(vocab: &dyn Vocabulary, repeat: usize) -> TokenStream {
    let sentences: Vec<Vec<u32>> =
        (0..repeat).flat_map(|_| TEXT.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect())).collect();
    TokenStream::from_sentences(&sentences, vocab.end_id())
}

#[test]
fn parameters_carry_pytorch_names_and_shapes() {
    let lm = toy_lm(CellKind::Lstm, false, 0.0, 0);
    let v = lm.vocab().size();
    let got: Vec<(String, Vec<usize>)> =
        lm.model().parameters().into_iter().map(|(n, p)| (n, p.value().dims().to_vec())).collect();
    let mut want = vec![("encoder.weight".to_string(), vec![v, 8])];
    for layer in 0..2 {
        want.push((format!("rnn.weight_ih_l{layer}"), vec![32, 8]));
        want.push((format!("rnn.weight_hh_l{layer}"), vec![32, 8]));
        want.push((format!("rnn.bias_ih_l{layer}"), vec![32]));
        want.push((format!("rnn.bias_hh_l{layer}"), vec![32]));
    }
    want.push(("decoder.weight".into(), vec![v, 8]));
    want.push(("decoder.bias".into(), vec![v]));
    assert_eq!(got, want);
    let gru = toy_lm(CellKind::Gru, false, 0.0, 0);
    assert_eq!(gru.model().parameters()[1].1.value().dims(), [24, 8], "GRU stacks 3 gates");
    for (_, p) in lm.model().parameters() {
        assert!(p.value().to_f64_vec().unwrap().iter().all(|x| x.abs() <= 0.1), "uniform init within ±0.1");
    }
}

#[test]
fn tied_weights_are_one_parameter_before_and_after_training() {
    let lm = toy_lm(CellKind::Lstm, true, 0.0, 1);
    let names: Vec<String> = lm.model().parameters().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"encoder.weight".to_string()) && names.contains(&"decoder.bias".to_string()));
    assert!(!names.contains(&"decoder.weight".to_string()), "the tied head is stored once: {names:?}");
    let before = lm.model().encoder_weight().value().to_vec::<f32>().unwrap();
    let stream = toy_stream(lm.vocab(), 2);
    let config = TrainConfig { epochs: 1, streams: 2, window: 4, ..TrainConfig::zaremba_small() };
    train(&lm, &stream, &stream, &config, &scratch("tied"), false, &mut |_| {}).unwrap();
    let (encoder, decoder) = (lm.model().encoder_weight().value(), lm.model().decoder_weight().value());
    assert_ne!(encoder.to_vec::<f32>().unwrap(), before, "training moved the shared weight");
    assert_eq!(encoder.to_vec::<f32>().unwrap(), decoder.to_vec::<f32>().unwrap());
    let untied = RnnLmConfig { embed: 8, hidden: 16, tie_weights: true, ..*lm.model().config() };
    assert!(RnnLm::new(untied, &mut TensorRng::new(0), &CpuDevice::shared()).is_err(), "tying needs embed == hidden");
}

#[test]
fn a_uniform_model_has_the_vocabulary_size_as_perplexity() {
    let lm = toy_lm(CellKind::Lstm, false, 0.0, 2);
    for (_, p) in lm.model().parameters() {
        let v = p.value();
        p.set_value(Tensor::zeros(v.shape().clone(), v.dtype(), v.device()).unwrap()).unwrap();
    }
    let sentences = ["the cat sat", "a zebra ate the mat", ""];
    let totals = lm.perplexity(&sentences).unwrap();
    assert_eq!(totals.sentences, 3);
    assert_eq!(totals.tokens, 4 + 6 + 1, "every word and every sentence end is predicted");
    assert_eq!(totals.oovs, 1);
    let size = lm.vocab().size() as f64;
    assert!((totals.perplexity() / size - 1.0).abs() < 1e-5, "{} vs {size}", totals.perplexity());
    assert!((totals.mean_nll() - size.ln()).abs() < 1e-5);
}

#[test]
fn batched_scoring_matches_reading_token_by_token() {
    let lm = toy_lm(CellKind::Lstm, false, 0.0, 3);
    let vocab = lm.vocab();
    let sentences: Vec<Vec<u32>> = TEXT[..4].iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect()).collect();
    let mut one_by_one = Vec::new();
    let mut history = Vec::new();
    for id in sentences.iter().flat_map(|s| s.iter().copied().chain([vocab.end_id()])) {
        one_by_one.push(lm.next_log_probs(&history).unwrap()[id as usize] as f64);
        history.push(id);
    }
    let mut lm = lm;
    lm.eval_window = 3;
    let batched = lm.score_document(&sentences).unwrap();
    assert_eq!(batched.len(), one_by_one.len());
    for (i, (score, ln_prob)) in batched.iter().zip(&one_by_one).enumerate() {
        let got = score.log10_prob * std::f64::consts::LN_10;
        assert!((got - ln_prob).abs() < 1e-4, "token {i}: batched {got} vs step by step {ln_prob}");
        assert_eq!(score.order_used, i + 1, "one stream: the whole document is history");
    }
    lm.eval_streams = 4;
    let parallel = lm.score_document(&sentences).unwrap();
    assert_eq!(parallel.len(), batched.len());
    assert!((parallel[0].log10_prob - batched[0].log10_prob).abs() < 1e-5, "each stream starts like the document");
    assert_eq!(parallel[0].order_used, 1);
}

#[test]
fn generation_streams_tokens_and_stops_at_the_end_token() {
    let lm = toy_lm(CellKind::Gru, false, 0.0, 4);
    let stream = toy_stream(lm.vocab(), 20);
    let config = TrainConfig { epochs: 8, streams: 4, window: 8, ..TrainConfig::adamw_cosine(0.0, 0.02, 10, 0.001) };
    let outcome = train(&lm, &stream, &stream, &config, &scratch("generate"), false, &mut |_| {}).unwrap();
    let last = outcome.history.last().unwrap();
    assert!(last.valid_ppl < 4.0, "the toy text is learnt: perplexity {}", last.valid_ppl);
    let prompt: Vec<u32> = lm.vocab().encode("the cat").iter().map(|t| t.id).collect();
    let end = lm.vocab().end_id();
    let mut streamed = Vec::new();
    let stop = GenerateConfig { max_tokens: 20, stop: Some(end) };
    let greedy = || Sampler::new(SamplingConfig::greedy()).unwrap();
    let generated = generate(&lm, &prompt, &stop, &mut greedy(), &mut |id| {
        streamed.push(id);
        Ok(())
    })
    .unwrap();
    assert_eq!(streamed, generated);
    assert_eq!(generated.last(), Some(&end), "greedy decoding of the toy text ends its sentence");
    let words = lm.vocab().decode(&generated[..generated.len() - 1]);
    assert!(generated.len() <= 8, "a toy-length sentence: `the cat {words}`");
    assert!(words.split(' ').all(|w| TEXT.iter().any(|s| s.contains(w))), "`the cat {words}` uses the text's words");
    let again = generate(&lm, &prompt, &stop, &mut greedy(), &mut |_| Ok(())).unwrap();
    assert_eq!(again, generated);
    let capped = generate(&lm, &prompt, &GenerateConfig { max_tokens: 2, stop: None }, &mut greedy(), &mut |_| Ok(()));
    assert_eq!(capped.unwrap().len(), 2);

    // Sampling: a seed fixes the text, and a near-zero temperature is greedy decoding.
    let long = GenerateConfig { max_tokens: 40, stop: None };
    let sample = |config: SamplingConfig| {
        generate(&lm, &prompt, &long, &mut Sampler::new(config).unwrap(), &mut |_| Ok(())).unwrap()
    };
    let warm = SamplingConfig { top_k: Some(5), top_p: Some(0.95), ..SamplingConfig::with_temperature(1.5, 11) };
    let first = sample(warm);
    assert_eq!(first, sample(warm), "the same seed writes the same text");
    assert_ne!(first, sample(warm.seeded(12)), "another seed writes other text");
    let cold = sample(SamplingConfig::with_temperature(1e-4, 3));
    assert_eq!(cold, sample(SamplingConfig::greedy()), "temperature 1e-4 decodes greedily");
}

#[test]
fn the_reader_gives_raw_logits_whose_softmax_is_its_distribution() {
    let lm = toy_lm(CellKind::Lstm, false, 0.0, 2);
    let ids: Vec<u32> = lm.vocab().encode("the cat sat").iter().map(|t| t.id).collect();
    let mut reader = lm.reader(&ids[..1]).unwrap();
    for &id in &ids[1..] {
        reader.push(id).unwrap();
        let (logits, log_probs) = (reader.logits(), reader.log_probs());
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let normaliser = max + logits.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
        for (&l, &lp) in logits.iter().zip(log_probs) {
            assert!((l as f64 - normaliser - lp as f64).abs() < 1e-5, "logit {l} vs log-probability {lp}");
        }
        let mass: f64 = logits.iter().map(|&l| (l as f64).exp()).sum();
        assert!((mass - 1.0).abs() > 1e-3, "logits are not normalised (a repetition penalty sees their signs)");
    }
}

/// Every parameter's values.
fn weights(lm: &NeuralLm) -> Vec<(String, Vec<f32>)> {
    lm.model().parameters().into_iter().map(|(n, p)| (n, p.value().to_vec::<f32>().unwrap())).collect()
}

#[test]
fn resuming_ends_on_the_same_weights_as_an_uninterrupted_run() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| {
        let vocab = toy_vocab();
        let stream = toy_stream(&vocab, 3);
        for optimizer in [OptimizerKind::Sgd, OptimizerKind::AdamW { weight_decay: 0.01 }] {
            let schedule = match optimizer {
                OptimizerKind::Sgd => Schedule::Step { base: 1.0, decay_after: 1, factor: 0.5 },
                OptimizerKind::AdamW { .. } => Schedule::WarmupCosine { base: 0.01, warmup: 3, min: 0.0 },
            };
            let config = TrainConfig {
                epochs: 3,
                streams: 3,
                window: 5,
                optimizer,
                schedule,
                max_steps: Some(14),
                ..TrainConfig::zaremba_small()
            };
            let straight = toy_lm(CellKind::Lstm, false, 0.3, 5);
            let out = scratch("straight");
            let full = train(&straight, &stream, &stream, &config, &out, false, &mut |_| {}).unwrap();
            assert_eq!((full.steps, full.finished), (14, false));

            let resumed = toy_lm(CellKind::Lstm, false, 0.3, 5);
            let out = scratch("resumed");
            let half = TrainConfig { max_steps: Some(7), ..config };
            assert_eq!(train(&resumed, &stream, &stream, &half, &out, false, &mut |_| {}).unwrap().steps, 7);
            let fresh = toy_lm(CellKind::Lstm, false, 0.3, 99);
            let rest = train(&fresh, &stream, &stream, &config, &out, true, &mut |_| {}).unwrap();
            assert_eq!(rest.steps, 14);
            assert_eq!(rest.history, full.history.iter().map(|e| rest_like(e, &rest.history)).collect::<Vec<_>>());
            assert_eq!(weights(&fresh), weights(&straight), "{optimizer:?}: resumed weights differ");
        }
    });
}

#[test]
fn plateau_annealing_cuts_the_rate_after_each_epoch_without_improvement() {
    use nlp::lm::train::EpochReport;
    let report = |epoch, best| EpochReport {
        epoch,
        train_ppl: 1.0,
        valid_ppl: 1.0,
        lr: 0.0,
        seconds: 0.0,
        tokens_per_second: 0.0,
        best,
    };
    let schedule = Schedule::Plateau { base: 20.0, factor: 0.25 };
    let history = [report(1, true), report(2, true), report(3, false), report(4, true), report(5, false)];
    let rates: Vec<f64> = (0..=history.len()).map(|e| schedule.lr(e, 0, 100, &history[..e])).collect();
    assert_eq!(rates, [20.0, 20.0, 20.0, 5.0, 5.0, 1.25]);

    // In training, each epoch runs at the rate its predecessors' validation gives; a rate of
    // 40 on the toy text overshoots, so some epochs fail to improve and the rate drops.
    let vocab = toy_vocab();
    let stream = toy_stream(&vocab, 3);
    let config = TrainConfig {
        epochs: 8,
        streams: 3,
        window: 5,
        schedule: Schedule::Plateau { base: 40.0, factor: 0.25 },
        ..TrainConfig::zaremba_small()
    };
    let lm = toy_lm(CellKind::Lstm, false, 0.0, 3);
    let out = scratch("plateau");
    let history = train(&lm, &stream, &stream, &config, &out, false, &mut |_| {}).unwrap().history;
    for (e, epoch) in history.iter().enumerate() {
        let misses = history[..e].iter().filter(|r| !r.best).count();
        assert_eq!(epoch.lr, 40.0 * 0.25f64.powi(misses as i32), "epoch {}: {history:?}", epoch.epoch);
    }
    assert!(history.iter().any(|r| !r.best), "no epoch failed to improve at rate 40: {history:?}");
}

/// An epoch report with the timing fields of the matching epoch of `other` (wall time differs
/// between runs; everything else must not).
fn rest_like(e: &nlp::lm::train::EpochReport, other: &[nlp::lm::train::EpochReport]) -> nlp::lm::train::EpochReport {
    let same = other.iter().find(|o| o.epoch == e.epoch).copied().unwrap_or(*e);
    nlp::lm::train::EpochReport { seconds: same.seconds, tokens_per_second: same.tokens_per_second, ..*e }
}

#[test]
fn bpe_models_read_any_text_and_round_trip_through_a_folder() {
    let tokenizer =
        nlp::tokenize::BpeTrainer { vocab_size: 300, ..Default::default() }.train(TEXT.iter().copied()).unwrap();
    let vocab = nlp::lm::BpeVocab::new(tokenizer, nlp::lm::BPE_END).unwrap();
    assert!(vocab.unknown_id().is_none() && vocab.encode("zebras, too!").iter().all(|t| !t.oov));
    let config = RnnLmConfig {
        cell: CellKind::RnnTanh,
        vocab_size: vocab.size(),
        embed: 8,
        hidden: 8,
        layers: 1,
        dropout: 0.0,
        tie_weights: false,
        init_range: 0.1,
    };
    let model = RnnLm::new(config, &mut TensorRng::new(6), &CpuDevice::shared()).unwrap();
    let lm = NeuralLm::new(model, NeuralVocab::Bpe(Box::new(vocab))).unwrap();
    let folder = scratch("bpe");
    nlp::lm::save_model_folder(&folder, &lm).unwrap();
    assert!(folder.join(nlp::lm::MODEL_TOKENIZER).is_file() && !folder.join(nlp::lm::MODEL_VOCAB).exists());
    let loaded = nlp::lm::load_model(&folder, &CpuDevice::shared()).unwrap();
    let text = ["the cat sat on a zebra", "Ünïcode wörds"];
    let (a, b) = (lm.perplexity(&text).unwrap(), loaded.perplexity(&text).unwrap());
    assert_eq!(a, b);
    assert_eq!(a.oovs, 0);
    let ids: Vec<u32> = lm.vocab().encode(text[1]).iter().map(|t| t.id).collect();
    assert_eq!(lm.vocab().decode(&ids), text[1], "BPE ids decode to the text they came from");
}
