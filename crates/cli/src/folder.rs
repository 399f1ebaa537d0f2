//! The model folder every `tessera train` command writes, the unit users move around:
//!
//! - `config.json`: the architecture and its sizes, the input format (image size, channels and
//!   normalisation, or the text tokenizer), the label names, the training settings and report,
//!   and the loss curve's numbers;
//! - `weights.safetensors`: the parameters under PyTorch's names;
//! - `vocab.txt` (and `suffixes.txt` for the tagger): the vocabulary, `word count` per line in
//!   id order, where the model has one;
//! - `loss.svg`: the loss curve drawn.
//!
//! Every file is written atomically (a temporary file, flushed to disk, then renamed) and the
//! config last, so a folder is complete once its config exists. Loading checks the files
//! against each other: a missing file, a vocabulary of another size than the config says or a
//! weight of another shape is an error naming the file.

use std::path::{Path, PathBuf};

use nlp::classify::TextCnnConfig;
use nlp::tag::TaggerConfig;
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::Module;
use nn_layers::checkpoint::{self, write_atomically};
use nn_layers::models::LeNetConfig;
use nn_layers::train::write_loss_svg;
use serde_json::{Value, json};

use crate::images::ImageInput;
use crate::use_error::{Result, UseError};

/// The config file of a model folder.
pub const CONFIG: &str = "config.json";
/// The weights file of a model folder.
pub const WEIGHTS: &str = "weights.safetensors";
/// The word vocabulary of a text model's folder.
pub const VOCAB: &str = "vocab.txt";
/// The suffix vocabulary of a tagger's folder.
pub const SUFFIXES: &str = "suffixes.txt";
/// The drawn loss curve.
pub const LOSS_SVG: &str = "loss.svg";

/// The network a folder holds, with its sizes.
#[derive(Clone, Debug, PartialEq)]
pub enum Architecture {
    /// Fully connected: `sizes[0] -> sizes[1] -> ReLU -> ... -> classes`.
    Mlp {
        /// Widths of the layers, input first, classes last.
        sizes: Vec<usize>,
    },
    /// The LeNet-style CNN of `nn_layers::models::lenet`.
    LeNet(LeNetConfig),
    /// The TextCNN sentence classifier.
    TextCnn(TextCnnConfig),
    /// The bidirectional-LSTM part-of-speech tagger.
    Tagger(TaggerConfig),
}

impl Architecture {
    /// The `architecture` value of `config.json`.
    pub fn name(&self) -> &'static str {
        match self {
            Architecture::Mlp { .. } => "mlp",
            Architecture::LeNet(_) => "lenet",
            Architecture::TextCnn(_) => "textcnn",
            Architecture::Tagger(_) => "tagger",
        }
    }

    fn sizes_json(&self) -> Value {
        match self {
            Architecture::Mlp { sizes } => json!({ "sizes": sizes }),
            Architecture::LeNet(c) => json!({
                "in_channels": c.in_channels, "image": c.image, "channels": c.channels, "kernel": c.kernel,
                "padding": c.padding, "hidden": c.hidden, "classes": c.classes,
            }),
            Architecture::TextCnn(c) => json!({
                "vocab": c.vocab, "embedding": c.embedding, "widths": c.widths, "filters": c.filters,
                "dropout": c.dropout, "classes": c.classes,
            }),
            Architecture::Tagger(c) => json!({
                "words": c.words, "suffixes": c.suffixes, "tags": c.tags, "word_dim": c.word_dim,
                "suffix_dim": c.suffix_dim, "hidden": c.hidden, "bidirectional": c.bidirectional, "dropout": c.dropout,
            }),
        }
    }

    fn from_json(name: &Value, m: &Value, path: &Path) -> Result<Self> {
        let bad = |msg: String| UseError::folder(path, msg);
        let n = |key: &str| {
            m[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("`model.{key}` must be a whole number")))
        };
        let list = |key: &str| -> Result<Vec<usize>> {
            m[key]
                .as_array()
                .and_then(|a| a.iter().map(|v| v.as_u64().map(|v| v as usize)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| bad(format!("`model.{key}` must be a list of whole numbers")))
        };
        let pair = |key: &str| -> Result<[usize; 2]> {
            list(key)?.try_into().map_err(|_| bad(format!("`model.{key}` must hold two numbers")))
        };
        let real = |key: &str| m[key].as_f64().ok_or_else(|| bad(format!("`model.{key}` must be a number")));
        Ok(match name.as_str() {
            Some("mlp") => Architecture::Mlp { sizes: list("sizes")? },
            Some("lenet") => Architecture::LeNet(LeNetConfig {
                in_channels: n("in_channels")?,
                image: pair("image")?,
                channels: pair("channels")?,
                kernel: n("kernel")?,
                padding: n("padding")?,
                hidden: n("hidden")?,
                classes: n("classes")?,
            }),
            Some("textcnn") => Architecture::TextCnn(TextCnnConfig {
                vocab: n("vocab")?,
                embedding: n("embedding")?,
                widths: list("widths")?,
                filters: n("filters")?,
                dropout: real("dropout")?,
                classes: n("classes")?,
            }),
            Some("tagger") => Architecture::Tagger(TaggerConfig {
                words: n("words")?,
                suffixes: n("suffixes")?,
                tags: n("tags")?,
                word_dim: n("word_dim")?,
                suffix_dim: n("suffix_dim")?,
                hidden: n("hidden")?,
                bidirectional: m["bidirectional"]
                    .as_bool()
                    .ok_or_else(|| bad("`model.bidirectional` must be true or false".into()))?,
                dropout: real("dropout")?,
            }),
            _ => return Err(bad(format!("`architecture` must be mlp, lenet, textcnn or tagger, found {name}"))),
        })
    }

    /// Outputs of the network: classes, or tags for the tagger.
    pub fn outputs(&self) -> usize {
        match self {
            Architecture::Mlp { sizes } => sizes.last().copied().unwrap_or(0),
            Architecture::LeNet(c) => c.classes,
            Architecture::TextCnn(c) => c.classes,
            Architecture::Tagger(c) => c.tags,
        }
    }
}

/// What a model reads.
#[derive(Clone, Debug, PartialEq)]
pub enum InputFormat {
    /// Images, converted as [`ImageInput`] says.
    Image(ImageInput),
    /// Text split by `nlp`'s word tokenizer (lower-cased when `lowercase`).
    Words {
        /// Whether tokens are lower-cased before the vocabulary look-up.
        lowercase: bool,
    },
}

impl InputFormat {
    fn to_json(&self) -> Value {
        match self {
            InputFormat::Image(image) => image.to_json(),
            InputFormat::Words { lowercase } => json!({ "kind": "text", "tokenizer": "words", "lowercase": lowercase }),
        }
    }

    fn from_json(value: &Value, path: &Path) -> Result<Self> {
        match value["kind"].as_str() {
            Some("image") => Ok(InputFormat::Image(ImageInput::from_json(value, path)?)),
            Some("text") => Ok(InputFormat::Words { lowercase: value["lowercase"].as_bool().unwrap_or(true) }),
            _ => Err(UseError::folder(
                path,
                format!("`input.kind` must be \"image\" or \"text\", found {}", value["kind"]),
            )),
        }
    }
}

/// The loss per epoch, as trained.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LossCurve {
    /// Mean training loss per epoch.
    pub train: Vec<f64>,
    /// Held-out loss per epoch (may be empty).
    pub test: Vec<f64>,
}

/// Everything `config.json` holds.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderConfig {
    /// The network and its sizes.
    pub architecture: Architecture,
    /// What the network reads.
    pub input: InputFormat,
    /// Output names: class names, or tags for the tagger (index = output id).
    pub labels: Vec<String>,
    /// How it was trained (data, epochs, learning rate, seed) and what training reported.
    pub training: Value,
    /// The loss curve's numbers.
    pub loss: LossCurve,
}

impl FolderConfig {
    /// The document written as `config.json`.
    pub fn to_json(&self) -> Value {
        json!({
            "format": "tessera-model-folder",
            "architecture": self.architecture.name(),
            "model": self.architecture.sizes_json(),
            "input": self.input.to_json(),
            "labels": self.labels,
            "training": self.training,
            "loss_curve": { "train": self.loss.train, "test": self.loss.test },
            "tessera_version": env!("CARGO_PKG_VERSION"),
        })
    }

    /// Reads `config.json` of `folder`.
    pub fn read(folder: &Path) -> Result<Self> {
        let path = required(folder, CONFIG)?;
        let bytes = std::fs::read(&path).map_err(|e| UseError::folder(&path, format!("cannot read: {e}")))?;
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| UseError::data(&path, Some(e.line()), format!("invalid JSON: {e}")))?;
        let architecture = Architecture::from_json(&doc["architecture"], &doc["model"], &path)?;
        let input = InputFormat::from_json(&doc["input"], &path)?;
        let labels: Vec<String> = doc["labels"]
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
            .ok_or_else(|| UseError::folder(&path, "`labels` must be a list of strings"))?;
        if labels.len() != architecture.outputs() {
            return Err(UseError::folder(
                &path,
                format!(
                    "{} labels but the {} network has {} outputs",
                    labels.len(),
                    architecture.name(),
                    architecture.outputs()
                ),
            ));
        }
        let numbers = |v: &Value| -> Vec<f64> {
            v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
        };
        let loss = LossCurve { train: numbers(&doc["loss_curve"]["train"]), test: numbers(&doc["loss_curve"]["test"]) };
        Ok(FolderConfig { architecture, input, labels, training: doc["training"].clone(), loss })
    }
}

/// Whether `path` is a model folder (a folder with a `config.json`), not a single-file checkpoint.
pub fn is_folder(path: &Path) -> bool {
    path.is_dir()
}

/// A file of a model folder, which must exist.
pub fn required(folder: &Path, name: &str) -> Result<PathBuf> {
    if !folder.is_dir() {
        return Err(UseError::folder(folder, "no such model folder"));
    }
    let path = folder.join(name);
    if !path.is_file() {
        return Err(UseError::folder(
            &path,
            format!("missing: a model folder holds {CONFIG}, {WEIGHTS} and, for text models, {VOCAB}"),
        ));
    }
    Ok(path)
}

/// Writes a model folder (created if needed): vocabularies, weights, the loss curve, then the
/// config. `vocabs` are (file name, vocabulary) pairs.
#[allow(clippy::expect_used, reason = "an invariant, not input: JSON values serialise")]
pub fn save(folder: &Path, config: &FolderConfig, model: &dyn Module, vocabs: &[(&str, &Vocab)]) -> Result<()> {
    std::fs::create_dir_all(folder).map_err(|e| UseError::folder(folder, format!("cannot create: {e}")))?;
    for (name, vocab) in vocabs {
        vocab.save_counts(&folder.join(name))?;
    }
    checkpoint::save(&folder.join(WEIGHTS), model, None)?;
    if !config.loss.train.is_empty() {
        let title = format!("{} loss per epoch", config.architecture.name());
        write_loss_svg(&folder.join(LOSS_SVG), &title, &[("train", &config.loss.train), ("test", &config.loss.test)])?;
    }
    let text = serde_json::to_string_pretty(&config.to_json()).expect("JSON values serialise");
    write_atomically(&folder.join(CONFIG), |out| out.write_all(text.as_bytes()))?;
    Ok(())
}

/// Loads the weights of `folder` into `model`, which must take every one of them: a missing or
/// extra tensor, or one of another shape, is an error naming the weights file.
pub fn load_weights(folder: &Path, model: &dyn Module) -> Result<()> {
    let path = required(folder, WEIGHTS)?;
    let report = checkpoint::load(&path, model, None).map_err(|e| match e {
        nn_layers::NnError::ShapeMismatch { key, expected, found, .. } => UseError::folder(
            &path,
            format!("`{key}` has shape {found} but {CONFIG} makes it {expected}: the files do not belong together"),
        ),
        other => other.into(),
    })?;
    if !report.missing.is_empty() || !report.unexpected.is_empty() {
        return Err(UseError::folder(
            &path,
            format!(
                "does not match {CONFIG}: missing tensors {:?}, unexpected tensors {:?}",
                report.missing, report.unexpected
            ),
        ));
    }
    Ok(())
}

/// Reads a vocabulary file of `folder` written by [`save`], rebuilt with `specials` first and
/// `unknown` as the unknown token, and checks it has `size` entries.
pub fn load_vocab(folder: &Path, name: &str, config: &VocabConfig, size: usize) -> Result<Vocab> {
    let path = required(folder, name)?;
    let listed = Vocab::load_counts(&path)?;
    let counts = (0..listed.len()).filter_map(|i| listed.word(i).map(|w| (w.to_string(), listed.count(i))));
    let vocab = Vocab::from_counts(counts, config);
    let same_order = (0..listed.len()).all(|i| listed.word(i).and_then(|w| vocab.id(w)) == Some(i));
    if vocab.len() != size || !same_order {
        return Err(UseError::folder(
            &path,
            format!("holds {} entries (in the saved order: {same_order}) but {CONFIG} says {size}", listed.len()),
        ));
    }
    Ok(vocab)
}
