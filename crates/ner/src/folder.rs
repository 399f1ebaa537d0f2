//! A tagger's model folder: `config.json` (the architecture, tag names and training report),
//! `weights.safetensors` (parameters under their module names), `words.txt` and `chars.txt`
//! (`word count` per line in id order). Every file is written atomically (nn-layers'
//! `write_atomically` and `save_tensors`) and the config last, so a folder is complete once
//! its config exists. Loading checks the files against each other.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nlp::vocab::Vocab;
use nn_layers::checkpoint::{self, write_atomically};
use serde_json::{Value, json};
use tensor_core::{Device, TensorRng};

use crate::data::NerVocab;
use crate::error::{NerError, Result};
use crate::model::{NerConfig, NerTagger};

/// The config file of a folder.
pub const CONFIG: &str = "config.json";
/// The weights file of a folder.
pub const WEIGHTS: &str = "weights.safetensors";
/// The word vocabulary file.
pub const WORDS: &str = "words.txt";
/// The character vocabulary file.
pub const CHARS: &str = "chars.txt";
/// The `architecture` value of a NER folder's config.
pub const ARCHITECTURE: &str = "ner-bilstm";

/// Writes `tagger` and `vocab` to `dir` (created if needed); `report` (the training settings
/// and scores) goes into the config's `report` field.
pub fn save(dir: &Path, tagger: &NerTagger, vocab: &NerVocab, report: Value) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| NerError::Io { path: dir.to_path_buf(), source })?;
    checkpoint::save(&dir.join(WEIGHTS), tagger, None)?;
    vocab.words.save_counts(&dir.join(WORDS))?;
    vocab.chars.save_counts(&dir.join(CHARS))?;
    let config = json!({ "architecture": ARCHITECTURE, "model": tagger.config().to_json(), "report": report });
    let text = serde_json::to_string_pretty(&config).map_err(|e| NerError::Invalid(e.to_string()))?;
    write_atomically(&dir.join(CONFIG), |out| out.write_all(text.as_bytes()))?;
    Ok(())
}

/// Loads a folder written by [`save`]: the tagger on `device`, its vocabularies, and the
/// config's `report`.
pub fn load(dir: &Path, device: &Arc<dyn Device>) -> Result<(NerTagger, NerVocab, Value)> {
    let bad = |path: PathBuf, msg: String| NerError::Folder { path, msg };
    let config_path = dir.join(CONFIG);
    let text =
        std::fs::read_to_string(&config_path).map_err(|source| NerError::Io { path: config_path.clone(), source })?;
    let config: Value = serde_json::from_str(&text).map_err(|e| bad(config_path.clone(), format!("not JSON: {e}")))?;
    if config.get("architecture").and_then(Value::as_str) != Some(ARCHITECTURE) {
        return Err(bad(config_path, format!("not a NER model folder (architecture is not `{ARCHITECTURE}`)")));
    }
    let model = NerConfig::from_json(config.get("model").unwrap_or(&Value::Null))
        .map_err(|e| bad(config_path.clone(), e.to_string()))?;
    checkpoint::check_weights_hold(&config_path, &dir.join(WEIGHTS), least_values(&model))?;
    let words = Vocab::load_counts(&dir.join(WORDS))?;
    let chars = Vocab::load_counts(&dir.join(CHARS))?;
    for (name, vocab, expected) in [(WORDS, &words, model.words), (CHARS, &chars, model.chars)] {
        if vocab.len() != expected {
            return Err(bad(dir.join(name), format!("{} entries, the config says {expected}", vocab.len())));
        }
    }
    // Sizes and tags the model rejects (a dropout of 2, a tag that is not IOB2) come from the
    // config, so the error names it.
    let tagger = NerTagger::new(&model, &mut TensorRng::new(0), device)
        .map_err(|e| bad(config_path.clone(), format!("the model it describes cannot be built: {e}")))?;
    let loaded = checkpoint::load(&dir.join(WEIGHTS), &tagger, None)?;
    if !loaded.missing.is_empty() {
        return Err(bad(dir.join(WEIGHTS), format!("lacks {}", loaded.missing.join(", "))));
    }
    let vocab = NerVocab { words, chars, tags: model.tags };
    Ok((tagger, vocab, config.get("report").cloned().unwrap_or(Value::Null)))
}

/// A lower bound on the values a tagger of `config`'s sizes holds in its weights file: the
/// embedding tables, the char-CNN's filters, one LSTM matrix per direction, the output layer
/// and (for a CRF) the transition matrix.
fn least_values(config: &NerConfig) -> u128 {
    use checkpoint::saturating_product as product;
    let n = |x: usize| x as u64;
    let tags = n(config.tags.len());
    [
        product(&[n(config.words), n(config.word_dim)]),
        product(&[n(config.chars), n(config.char_dim)]),
        product(&[n(config.char_filters), n(config.char_dim)]),
        product(&[2, n(config.hidden), n(config.hidden)]),
        product(&[2, n(config.hidden), tags]),
        if config.head == crate::model::Head::Crf { product(&[tags, tags]) } else { 0 },
    ]
    .iter()
    .fold(0u128, |a, &b| a.saturating_add(b))
}
