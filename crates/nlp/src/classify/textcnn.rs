//! TextCNN (Kim, 2014): word embeddings, parallel 1-D convolutions of several widths, ReLU,
//! max-over-time pooling, dropout and a linear head.

use std::sync::Arc;

use autograd::Var;
use nn_layers::layers::{Conv1d, Dropout, Embedding, Linear};
use nn_layers::{Module, Param, join};
use tensor_core::{DType, Device, Result, TensorError, TensorRng, Window1d};

/// The sizes of a [`TextCnn`].
#[derive(Clone, Debug, PartialEq)]
pub struct TextCnnConfig {
    /// Vocabulary size (rows of the embedding table).
    pub vocab: usize,
    /// Embedding width.
    pub embedding: usize,
    /// Kernel widths of the parallel convolutions (3, 4, 5 in the paper).
    pub widths: Vec<usize>,
    /// Filters per width.
    pub filters: usize,
    /// Dropout before the head.
    pub dropout: f64,
    /// Output classes.
    pub classes: usize,
}

impl TextCnnConfig {
    /// Kim's CNN-rand shape for `vocab` words and `classes` classes: widths 3/4/5 with 100
    /// filters each, dropout 0.5, here with 128-wide embeddings.
    pub fn kim(vocab: usize, classes: usize) -> Self {
        TextCnnConfig { vocab, embedding: 128, widths: vec![3, 4, 5], filters: 100, dropout: 0.5, classes }
    }
}

/// A sentence classifier over padded token ids `[N, T]` (i64), giving logits `[N, classes]`.
/// Parameters are named `embedding.weight`, `convs.<i>.weight|bias`, `head.weight|bias`.
pub struct TextCnn {
    /// Word vectors, `[vocab, embedding]`.
    pub embedding: Embedding,
    /// One convolution per kernel width.
    pub convs: Vec<Conv1d>,
    dropout: Dropout,
    /// Linear head over the pooled features.
    pub head: Linear,
}

impl TextCnn {
    /// A randomly initialised TextCNN; word vectors are drawn U(±0.25), as in Kim's CNN-rand
    /// (PyTorch's N(0, 1) default learns far more slowly here).
    pub fn new(config: &TextCnnConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        if config.widths.is_empty() || config.filters == 0 || config.classes == 0 {
            return Err(TensorError::invalid("TextCnn", "needs at least one width, one filter and one class"));
        }
        let table = rng.uniform([config.vocab, config.embedding], -0.25, 0.25, DType::F32, device)?;
        let embedding = Embedding { weight: Param::new(table) };
        let convs = config
            .widths
            .iter()
            .map(|&w| Conv1d::new(config.embedding, config.filters, Window1d::new(w), rng, device))
            .collect::<Result<Vec<_>>>()?;
        let dropout = Dropout::new(config.dropout, rng.next_u64())?;
        let head = Linear::new(config.filters * config.widths.len(), config.classes, rng, device)?;
        Ok(TextCnn { embedding, convs, dropout, head })
    }

    /// The widest kernel: batches must be padded to at least this length.
    pub fn min_len(&self) -> usize {
        self.convs.iter().map(|c| c.window.kernel).max().unwrap_or(1)
    }
}

impl Module for TextCnn {
    /// `input` holds the padded ids `[N, T]` (an i64 constant).
    fn forward(&self, input: &Var) -> Result<Var> {
        // [N, T, E] -> [N, E, T]: embedding channels are the convolution's input channels.
        let embedded = self.embedding.forward(input)?.transpose(1, 2)?;
        let pooled = self
            .convs
            .iter()
            .map(|conv| conv.forward(&embedded)?.relu()?.max(&[2], false))
            .collect::<Result<Vec<Var>>>()?;
        let features = Var::cat(&pooled.iter().collect::<Vec<_>>(), 1)?;
        self.head.forward(&self.dropout.forward(&features)?)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.embedding.visit_params(&join(prefix, "embedding"), visit);
        for (i, conv) in self.convs.iter().enumerate() {
            conv.visit_params(&join(prefix, &format!("convs.{i}")), visit);
        }
        self.head.visit_params(&join(prefix, "head"), visit);
    }

    fn set_training(&self, training: bool) {
        self.dropout.set_training(training);
    }

    fn reseed_dropout(&self, seed: u64) {
        self.dropout.reseed(seed);
    }
}
