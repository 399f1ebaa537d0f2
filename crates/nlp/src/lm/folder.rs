//! The model folder, the unit users move around: `config.json`, `weights.safetensors` (PyTorch's
//! or Hugging Face's names) and the vocabulary (`vocab.txt` for words, `tokenizer.json` for
//! BPE, `chars.json` for characters). One path loads a model: a folder (a recurrent LM or a
//! GPT, as its config says), or an ARPA file for an n-gram model. Every file is written
//! atomically, the config last, so a folder is complete once its config exists.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nn_layers::NnError;
use nn_layers::checkpoint::{self, load_tensors, write_atomically};
use serde_json::{Value, json};
use tensor_core::Device;

use super::{BpeVocab, CharVocab, Gpt, LanguageModel, LmNetwork, NeuralLm, NeuralVocab, RnnLm, Vocabulary, WordVocab};
use crate::corpus::read_text;
use crate::ngram::read_arpa;
use crate::tokenize::BpeTokenizer;
use crate::{NlpError, Result};

/// The config file of a model folder.
pub const MODEL_CONFIG: &str = "config.json";
/// The weights file of a model folder.
pub const MODEL_WEIGHTS: &str = "weights.safetensors";
/// The word vocabulary file of a model folder.
pub const MODEL_VOCAB: &str = "vocab.txt";
/// The BPE tokenizer file of a model folder.
pub const MODEL_TOKENIZER: &str = "tokenizer.json";
/// The character vocabulary file of a model folder.
pub const MODEL_CHARS: &str = "chars.json";

/// Writes `lm` into `folder` (created if needed): vocabulary, weights, then config.
#[allow(clippy::expect_used, reason = "an invariant, not input: JSON values serialise")]
pub fn save_model_folder<M: LmNetwork>(folder: &Path, lm: &NeuralLm<M>) -> Result<()> {
    std::fs::create_dir_all(folder).map_err(|source| NlpError::Io { path: folder.to_path_buf(), source })?;
    let (vocabulary, end) = match lm.vocab() {
        NeuralVocab::Words(words) => {
            words.save(&folder.join(MODEL_VOCAB))?;
            ("words", Value::Null)
        }
        NeuralVocab::Bpe(bpe) => {
            bpe.tokenizer().save(&folder.join(MODEL_TOKENIZER))?;
            ("bpe", json!(bpe.token(bpe.end_id())))
        }
        NeuralVocab::Chars(chars) => {
            chars.save(&folder.join(MODEL_CHARS))?;
            ("chars", Value::Null)
        }
    };
    checkpoint::save(&folder.join(MODEL_WEIGHTS), lm.model(), None)?;
    let mut config = lm.model().config_json();
    config["vocabulary"] = json!(vocabulary);
    config["end_token"] = end;
    let text = serde_json::to_string_pretty(&config).expect("JSON values serialise");
    write_atomically(&folder.join(MODEL_CONFIG), |out| out.write_all(text.as_bytes()))?;
    Ok(())
}

/// A file of a model folder, which must exist.
fn required(folder: &Path, name: &str) -> Result<PathBuf> {
    let path = folder.join(name);
    if !path.is_file() {
        return Err(NnError::format(
            &path,
            format!(
                "missing: a model folder holds {MODEL_CONFIG}, {MODEL_WEIGHTS} and its vocabulary \
                 ({MODEL_VOCAB}, {MODEL_TOKENIZER} or {MODEL_CHARS})"
            ),
        )
        .into());
    }
    Ok(path)
}

/// Reads a model folder's `config.json`: the document and its path.
pub fn read_config(folder: &Path) -> Result<(Value, PathBuf)> {
    let path = required(folder, MODEL_CONFIG)?;
    let doc: Value = serde_json::from_str(&read_text(&path)?).map_err(|e| NlpError::Parse {
        path: path.clone(),
        line: e.line(),
        msg: format!("invalid JSON: {e}"),
    })?;
    Ok((doc, path))
}

/// Reads the vocabulary a model folder's config names.
fn read_vocab(folder: &Path, doc: &Value) -> Result<(NeuralVocab, PathBuf)> {
    Ok(match doc["vocabulary"].as_str() {
        Some("words") => {
            let path = required(folder, MODEL_VOCAB)?;
            (NeuralVocab::Words(WordVocab::load(&path)?), path)
        }
        Some("bpe") => {
            let path = required(folder, MODEL_TOKENIZER)?;
            let end = doc["end_token"].as_str().unwrap_or(super::BPE_END);
            let vocab = BpeVocab::new(BpeTokenizer::load(&path)?, end).map_err(|e| NlpError::Parse {
                path: path.clone(),
                line: 0,
                msg: e.to_string(),
            })?;
            (NeuralVocab::Bpe(Box::new(vocab)), path)
        }
        Some("chars") => {
            let path = required(folder, MODEL_CHARS)?;
            (NeuralVocab::Chars(CharVocab::load(&path)?), path)
        }
        other => {
            return Err(NlpError::Parse {
                path: folder.join(MODEL_CONFIG),
                line: 0,
                msg: format!(
                    "`vocabulary` must be \"words\", \"bpe\" or \"chars\", found {}",
                    other.unwrap_or("nothing")
                ),
            });
        }
    })
}

/// Loads a recurrent model folder onto `device` (see [`load_network`]).
pub fn load_neural(folder: &Path, device: &Arc<dyn Device>) -> Result<NeuralLm> {
    load_network(folder, device)
}

/// Loads a model folder of network `M` onto `device`. Each file is checked against the others:
/// the architecture, the vocabulary's size and the weights' shapes must match the config (a
/// checkpoint written for another width or another number of heads is an error naming it).
pub fn load_network<M: LmNetwork>(folder: &Path, device: &Arc<dyn Device>) -> Result<NeuralLm<M>> {
    let (doc, config_path) = read_config(folder)?;
    if doc["architecture"] != M::ARCHITECTURE {
        return Err(NlpError::Parse {
            path: config_path,
            line: 0,
            msg: format!("architecture must be \"{}\", found {}", M::ARCHITECTURE, doc["architecture"]),
        });
    }
    let weights = required(folder, MODEL_WEIGHTS)?;
    super::bounds::check_config_fits(&doc, &config_path, &weights)?;
    let model = M::from_config_json(&doc, &config_path, device)?;
    let (vocab, vocab_path) = read_vocab(folder, &doc)?;
    let vocab_size = model.vocab_size();
    if vocab.size() != vocab_size {
        return Err(NnError::format(
            &vocab_path,
            format!("holds {} ids but {MODEL_CONFIG} says vocab_size {vocab_size}", vocab.size()),
        )
        .into());
    }
    for (name, tensor) in load_tensors(&weights, device)? {
        if model.vocab_tensors().contains(&name.as_str()) && tensor.dims().first() != Some(&vocab_size) {
            return Err(NnError::format(
                &weights,
                format!(
                    "`{name}` has {} rows but the vocabulary ({}) has {vocab_size} ids",
                    tensor.dims().first().copied().unwrap_or(0),
                    vocab_path.display(),
                ),
            )
            .into());
        }
    }
    let report = checkpoint::load(&weights, &model, None)?;
    if !report.missing.is_empty() {
        return Err(NnError::format(&weights, format!("missing tensors {:?}", report.missing)).into());
    }
    NeuralLm::new(model, vocab)
}

/// Loads any neural model folder (its config says which network), scoring documents in
/// `eval_streams` parallel streams.
pub fn load_any_neural(folder: &Path, device: &Arc<dyn Device>, eval_streams: usize) -> Result<Box<dyn LanguageModel>> {
    let (doc, _) = read_config(folder)?;
    if doc["architecture"] == crate::encoder::Bert::ARCHITECTURE {
        return Err(NlpError::Invalid(format!(
            "{} holds a BERT-style masked LM, which reads a whole input at once and does not predict the \
             next token (no perplexity, scores or generation); load it with nlp::encoder::load_bert",
            folder.display()
        )));
    }
    Ok(if doc["architecture"] == Gpt::ARCHITECTURE {
        let mut lm = load_network::<Gpt>(folder, device)?;
        lm.eval_streams = eval_streams.max(1);
        Box::new(lm)
    } else {
        let mut lm = load_network::<RnnLm>(folder, device)?;
        lm.eval_streams = eval_streams.max(1);
        Box::new(lm)
    })
}

/// Loads any language model from one path: a model folder (neural), or an ARPA file (plain or
/// gzip) for an n-gram model.
pub fn load_model(path: &Path, device: &Arc<dyn Device>) -> Result<Box<dyn LanguageModel>> {
    if path.is_dir() {
        return load_any_neural(path, device, 1);
    }
    if !path.exists() {
        return Err(NlpError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no model folder or ARPA file here"),
        });
    }
    Ok(Box::new(read_arpa(path)?))
}
