//! A reader's model folder, in the layout every `tessera train` command writes (see
//! `crates/cli/src/folder.rs`): `config.json` (architecture `qa-reader`, its sizes, the
//! tokenizer, training settings and per-epoch scores), `weights.safetensors` (through
//! `nn_layers::checkpoint`) and `vocab.txt` (`word count` per line in id order). Files are
//! written atomically and the config last, so a folder is complete once its config exists.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::checkpoint::{self, write_atomically};
use serde_json::{Value, json};
use tensor_core::{Device, TensorRng};

use crate::model::{Reader, ReaderConfig};
use crate::{QaError, Result};

/// The config file of a model folder.
pub const CONFIG: &str = "config.json";
/// The weights file of a model folder.
pub const WEIGHTS: &str = "weights.safetensors";
/// The word vocabulary.
pub const VOCAB: &str = "vocab.txt";
/// The `architecture` value of a reader's config.
pub const ARCHITECTURE: &str = "qa-reader";

/// Writes `reader`, its vocabulary and `training` (settings and scores) to `folder`.
pub fn save(folder: &Path, reader: &Reader, vocab: &Vocab, training: Value) -> Result<()> {
    std::fs::create_dir_all(folder).map_err(|e| QaError::io(folder, e))?;
    vocab.save_counts(&folder.join(VOCAB))?;
    checkpoint::save(&folder.join(WEIGHTS), reader, None)?;
    let c = reader.config();
    let doc = json!({
        "format": "tessera-model-folder",
        "architecture": ARCHITECTURE,
        "model": {
            "words": c.words, "embedding": c.embedding, "hidden": c.hidden, "layers": c.layers, "dropout": c.dropout,
        },
        "input": { "kind": "text", "tokenizer": "qa-words", "lowercase": true },
        "training": training,
        "tessera_version": env!("CARGO_PKG_VERSION"),
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| QaError::format(folder.join(CONFIG), e.to_string()))?;
    write_atomically(&folder.join(CONFIG), |out| out.write_all(text.as_bytes()))?;
    Ok(())
}

/// A file of a model folder, which must exist.
fn required(folder: &Path, name: &str) -> Result<PathBuf> {
    let path = folder.join(name);
    if !folder.is_dir() {
        return Err(QaError::format(folder, "no such model folder"));
    }
    if !path.is_file() {
        return Err(QaError::format(
            &path,
            format!("missing: a reader's folder holds {CONFIG}, {WEIGHTS} and {VOCAB}"),
        ));
    }
    Ok(path)
}

/// The sizes recorded in `folder`'s config.
pub fn read_config(folder: &Path) -> Result<(ReaderConfig, Value)> {
    let path = required(folder, CONFIG)?;
    let bytes = std::fs::read(&path).map_err(|e| QaError::io(&path, e))?;
    let doc: Value =
        serde_json::from_slice(&bytes).map_err(|e| QaError::format(&path, format!("invalid JSON: {e}")))?;
    if doc["architecture"] != ARCHITECTURE {
        return Err(QaError::format(
            &path,
            format!("`architecture` is {}, not \"{ARCHITECTURE}\": not a reader's folder", doc["architecture"]),
        ));
    }
    let m = &doc["model"];
    let n = |key: &str| {
        m[key]
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| QaError::format(&path, format!("`model.{key}` must be a whole number")))
    };
    let dropout = m["dropout"].as_f64().ok_or_else(|| QaError::format(&path, "`model.dropout` must be a number"))?;
    let config = ReaderConfig {
        words: n("words")?,
        embedding: n("embedding")?,
        hidden: n("hidden")?,
        layers: n("layers")?,
        dropout,
    };
    Ok((config, doc["training"].clone()))
}

/// Loads a reader and its vocabulary from `folder`. A vocabulary or a weight that does not
/// match the config is an error naming the file.
pub fn load(folder: &Path, device: &Arc<dyn Device>) -> Result<(Reader, Vocab, Value)> {
    let (config, training) = read_config(folder)?;
    let least = checkpoint::saturating_product(&[config.words as u64, config.embedding as u64]).saturating_add(
        checkpoint::saturating_product(&[config.layers as u64, config.hidden as u64, config.hidden as u64]),
    );
    checkpoint::check_weights_hold(&folder.join(CONFIG), &required(folder, WEIGHTS)?, least)?;
    let vocab_path = required(folder, VOCAB)?;
    let listed = Vocab::load_counts(&vocab_path)?;
    let counts = (0..listed.len()).filter_map(|i| listed.word(i).map(|w| (w.to_string(), listed.count(i))));
    let vocab = Vocab::from_counts(counts, &VocabConfig { min_count: 0, ..VocabConfig::default() });
    if vocab.len() != config.words {
        return Err(QaError::format(
            &vocab_path,
            format!("holds {} words but {CONFIG} says {}", vocab.len(), config.words),
        ));
    }
    // Sizes the model rejects (a dropout of 2, a width of 0) come from the config: name it.
    let reader = Reader::new(config, &mut TensorRng::new(0), device)
        .map_err(|e| QaError::format(folder.join(CONFIG), format!("the model it describes cannot be built: {e}")))?;
    let weights = required(folder, WEIGHTS)?;
    let report = checkpoint::load(&weights, &reader, None)?;
    if !report.missing.is_empty() || !report.unexpected.is_empty() {
        return Err(QaError::format(
            &weights,
            format!("does not match {CONFIG}: missing {:?}, unexpected {:?}", report.missing, report.unexpected),
        ));
    }
    Ok((reader, vocab, training))
}
