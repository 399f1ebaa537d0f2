//! The demo's neural-LM stage: a small LSTM and a tiny GPT learn Jane Austen (shipped in
//! `data/austen`) in seconds each, and their perplexities on held-out *Persuasion* stand beside
//! add-k and Kneser-Ney n-grams trained on the same text with the same vocabulary; then the
//! Kneser-Ney + LSTM mixture, and a few generated lines from each network.

use std::time::Instant;

use nlp::corpus::read_text;
use nlp::lm::sampling::{Sampler, SamplingConfig};
use nlp::lm::train::{TrainConfig, train};
use nlp::lm::{
    GenerateConfig, Gpt, GptConfig, LanguageModel, Mixture, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, TokenStream,
    Vocabulary, WordVocab, encode_prompt, generate, load_model, with_unknowns,
};
use nlp::ngram::{AddK, KneserNeyConfig, NgramCounter, NgramCounts, kneser_ney};
use nn_layers::layers::CellKind;
use nn_layers::layers::{Activation, Positions};
use tensor_core::TensorRng;

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::language_model::austen_works;

/// Training tokens (the first of the five training novels): sized so the stage stays well
/// under a minute on two cores.
const TRAIN_TOKENS: usize = 120_000;
/// Held-out sentences of *Persuasion*: the first half validates (and fits the mixture), the
/// second is the test.
const HELD_OUT_SENTENCES: usize = 1200;

fn count(order: usize, sentences: &[String]) -> Result<NgramCounts, CliError> {
    let mut counter = NgramCounter::new(order)?;
    for sentence in sentences {
        counter.add_line(sentence)?;
    }
    Ok(counter.finish()?)
}

fn stream(sentences: &[String], vocab: &dyn Vocabulary) -> TokenStream {
    let ids: Vec<Vec<u32>> = sentences.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect()).collect();
    TokenStream::from_sentences(&ids, vocab.end_id())
}

/// Runs the stage on `kind`.
pub fn demo(kind: DeviceKind) -> Result<(), CliError> {
    let device = kind.open()?;
    let works = austen_works(&read_text(&tessera::builtin::file("austen/austen_novels.txt.gz")?)?);
    let persuasion = works
        .iter()
        .find(|(name, _)| name == "persuasion")
        .ok_or_else(|| CliError::Check("Persuasion is missing from the Austen file".into()))?;
    let mut train_words = Vec::new();
    let mut tokens = 0;
    for sentence in works.iter().filter(|(name, _)| name != "persuasion").flat_map(|(_, s)| s) {
        if tokens >= TRAIN_TOKENS {
            break;
        }
        tokens += sentence.len() + 1;
        train_words.push(sentence.clone());
    }
    let held_out = &persuasion.1[..HELD_OUT_SENTENCES.min(persuasion.1.len())];
    let (valid_words, test_words) = held_out.split_at(held_out.len() / 2);
    let vocab = WordVocab::build(train_words.iter().flatten().map(String::as_str), 3, None);
    let (train_text, valid_text, test_text) =
        (with_unknowns(&train_words, &vocab), with_unknowns(valid_words, &vocab), with_unknowns(test_words, &vocab));
    let valid: Vec<&str> = valid_text.iter().map(String::as_str).collect();
    let test: Vec<&str> = test_text.iter().map(String::as_str).collect();
    println!(
        "   {tokens} training tokens ({} sentences), {} ids (words seen 3+ times, others <unk> for every model); \
         Persuasion: {} validation and {} test sentences",
        train_text.len(),
        vocab.size(),
        valid.len(),
        test.len()
    );

    let add_k: Box<dyn LanguageModel> = Box::new(AddK::new(count(3, &train_text)?, 0.01)?);
    let kn: Box<dyn LanguageModel> = Box::new(kneser_ney(count(3, &train_text)?, &KneserNeyConfig::default())?);
    let config = RnnLmConfig {
        cell: CellKind::Lstm,
        vocab_size: vocab.size(),
        embed: 128,
        hidden: 128,
        layers: 1,
        dropout: 0.1,
        tie_weights: true,
        init_range: 0.1,
    };
    let lm = NeuralLm::new(RnnLm::new(config, &mut TensorRng::new(0), &device)?, NeuralVocab::Words(vocab.clone()))?;
    let train_config =
        TrainConfig { epochs: 2, streams: 32, window: 25, ..TrainConfig::adamw_cosine(0.01, 0.006, 20, 0.0005) };
    let out = std::env::temp_dir().join(format!("tessera-demo-lm-{}", std::process::id()));
    let started = Instant::now();
    let outcome =
        train(&lm, &stream(&train_text, &vocab), &stream(&valid_text, &vocab), &train_config, &out, false, &mut |e| {
            println!(
                "   LSTM epoch {}: train perplexity {:.1}, validation {:.1} ({:.1} s, {:.0} tokens/s)",
                e.epoch, e.train_ppl, e.valid_ppl, e.seconds, e.tokens_per_second
            );
        })?;
    let trained = started.elapsed().as_secs_f64();
    let lstm = load_model(&out.join("best"), &device)?;
    let _ = std::fs::remove_dir_all(&out);
    println!("   {} trained in {trained:.1} s ({} steps)", lstm.describe(), outcome.steps);

    let gpt_config = GptConfig {
        vocab_size: vocab.size(),
        context: 32,
        layers: 2,
        heads: 2,
        width: 64,
        dropout: 0.1,
        bias: false,
        positions: Positions::Learned,
        activation: Activation::GeluTanh,
    };
    let gpt_lm =
        NeuralLm::new(Gpt::new(gpt_config, &mut TensorRng::new(0), &device)?, NeuralVocab::Words(vocab.clone()))?;
    let gpt_train = TrainConfig {
        epochs: 2,
        streams: 32,
        window: 32,
        decay_matrices_only: true,
        betas: (0.9, 0.99),
        ..TrainConfig::adamw_cosine(0.1, 0.004, 20, 0.0004)
    };
    let gpt_out = std::env::temp_dir().join(format!("tessera-demo-gpt-{}", std::process::id()));
    let started = Instant::now();
    let outcome = train(
        &gpt_lm,
        &stream(&train_text, &vocab),
        &stream(&valid_text, &vocab),
        &gpt_train,
        &gpt_out,
        false,
        &mut |e| {
            println!(
                "   GPT epoch {}: train perplexity {:.1}, validation {:.1} ({:.1} s, {:.0} tokens/s)",
                e.epoch, e.train_ppl, e.valid_ppl, e.seconds, e.tokens_per_second
            );
        },
    )?;
    let trained = started.elapsed().as_secs_f64();
    let gpt = load_model(&gpt_out.join("best"), &device)?;
    let _ = std::fs::remove_dir_all(&gpt_out);
    println!("   {} trained in {trained:.1} s ({} steps)", gpt.describe(), outcome.steps);

    let mut perplexities = Vec::new();
    for (name, model) in [("add-0.01 3-gram", &add_k), ("Kneser-Ney 3-gram", &kn), ("LSTM", &lstm), ("GPT", &gpt)] {
        let ppl = model.perplexity(&test)?.perplexity();
        println!("   {name:<20} held-out perplexity {ppl:>8.2}");
        perplexities.push(ppl);
    }
    let end = lstm.vocabulary().end_id();
    let stop = GenerateConfig { max_tokens: 25, stop: Some(end) };
    for (name, model) in [("LSTM", &lstm), ("GPT", &gpt)] {
        for (seed, prompt) in [(1, "she"), (2, "it was"), (3, "he had")] {
            let ids = encode_prompt(model.vocabulary(), prompt)?;
            let config = SamplingConfig { top_p: Some(0.9), ..SamplingConfig::with_temperature(0.8, seed) };
            let mut sampler = Sampler::new(config).map_err(nlp::NlpError::from)?;
            let generated = generate(model.as_ref(), &ids, &stop, &mut sampler, &mut |_| Ok(()))?;
            let words: Vec<u32> = generated.into_iter().filter(|&id| id != end).collect();
            println!("   {name}, top-p 0.9 at temperature 0.8: {prompt} {}", model.vocabulary().decode(&words));
        }
    }
    let mixture = Mixture::fit(kn, lstm, &valid)?;
    let mixed = mixture.perplexity(&test)?.perplexity();
    println!(
        "   KN + LSTM mixture    held-out perplexity {mixed:>8.2}  (weight {:.2} on KN, fitted on validation)",
        mixture.weight()
    );
    if perplexities[2] >= perplexities[0] || perplexities[3] >= perplexities[0] {
        return Err(CliError::Check(format!("the LSTM or the GPT did not beat add-k: {perplexities:?}")));
    }
    Ok(())
}
