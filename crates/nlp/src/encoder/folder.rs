//! A BERT model folder: `config.json` (`"architecture": "bert"`), `weights.safetensors` under
//! Hugging Face's names, and `vocab.txt`; written atomically, the config last, as the language
//! models' folders are. The config also says how the vocabulary splits text: `"tokenizer":
//! "wordpiece"` with `"lowercase": true|false`, or `"words"` (the default when absent, as in
//! folders written before WordPiece existed).

use std::path::Path;
use std::sync::Arc;

use nn_layers::NnError;
use nn_layers::checkpoint::{self, write_atomically};
use serde_json::Value;
use tensor_core::{Device, TensorRng};

use super::{Bert, BertConfig, BertVocab, Tokenization};
use crate::lm::{MODEL_CONFIG, MODEL_VOCAB, MODEL_WEIGHTS, read_config};
use crate::{NlpError, Result};

/// Writes `bert` and `vocab` into `folder` (created if needed): vocabulary, weights, then
/// config.
#[allow(clippy::expect_used, reason = "an invariant, not input: JSON values serialise")]
pub fn save_bert(folder: &Path, bert: &Bert, vocab: &BertVocab) -> Result<()> {
    if vocab.size() != bert.config().vocab_size {
        return Err(NlpError::Invalid(format!(
            "the vocabulary has {} ids but the model {}",
            vocab.size(),
            bert.config().vocab_size
        )));
    }
    std::fs::create_dir_all(folder).map_err(|source| NlpError::Io { path: folder.to_path_buf(), source })?;
    vocab.save(&folder.join(MODEL_VOCAB))?;
    checkpoint::save(&folder.join(MODEL_WEIGHTS), bert, None)?;
    let mut config: Value = bert.config().to_json();
    match vocab.tokenization() {
        Tokenization::Words => config["tokenizer"] = "words".into(),
        Tokenization::WordPiece { lowercase } => {
            config["tokenizer"] = "wordpiece".into();
            config["lowercase"] = lowercase.into();
        }
    }
    let text = serde_json::to_string_pretty(&config).expect("JSON values serialise");
    write_atomically(&folder.join(MODEL_CONFIG), |out| out.write_all(text.as_bytes()))?;
    Ok(())
}

/// Loads a BERT model folder onto `device`. The files are checked against each other: the
/// vocabulary's size and every weight's shape must match the config (a checkpoint of another
/// width is an error naming the tensor), and no weight may be missing.
pub fn load_bert(folder: &Path, device: &Arc<dyn Device>) -> Result<(Bert, BertVocab)> {
    let (doc, config_path) = read_config(folder)?;
    let config = BertConfig::from_json(&doc, &config_path)?;
    let vocab_path = folder.join(MODEL_VOCAB);
    let tokenization = match (doc["tokenizer"].as_str(), doc["lowercase"].as_bool()) {
        (None | Some("words"), _) => Tokenization::Words,
        (Some("wordpiece"), Some(lowercase)) => Tokenization::WordPiece { lowercase },
        (other, _) => {
            return Err(NlpError::Parse {
                path: config_path,
                line: 0,
                msg: format!(
                    "`tokenizer` must be \"words\" or \"wordpiece\" (with a boolean `lowercase`), found {:?}",
                    other.unwrap_or("wordpiece without `lowercase`")
                ),
            });
        }
    };
    let vocab = BertVocab::load(&vocab_path)?.with_tokenization(tokenization);
    if vocab.size() != config.vocab_size {
        return Err(NnError::format(
            &vocab_path,
            format!("holds {} tokens but {MODEL_CONFIG} says vocab_size {}", vocab.size(), config.vocab_size),
        )
        .into());
    }
    let weights = folder.join(MODEL_WEIGHTS);
    if !weights.is_file() {
        return Err(NnError::format(
            &weights,
            "missing: a BERT model folder holds config.json, weights.safetensors and vocab.txt",
        )
        .into());
    }
    crate::lm::bounds::check_config_fits(&doc, &config_path, &weights)?;
    let bert = Bert::new(config, &mut TensorRng::new(0), device)?;
    let report = checkpoint::load(&weights, &bert, None)?;
    if !report.missing.is_empty() {
        return Err(NnError::format(&weights, format!("missing tensors {:?}", report.missing)).into());
    }
    Ok((bert, vocab))
}
