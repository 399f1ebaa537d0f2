//! The taggers: word embeddings (optionally from word2vec vectors, optionally frozen) and
//! char-CNN features -> dropout -> BiLSTM -> dropout -> a linear layer per token, read either
//! by a CRF (BiLSTM-CRF) or by a softmax per token.

use std::sync::Arc;

use autograd::{Var, no_grad};
use nlp::word2vec::Embeddings;
use nn_layers::layers::{
    CharCnn, CharCnnConfig, Crf, Dropout, Embedding, Linear, Recurrent, RecurrentConfig, TransitionMask,
};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::{Module, Param, join};
use serde_json::{Value, json};
use tensor_core::{ArgReduceOp, DType, Device, Tensor, TensorRng};

use crate::data::{IGNORE, NerBatch, NerVocab};
use crate::error::{NerError, Result};

/// The output layer of a tagger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// A linear-chain CRF with IOB2 transition constraints, decoded by Viterbi.
    Crf,
    /// An independent softmax per token, decoded by argmax.
    Softmax,
}

impl Head {
    /// `crf` or `softmax`.
    pub fn name(self) -> &'static str {
        match self {
            Head::Crf => "crf",
            Head::Softmax => "softmax",
        }
    }

    /// The head named `name`.
    pub fn parse(name: &str) -> Result<Head> {
        match name {
            "crf" => Ok(Head::Crf),
            "softmax" => Ok(Head::Softmax),
            other => Err(NerError::Invalid(format!("unknown head `{other}` (expected crf or softmax)"))),
        }
    }
}

/// Sizes and choices of a [`NerTagger`].
#[derive(Clone, Debug, PartialEq)]
pub struct NerConfig {
    /// Word vocabulary size.
    pub words: usize,
    /// Character vocabulary size.
    pub chars: usize,
    /// Tag names, in id order.
    pub tags: Vec<String>,
    /// Word embedding width (the word2vec vectors' width when initialised from them).
    pub word_dim: usize,
    /// Character embedding width.
    pub char_dim: usize,
    /// Char-CNN filters (0: no character features).
    pub char_filters: usize,
    /// LSTM units per direction.
    pub hidden: usize,
    /// Dropout on the LSTM's input and output (and the characters).
    pub dropout: f64,
    /// The output layer.
    pub head: Head,
    /// Word embeddings are not trained.
    pub freeze_words: bool,
}

impl NerConfig {
    /// The recipe's sizes for `vocab` (Lample et al. and Ma & Hovy's, a little smaller):
    /// 100-wide words, 30-wide characters with 30 filters of width 3, 200 LSTM units per
    /// direction, dropout 0.5.
    pub fn for_vocab(vocab: &NerVocab, head: Head) -> NerConfig {
        NerConfig {
            words: vocab.words.len(),
            chars: vocab.chars.len(),
            tags: vocab.tags.clone(),
            word_dim: 100,
            char_dim: 30,
            char_filters: 30,
            hidden: 200,
            dropout: 0.5,
            head,
            freeze_words: false,
        }
    }

    /// The config as JSON (the `model` object of a folder's `config.json`).
    pub fn to_json(&self) -> Value {
        json!({
            "words": self.words, "chars": self.chars, "tags": self.tags, "word_dim": self.word_dim,
            "char_dim": self.char_dim, "char_filters": self.char_filters, "hidden": self.hidden,
            "dropout": self.dropout, "head": self.head.name(), "freeze_words": self.freeze_words,
        })
    }

    /// Reads [`NerConfig::to_json`]'s output; a missing or mistyped field is an error naming it.
    pub fn from_json(value: &Value) -> Result<NerConfig> {
        let field =
            |name: &str| value.get(name).ok_or_else(|| NerError::Invalid(format!("model config lacks `{name}`")));
        let size = |name: &str| -> Result<usize> {
            field(name)?
                .as_u64()
                .map(|v| v as usize)
                .ok_or_else(|| NerError::Invalid(format!("`{name}` is not a count")))
        };
        let tags = field("tags")?
            .as_array()
            .and_then(|a| a.iter().map(|t| t.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| NerError::Invalid("`tags` is not a list of names".into()))?;
        Ok(NerConfig {
            words: size("words")?,
            chars: size("chars")?,
            tags,
            word_dim: size("word_dim")?,
            char_dim: size("char_dim")?,
            char_filters: size("char_filters")?,
            hidden: size("hidden")?,
            dropout: field("dropout")?.as_f64().ok_or_else(|| NerError::Invalid("`dropout` is not a number".into()))?,
            head: Head::parse(field("head")?.as_str().unwrap_or_default())?,
            freeze_words: field("freeze_words")?.as_bool().unwrap_or(false),
        })
    }
}

/// The tagger. Parameters: `words.weight`, `chars.*` (when it has character features),
/// `lstm.*`, `emit.weight|bias`, `crf.*` (CRF head).
pub struct NerTagger {
    config: NerConfig,
    words: Embedding,
    chars: Option<CharCnn>,
    lstm: Recurrent,
    dropout: Dropout,
    emit: Linear,
    crf: Option<Crf>,
}

impl NerTagger {
    /// A randomly initialised tagger (word rows U(±√(3/dim))).
    pub fn new(config: &NerConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<NerTagger> {
        if config.tags.is_empty() || config.words < 2 || config.chars < 2 {
            return Err(NerError::Invalid(
                "a tagger needs tags, and words and characters besides <pad> and <unk>".into(),
            ));
        }
        let bound = (3.0 / config.word_dim as f64).sqrt();
        let words = Embedding {
            weight: Param::new(rng.uniform([config.words, config.word_dim], -bound, bound, DType::F32, device)?),
        };
        words.weight.set_frozen(config.freeze_words);
        let chars = (config.char_filters > 0)
            .then(|| {
                let char_config = CharCnnConfig {
                    chars: config.chars,
                    char_dim: config.char_dim,
                    filters: config.char_filters,
                    kernel: 3,
                    dropout: config.dropout,
                };
                CharCnn::new(&char_config, rng, device)
            })
            .transpose()?;
        let lstm_config = RecurrentConfig {
            batch_first: true,
            bidirectional: true,
            ..RecurrentConfig::new(config.word_dim + config.char_filters, config.hidden)
        };
        let lstm = Recurrent::lstm(lstm_config, rng, device)?;
        lstm.init_forget_bias(1.0)?;
        let k = config.tags.len();
        let crf = match config.head {
            Head::Crf => {
                let names: Vec<&str> = config.tags.iter().map(String::as_str).collect();
                Some(Crf::new(k, rng, device)?.with_mask(TransitionMask::iob2(&names)?)?)
            }
            Head::Softmax => None,
        };
        Ok(NerTagger {
            config: config.clone(),
            words,
            chars,
            lstm,
            dropout: Dropout::new(config.dropout, rng.next_u64())?,
            emit: Linear::new(2 * config.hidden, k, rng, device)?,
            crf,
        })
    }

    /// The config the tagger was built from.
    pub fn config(&self) -> &NerConfig {
        &self.config
    }

    /// Copies the vectors of `pretrained` into the word table for every vocabulary word they
    /// have; returns how many rows were copied. Their width must be the config's `word_dim`.
    pub fn init_words(&self, vocab: &NerVocab, pretrained: &Embeddings) -> Result<usize> {
        let dim = self.config.word_dim;
        if pretrained.dim() != dim {
            return Err(NerError::Invalid(format!(
                "word vectors are {}-wide, the tagger's words {dim}",
                pretrained.dim()
            )));
        }
        let table = self.words.weight.value();
        let mut rows = table.to_vec::<f32>()?;
        let mut copied = 0;
        for id in 2..vocab.words.len() {
            if let Some(v) = vocab.words.word(id).and_then(|w| pretrained.vector(w)) {
                rows[id * dim..(id + 1) * dim].copy_from_slice(v);
                copied += 1;
            }
        }
        self.words.weight.set_value(Tensor::from_vec(rows, table.dims().to_vec(), table.device())?)?;
        Ok(copied)
    }

    /// Emission scores `[N, T, tags]` for a padded batch.
    pub fn emissions(&self, batch: &NerBatch) -> Result<Var> {
        let mut features = self.words.lookup(&batch.words)?;
        if let Some(chars) = &self.chars {
            let dims = features.dims();
            let spelled = chars.encode(&batch.chars)?.reshape([dims[0], dims[1], self.config.char_filters])?;
            features = Var::cat(&[&features, &spelled], 2)?;
        }
        let (states, _) = self.lstm.forward_with(&self.dropout.forward(&features)?, Some(&batch.lengths), None)?;
        Ok(self.emit.forward(&self.dropout.forward(&states)?)?)
    }

    /// The training loss of a batch: the CRF's mean negative log-likelihood per sentence, or
    /// the softmax head's mean cross-entropy per token.
    pub fn loss(&self, batch: &NerBatch) -> Result<Var> {
        let emissions = self.emissions(batch)?;
        match &self.crf {
            Some(crf) => Ok(crf.loss(&emissions, &batch.tags, &batch.lengths)?),
            None => {
                let dims = emissions.dims();
                let flat = emissions.reshape([dims[0] * dims[1], dims[2]])?;
                let labels = batch.tags.try_reshape([dims[0] * dims[1]])?;
                let options = CrossEntropy { ignore_index: Some(IGNORE), ..CrossEntropy::default() };
                Ok(cross_entropy(&flat, &labels, options)?)
            }
        }
    }

    /// The predicted tag ids of each sentence of a batch (Viterbi for the CRF, argmax for
    /// the softmax head), in eval mode without a graph.
    pub fn predict(&self, batch: &NerBatch) -> Result<Vec<Vec<usize>>> {
        self.set_training(false);
        let emissions = no_grad(|| self.emissions(batch))?.value();
        match &self.crf {
            Some(crf) => Ok(crf.decode(&emissions, &batch.lengths)?),
            None => {
                let best = emissions.try_arg_reduce(ArgReduceOp::ArgMax, -1, false)?.to_vec::<i64>()?;
                let steps = emissions.dims()[1];
                Ok(batch
                    .lengths
                    .iter()
                    .enumerate()
                    .map(|(b, &len)| best[b * steps..b * steps + len].iter().map(|&t| t as usize).collect())
                    .collect())
            }
        }
    }
}

impl Module for NerTagger {
    /// Not used directly: a tagger reads words and characters together (see
    /// [`NerTagger::emissions`]); this returns its input.
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        Ok(input.clone())
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.words.visit_params(&join(prefix, "words"), visit);
        if let Some(chars) = &self.chars {
            chars.visit_params(&join(prefix, "chars"), visit);
        }
        self.lstm.visit_params(&join(prefix, "lstm"), visit);
        self.emit.visit_params(&join(prefix, "emit"), visit);
        if let Some(crf) = &self.crf {
            crf.visit_params(&join(prefix, "crf"), visit);
        }
    }

    fn set_training(&self, training: bool) {
        if let Some(chars) = &self.chars {
            chars.set_training(training);
        }
        self.lstm.set_training(training);
        self.dropout.set_training(training);
    }

    fn reseed_dropout(&self, seed: u64) {
        if let Some(chars) = &self.chars {
            chars.reseed_dropout(seed ^ 0x1);
        }
        self.lstm.reseed_dropout(seed ^ 0x2);
        self.dropout.reseed(seed);
    }
}
