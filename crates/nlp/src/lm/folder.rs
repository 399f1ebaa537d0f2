//! The model folder, the unit users move around: `config.json`, `weights.safetensors` (PyTorch's
//! names) and the vocabulary (`vocab.txt`, or `tokenizer.json` for BPE). One path loads a model:
//! a folder, or an ARPA file for an n-gram model. Every file is written atomically, the config
//! last, so a folder is complete once its config exists.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nn_layers::NnError;
use nn_layers::checkpoint::{self, load_tensors, write_atomically};
use nn_layers::layers::CellKind;
use serde_json::{Value, json};
use tensor_core::{Device, TensorRng};

use super::{BpeVocab, LanguageModel, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, Vocabulary, WordVocab};
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

fn cell_name(cell: CellKind) -> &'static str {
    match cell {
        CellKind::RnnTanh => "rnn_tanh",
        CellKind::RnnRelu => "rnn_relu",
        CellKind::Gru => "gru",
        CellKind::Lstm => "lstm",
    }
}

fn cell_from_name(name: &str) -> Option<CellKind> {
    [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Gru, CellKind::Lstm].into_iter().find(|&c| cell_name(c) == name)
}

/// Writes `lm` into `folder` (created if needed): vocabulary, weights, then config.
pub fn save_model_folder(folder: &Path, lm: &NeuralLm) -> Result<()> {
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
    };
    checkpoint::save(&folder.join(MODEL_WEIGHTS), lm.model(), None)?;
    let c = lm.model().config();
    let config = json!({
        "architecture": "rnn-lm",
        "cell": cell_name(c.cell),
        "vocab_size": c.vocab_size,
        "embed": c.embed,
        "hidden": c.hidden,
        "layers": c.layers,
        "dropout": c.dropout,
        "tie_weights": c.tie_weights,
        "init_range": c.init_range,
        "vocabulary": vocabulary,
        "end_token": end,
    });
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
                "missing: a model folder holds {MODEL_CONFIG}, {MODEL_WEIGHTS} and {MODEL_VOCAB} or {MODEL_TOKENIZER}"
            ),
        )
        .into());
    }
    Ok(path)
}

/// Reads a model folder's `config.json` as an [`RnnLmConfig`] and its vocabulary kind.
pub fn read_config(folder: &Path) -> Result<(RnnLmConfig, Value)> {
    let path = required(folder, MODEL_CONFIG)?;
    let doc: Value = serde_json::from_str(&read_text(&path)?).map_err(|e| NlpError::Parse {
        path: path.clone(),
        line: e.line(),
        msg: format!("invalid JSON: {e}"),
    })?;
    let bad = |msg: String| -> NlpError { NlpError::Parse { path: path.clone(), line: 0, msg } };
    if doc["architecture"] != "rnn-lm" {
        return Err(bad(format!("architecture must be \"rnn-lm\", found {}", doc["architecture"])));
    }
    let size =
        |key: &str| doc[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("`{key}` must be a whole number")));
    let number = |key: &str| doc[key].as_f64().ok_or_else(|| bad(format!("`{key}` must be a number")));
    let cell = doc["cell"]
        .as_str()
        .and_then(cell_from_name)
        .ok_or_else(|| bad(format!("`cell` must be rnn_tanh, rnn_relu, gru or lstm, found {}", doc["cell"])))?;
    let config = RnnLmConfig {
        cell,
        vocab_size: size("vocab_size")?,
        embed: size("embed")?,
        hidden: size("hidden")?,
        layers: size("layers")?,
        dropout: number("dropout")?,
        tie_weights: doc["tie_weights"].as_bool().ok_or_else(|| bad("`tie_weights` must be true or false".into()))?,
        init_range: number("init_range")?,
    };
    config.validate().map_err(|e| bad(e.to_string()))?;
    Ok((config, doc))
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
        other => {
            return Err(NlpError::Parse {
                path: folder.join(MODEL_CONFIG),
                line: 0,
                msg: format!("`vocabulary` must be \"words\" or \"bpe\", found {}", other.unwrap_or("nothing")),
            });
        }
    })
}

/// Loads a neural model folder onto `device`. Each file is checked against the others: the
/// vocabulary's size and the weights' shapes must match the config.
pub fn load_neural(folder: &Path, device: &Arc<dyn Device>) -> Result<NeuralLm> {
    let (config, doc) = read_config(folder)?;
    let weights = required(folder, MODEL_WEIGHTS)?;
    let (vocab, vocab_path) = read_vocab(folder, &doc)?;
    if vocab.size() != config.vocab_size {
        return Err(NnError::format(
            &vocab_path,
            format!("holds {} ids but {MODEL_CONFIG} says vocab_size {}", vocab.size(), config.vocab_size),
        )
        .into());
    }
    for (name, tensor) in load_tensors(&weights, device)? {
        if matches!(name.as_str(), "encoder.weight" | "decoder.weight" | "decoder.bias")
            && tensor.dims().first() != Some(&config.vocab_size)
        {
            return Err(NnError::format(
                &weights,
                format!(
                    "`{name}` has {} rows but the vocabulary ({}) has {} ids",
                    tensor.dims().first().copied().unwrap_or(0),
                    vocab_path.display(),
                    config.vocab_size
                ),
            )
            .into());
        }
    }
    let model = RnnLm::new(config, &mut TensorRng::new(0), device)?;
    let report = checkpoint::load(&weights, &model, None)?;
    if !report.missing.is_empty() {
        return Err(NnError::format(&weights, format!("missing tensors {:?}", report.missing)).into());
    }
    NeuralLm::new(model, vocab)
}

/// Loads any language model from one path: a model folder (neural), or an ARPA file (plain or
/// gzip) for an n-gram model.
pub fn load_model(path: &Path, device: &Arc<dyn Device>) -> Result<Box<dyn LanguageModel>> {
    if path.is_dir() {
        return Ok(Box::new(load_neural(path, device)?));
    }
    if !path.exists() {
        return Err(NlpError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no model folder or ARPA file here"),
        });
    }
    Ok(Box::new(read_arpa(path)?))
}
