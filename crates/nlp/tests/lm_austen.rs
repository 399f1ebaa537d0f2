//! Neural language models on real prose (Jane Austen, shipped in `data/austen`), CI-sized: a
//! small LSTM trained for seconds beats add-k smoothing on held-out text of the same novel, and
//! its mixture with Kneser-Ney, weighted on validation text, beats both parts.

use std::path::Path;
use std::time::Instant;

use backend_cpu::CpuDevice;
use nlp::corpus::{Lines, prose_sentences};
use nlp::lm::train::{TrainConfig, train};
use nlp::lm::{
    LanguageModel, Mixture, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, TokenStream, Vocabulary, WordVocab, load_model,
    with_unknowns,
};
use nlp::ngram::{AddK, KneserNeyConfig, NgramCounter, NgramCounts, kneser_ney};
use nlp::tokenize::WordTokenizer;
use nn_layers::layers::CellKind;
use tensor_core::TensorRng;

/// The first sentences of the Austen file (Sense and Sensibility), about `tokens` tokens.
fn austen_sentences(tokens: usize) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/austen/austen_novels.txt.gz");
    let mut lines = Lines::open(&path).expect("the shipped Austen text opens");
    let tokenizer = WordTokenizer::default();
    let (mut sentences, mut paragraph, mut count) = (Vec::new(), String::new(), 0);
    while let Some(line) = lines.next_line() {
        let (_, text) = line.expect("the Austen text is UTF-8");
        if text.starts_with("<<<WORK") {
            continue;
        }
        if !text.trim().is_empty() {
            paragraph.push_str(text);
            paragraph.push('\n');
            continue;
        }
        for sentence in prose_sentences(&paragraph, &tokenizer) {
            count += sentence.len() + 1;
            sentences.push(sentence);
        }
        paragraph.clear();
        if count >= tokens {
            break;
        }
    }
    sentences
}

fn counts(order: usize, sentences: &[String]) -> NgramCounts {
    let mut counter = NgramCounter::new(order).unwrap();
    sentences.iter().for_each(|s| counter.add_line(s).unwrap());
    counter.finish().unwrap()
}

fn stream(sentences: &[String], vocab: &dyn Vocabulary) -> TokenStream {
    let ids: Vec<Vec<u32>> = sentences.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect()).collect();
    TokenStream::from_sentences(&ids, vocab.end_id())
}

#[test]
fn a_small_lstm_beats_add_k_on_held_out_austen_and_mixes_with_kneser_ney() {
    let sentences = austen_sentences(36_000);
    let cut = sentences.len() * 10 / 11;
    let (train_words, held_out) = sentences.split_at(cut);
    let (valid_words, test_words) = held_out.split_at(held_out.len() / 2);
    let vocab = WordVocab::build(train_words.iter().flatten().map(String::as_str), 2, None);
    let (train_text, valid_text, test_text) =
        (with_unknowns(train_words, &vocab), with_unknowns(valid_words, &vocab), with_unknowns(test_words, &vocab));
    let valid: Vec<&str> = valid_text.iter().map(String::as_str).collect();
    let test: Vec<&str> = test_text.iter().map(String::as_str).collect();
    println!("{} train sentences, {} valid, {} test, {} ids", train_text.len(), valid.len(), test.len(), vocab.size());

    let add_k = AddK::new(counts(3, &train_text), 0.01).unwrap();
    let add_k_ppl = LanguageModel::perplexity(&add_k, &test).unwrap();
    let kn = kneser_ney(counts(3, &train_text), &KneserNeyConfig::default()).unwrap();
    let kn_ppl = LanguageModel::perplexity(&kn, &test).unwrap();
    assert_eq!(add_k_ppl.oovs, 0, "both models read the same <unk>-mapped text");

    let device = CpuDevice::shared();
    let config = RnnLmConfig {
        cell: CellKind::Lstm,
        vocab_size: vocab.size(),
        embed: 64,
        hidden: 64,
        layers: 1,
        dropout: 0.0,
        tie_weights: true,
        init_range: 0.1,
    };
    let model = RnnLm::new(config, &mut TensorRng::new(0), &device).unwrap();
    let lm = NeuralLm::new(model, NeuralVocab::Words(vocab.clone())).unwrap();
    let (train_stream, valid_stream) = (stream(&train_text, &vocab), stream(&valid_text, &vocab));
    let train_config =
        TrainConfig { epochs: 1, streams: 16, window: 20, ..TrainConfig::adamw_cosine(0.01, 0.01, 10, 0.002) };
    let out = std::env::temp_dir().join(format!("tessera-lm-austen-{}", std::process::id()));
    let started = Instant::now();
    train(&lm, &train_stream, &valid_stream, &train_config, &out, false, &mut |e| println!("{e:?}")).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let best = load_model(&out.join("best"), &device).unwrap();
    let lstm_ppl = best.perplexity(&test).unwrap();
    println!(
        "test perplexity: add-0.01 3-gram {:.1}, KN 3-gram {:.1}, LSTM {:.1} (trained in {seconds:.1} s)",
        add_k_ppl.perplexity(),
        kn_ppl.perplexity(),
        lstm_ppl.perplexity()
    );
    assert_eq!(lstm_ppl.tokens, add_k_ppl.tokens, "the same tokens are predicted");
    assert!(lstm_ppl.perplexity() < add_k_ppl.perplexity(), "the LSTM beats add-k");

    let (kn_valid, lstm_valid) = (kn.perplexity(&valid).unwrap(), best.perplexity(&valid).unwrap());
    let mixture = Mixture::fit(Box::new(kn), best, &valid).unwrap();
    let mixed = mixture.perplexity(&test).unwrap().perplexity();
    let mixed_valid = mixture.perplexity(&valid).unwrap().perplexity();
    println!("mixture weight on KN {:.3}: test perplexity {mixed:.1}", mixture.weight());
    assert!(mixture.weight() > 0.0 && mixture.weight() < 1.0);
    // The fitted weight maximises the validation likelihood, so there it beats both parts.
    assert!(mixed_valid < kn_valid.perplexity() && mixed_valid < lstm_valid.perplexity());
    assert!(mixed < lstm_ppl.perplexity() && mixed < kn_ppl.perplexity(), "on test text too");
    let _ = std::fs::remove_dir_all(&out);
}
