//! The translation model folder (`config.json`, `weights.safetensors`, `tokenizer.json`, the
//! curves) and the one place that maps `--arch` to a model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nn_layers::Module;
use nn_layers::checkpoint::{self, write_atomically};
use serde_json::{Value, json};
use tensor_core::{Device, TensorRng};
use tessera::folder::{CONFIG, WEIGHTS, load_weights, required};
use translate::data::Vocabulary;
use translate::rnn::{RnnConfig, RnnSeq2Seq};
use translate::transformer::{TransformerConfig, TransformerSeq2Seq};

use crate::error::CliError;

/// The vocabulary file of a translation model folder.
pub const TOKENIZER: &str = "tokenizer.json";

/// The encoder-decoder architectures of `tessera mt train --arch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// Bidirectional GRU/LSTM encoder, attentional decoder with input feeding.
    Rnn,
    /// The transformer encoder-decoder (Vaswani et al. 2017).
    Transformer,
}

/// A built model, one variant per architecture.
#[derive(Debug)]
pub enum MtModel {
    /// The recurrent encoder-decoder.
    Rnn(Box<RnnSeq2Seq>),
    /// The transformer encoder-decoder.
    Transformer(Box<TransformerSeq2Seq>),
}

impl MtModel {
    /// The model as a module (parameters, checkpoints).
    pub fn module(&self) -> &dyn Module {
        match self {
            MtModel::Rnn(m) => m.as_ref(),
            MtModel::Transformer(m) => m.as_ref(),
        }
    }

    /// The `model` entry of `config.json`.
    pub fn config_json(&self) -> Value {
        match self {
            MtModel::Rnn(m) => m.config().to_json(),
            MtModel::Transformer(m) => m.config().to_json(),
        }
    }
}

/// Builds a fresh model of `arch` from its `config.json` entry `model` (the architecture's own
/// sizes); the one place that maps an architecture to a type.
pub fn build_model(arch: Arch, model: &Value, seed: u64, device: &Arc<dyn Device>) -> Result<MtModel, CliError> {
    match arch {
        Arch::Rnn => Ok(MtModel::Rnn(Box::new(RnnSeq2Seq::new(
            RnnConfig::from_json(model)?,
            &mut TensorRng::new(seed),
            device,
        )?))),
        Arch::Transformer => Ok(MtModel::Transformer(Box::new(TransformerSeq2Seq::new(
            TransformerConfig::from_json(model)?,
            &mut TensorRng::new(seed),
            device,
        )?))),
    }
}

/// A loaded translation model folder.
pub struct Folder {
    /// The model with its trained weights.
    pub model: MtModel,
    /// The joint vocabulary.
    pub vocab: Vocabulary,
    /// `config.json`.
    pub config: Value,
}

/// Writes a model folder: tokenizer, weights, then `config.json` last (so a folder with a
/// config is complete).
#[allow(clippy::expect_used, reason = "an invariant, not input: JSON values serialise")]
pub fn save(dir: &Path, model: &MtModel, vocab: &Vocabulary, config: &Value) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| tessera::UseError::folder(dir, format!("cannot create: {e}")))?;
    vocab.save(&dir.join(TOKENIZER))?;
    checkpoint::save(&dir.join(WEIGHTS), model.module(), None)?;
    let text = serde_json::to_string_pretty(config).expect("JSON values serialise");
    write_atomically(&dir.join(CONFIG), |out| out.write_all(text.as_bytes()))?;
    Ok(())
}

/// Loads a model folder written by `tessera mt train`.
pub fn load(dir: &Path, device: &Arc<dyn Device>) -> Result<Folder, CliError> {
    let config_path = required(dir, CONFIG)?;
    let text = std::fs::read_to_string(&config_path)
        .map_err(|e| tessera::UseError::folder(&config_path, format!("cannot read: {e}")))?;
    let config: Value =
        serde_json::from_str(&text).map_err(|e| tessera::UseError::folder(&config_path, format!("not JSON: {e}")))?;
    let arch = match config["model"]["arch"].as_str() {
        Some("rnn") => Arch::Rnn,
        Some("transformer") => Arch::Transformer,
        other => return Err(tessera::UseError::folder(&config_path, format!("unknown model.arch {other:?}")).into()),
    };
    translate::bounds::check_fits(&config["model"], &config_path, &required(dir, WEIGHTS)?)?;
    let model = build_model(arch, &config["model"], 0, device)
        .map_err(|e| tessera::UseError::folder(&config_path, format!("the model it describes cannot be built: {e}")))?;
    load_weights(dir, model.module())?;
    let vocab = Vocabulary::load(&required(dir, TOKENIZER)?)?;
    let vocab_size = config["model"]["vocab_size"].as_u64().unwrap_or(0) as usize;
    if vocab.size() != vocab_size {
        return Err(tessera::UseError::folder(
            dir.join(TOKENIZER),
            format!("holds {} tokens but {CONFIG} says {vocab_size}", vocab.size()),
        )
        .into());
    }
    Ok(Folder { model, vocab, config })
}

/// The file of `split` in the data a folder was trained on (or in `data`, when given).
pub fn split_path(config: &Value, data: Option<&Path>, split: &str) -> Result<PathBuf, CliError> {
    let path = match data {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(
            config["data"]["path"]
                .as_str()
                .ok_or_else(|| CliError::Usage("the model folder names no data; pass --data".into()))?,
        ),
    };
    if path.is_dir() { Ok(translate::data::split_file(&path, split)?) } else { Ok(path) }
}

/// The `data` entry of `config.json`.
pub fn data_json(path: &Path, src: &str, tgt: &str) -> Value {
    json!({ "path": path.display().to_string(), "src": src, "tgt": tgt })
}
