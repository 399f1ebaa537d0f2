//! A character-level word encoder: Ma & Hovy's (2016) char CNN. Each word's characters are
//! embedded, convolved with a window of `kernel` characters, and max-pooled over the word, so
//! a word the vocabulary has never seen still gets a feature from its spelling.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor, TensorError, TensorRng, Window1d};

use crate::layers::{Conv1d, Dropout, Embedding};
use crate::{Module, Param, module::join};

/// Sizes of a [`CharCnn`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CharCnnConfig {
    /// Character vocabulary size (id 0 is the padding character).
    pub chars: usize,
    /// Character embedding width (Ma & Hovy: 30).
    pub char_dim: usize,
    /// Convolution filters, the width of the word feature (Ma & Hovy: 30).
    pub filters: usize,
    /// Window width in characters (Ma & Hovy: 3), padded on both sides to keep the length.
    pub kernel: usize,
    /// Dropout on the character embeddings before the convolution (Ma & Hovy: 0.5).
    pub dropout: f64,
}

/// Char embeddings `[W, L, c]` -> dropout -> conv1d over the characters -> max over the word:
/// one `[filters]` feature per word. Parameters: `chars.weight`, `conv.weight|bias`.
pub struct CharCnn {
    chars: Embedding,
    conv: Conv1d,
    dropout: Dropout,
}

impl CharCnn {
    /// A randomly initialised encoder (embeddings U(±√(3/c)), as Ma & Hovy).
    pub fn new(config: &CharCnnConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        if config.kernel == 0 || config.kernel.is_multiple_of(2) {
            return Err(TensorError::invalid("char cnn", format!("kernel {} must be odd", config.kernel)));
        }
        let bound = (3.0 / config.char_dim as f64).sqrt();
        let window = Window1d::new(config.kernel).padding(config.kernel / 2);
        Ok(CharCnn {
            chars: Embedding {
                weight: Param::new(rng.uniform([config.chars, config.char_dim], -bound, bound, DType::F32, device)?),
            },
            conv: Conv1d::new(config.char_dim, config.filters, window, rng, device)?,
            dropout: Dropout::new(config.dropout, rng.next_u64())?,
        })
    }

    /// Word features `[W, filters]` from character ids `[W, L]` (i64, 0-padded).
    pub fn encode(&self, char_ids: &Tensor) -> Result<Var> {
        if char_ids.rank() != 2 {
            return Err(TensorError::invalid(
                "char cnn",
                format!("expects [words, chars] ids, got {}", char_ids.shape()),
            ));
        }
        let embedded = self.dropout.forward(&self.chars.lookup(char_ids)?)?;
        let convolved = self.conv.forward(&embedded.transpose(1, 2)?)?;
        convolved.max(&[2], false)
    }
}

impl Module for CharCnn {
    /// `input` holds the character ids `[W, L]` (an i64 constant).
    fn forward(&self, input: &Var) -> Result<Var> {
        self.encode(&input.value())
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.chars.visit_params(&join(prefix, "chars"), visit);
        self.conv.visit_params(&join(prefix, "conv"), visit);
    }

    fn set_training(&self, training: bool) {
        self.dropout.set_training(training);
    }

    fn reseed_dropout(&self, seed: u64) {
        self.dropout.reseed(seed);
    }
}
