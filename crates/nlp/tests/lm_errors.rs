//! Bad input to language models is a typed error that names the file and what is wrong, and
//! nothing half-written is left behind: empty and non-UTF-8 text, model folders with a missing
//! file or a vocabulary that does not fit the weights, prompts of unknown words, resuming
//! without a checkpoint.

use std::path::{Path, PathBuf};

use backend_cpu::CpuDevice;
use nlp::NlpError;
use nlp::lm::train::{TrainConfig, train};
use nlp::lm::{
    MODEL_CONFIG, MODEL_VOCAB, MODEL_WEIGHTS, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, TokenStream, Vocabulary,
    WordVocab, encode_prompt, load_model, save_model_folder,
};
use nn_layers::layers::CellKind;
use tensor_core::TensorRng;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-lm-errors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn small_lm() -> NeuralLm {
    let vocab = WordVocab::build("the cat sat on the mat".split(' '), 1, None);
    let config = RnnLmConfig {
        cell: CellKind::Gru,
        vocab_size: vocab.size(),
        embed: 4,
        hidden: 4,
        layers: 1,
        dropout: 0.0,
        tie_weights: true,
        init_range: 0.1,
    };
    let model = RnnLm::new(config, &mut TensorRng::new(0), &CpuDevice::shared()).unwrap();
    NeuralLm::new(model, NeuralVocab::Words(vocab)).unwrap()
}

/// The error's message, which must name `file`.
fn message_naming<T>(result: Result<T, NlpError>, file: &Path) -> String {
    let Err(error) = result else { panic!("expected an error naming {}", file.display()) };
    let text = error.to_string();
    assert!(text.contains(&file.display().to_string()), "`{text}` should name {}", file.display());
    text
}

#[test]
fn empty_and_non_utf8_text_name_the_file() {
    let dir = scratch("text");
    let vocab = WordVocab::build(["a"], 1, None);
    let empty = dir.join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    assert!(message_naming(TokenStream::read(&empty, &vocab), &empty).contains("no text"));
    let blank = dir.join("blank.txt");
    std::fs::write(&blank, "\n  \n").unwrap();
    assert!(message_naming(TokenStream::read(&blank, &vocab), &blank).contains("no tokens"));
    let latin1 = dir.join("latin1.txt");
    std::fs::write(&latin1, b"a a\ncaf\xe9\n").unwrap();
    match TokenStream::read(&latin1, &vocab) {
        Err(NlpError::Parse { line: 2, msg, .. }) => assert!(msg.contains("invalid UTF-8"), "{msg}"),
        other => panic!("expected a parse error on line 2, got {other:?}"),
    }
    let lm = small_lm();
    assert!(message_naming(nlp::lm::LanguageModel::perplexity_of_file(&lm, &empty), &empty).contains("no text"));
}

#[test]
fn model_folders_load_and_every_broken_one_names_its_file() {
    let device = CpuDevice::shared();
    let lm = small_lm();
    let good = scratch("good");
    save_model_folder(&good, &lm).unwrap();
    let names: Vec<String> =
        std::fs::read_dir(&good).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 3, "config, weights and vocabulary only, no temporary file: {names:?}");
    let loaded = load_model(&good, &device).unwrap();
    let sentence = "the cat sat on the mat";
    let (a, b) =
        (nlp::lm::LanguageModel::score_sentence(&lm, sentence).unwrap(), loaded.score_sentence(sentence).unwrap());
    assert_eq!(a, b, "a reloaded model scores exactly as the saved one");

    for missing in [MODEL_CONFIG, MODEL_WEIGHTS, MODEL_VOCAB] {
        let dir = scratch(&format!("missing-{missing}"));
        save_model_folder(&dir, &lm).unwrap();
        std::fs::remove_file(dir.join(missing)).unwrap();
        assert!(message_naming(load_model(&dir, &device), &dir.join(missing)).contains("missing"));
    }

    let short = scratch("short-vocab");
    save_model_folder(&short, &lm).unwrap();
    let vocab_path = short.join(MODEL_VOCAB);
    let text = std::fs::read_to_string(&vocab_path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.pop();
    std::fs::write(&vocab_path, lines.join("\n") + "\n").unwrap();
    assert!(message_naming(load_model(&short, &device), &vocab_path).contains("vocab_size"));

    let resized = scratch("resized");
    save_model_folder(&resized, &lm).unwrap();
    let config_path = resized.join(MODEL_CONFIG);
    let config = std::fs::read_to_string(&config_path).unwrap();
    let size = lm.vocab().size();
    std::fs::write(
        &config_path,
        config.replace(&format!("\"vocab_size\": {size}"), &format!("\"vocab_size\": {}", size + 1)),
    )
    .unwrap();
    let mut longer = text.clone();
    longer.push_str("zebra 1\n");
    std::fs::write(resized.join(MODEL_VOCAB), longer).unwrap();
    let weights = resized.join(MODEL_WEIGHTS);
    assert!(message_naming(load_model(&resized, &device), &weights).contains("rows but the vocabulary"));

    let garbled = scratch("garbled");
    save_model_folder(&garbled, &lm).unwrap();
    std::fs::write(garbled.join(MODEL_CONFIG), "{ not json").unwrap();
    assert!(message_naming(load_model(&garbled, &device), &garbled.join(MODEL_CONFIG)).contains("invalid JSON"));
    let nowhere = garbled.join("no-such-model");
    message_naming(load_model(&nowhere, &device), &nowhere);
}

#[test]
fn prompts_of_unknown_words_and_resuming_without_a_checkpoint_are_errors() {
    let lm = small_lm();
    let vocab = lm.vocab();
    let error = encode_prompt(vocab, "zebra quagga").unwrap_err();
    assert!(
        matches!(&error, NlpError::UnknownPrompt { prompt, vocab: size } if prompt == "zebra quagga" && *size == vocab.size())
    );
    assert!(error.to_string().contains("`zebra quagga` is outside the model's vocabulary"), "{error}");
    assert_eq!(encode_prompt(vocab, "the zebra").unwrap(), [vocab.id("the").unwrap(), 0]);
    assert!(encode_prompt(vocab, "").unwrap().is_empty(), "an empty prompt starts a document");

    let stream = TokenStream::from_sentences(&[vec![2, 3, 4, 5], vec![2, 3]], vocab.end_id());
    let out = scratch("no-checkpoint");
    let config = TrainConfig { epochs: 1, streams: 2, window: 2, ..TrainConfig::zaremba_small() };
    let checkpoint = out.join("checkpoint").join("trainer.json");
    message_naming(train(&lm, &stream, &stream, &config, &out, true, &mut |_| {}), &checkpoint);
    train(&lm, &stream, &stream, &config, &out, false, &mut |_| {}).unwrap();
    let other = TrainConfig { streams: 1, ..config };
    assert!(
        message_naming(train(&lm, &stream, &stream, &other, &out, true, &mut |_| {}), &checkpoint).contains("streams")
    );
    assert!(out.join("best").join(MODEL_WEIGHTS).is_file());
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("checkpoint."))
        .collect();
    assert!(leftovers.is_empty(), "no temporary or previous checkpoint is left behind: {leftovers:?}");
}
