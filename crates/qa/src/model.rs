//! The attentive reader (DrQA-style): word embeddings; per passage token the exact-match
//! features and an aligned question embedding (attention from the passage word to the
//! question words through a shared ReLU projection); a BiLSTM over the passage and one over the
//! question; a self-attentive summary of the question; bilinear start and end pointers.

use std::sync::Arc;

use autograd::Var;
use nlp::vocab::Vocab;
use nlp::word2vec::Embeddings;
use nn_layers::layers::{Dropout, Embedding, Linear, Recurrent, RecurrentConfig};
use nn_layers::{Module, Param, join};
use tensor_core::{DType, Device, Tensor, TensorRng};

use crate::features::{FEATURES, QaBatch};
use crate::{QaError, Result};

/// Sizes of a [`Reader`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReaderConfig {
    /// Word vocabulary size.
    pub words: usize,
    /// Word embedding width.
    pub embedding: usize,
    /// LSTM hidden units per direction.
    pub hidden: usize,
    /// Stacked BiLSTM layers of each encoder.
    pub layers: usize,
    /// Dropout on the embeddings and the encoders' outputs.
    pub dropout: f64,
}

/// The reader. Parameters: `words.weight`, `align.weight|bias`, `passage.*` and `question.*`
/// (PyTorch's LSTM names), `summary.weight|bias`, `start.weight`, `end.weight`.
pub struct Reader {
    config: ReaderConfig,
    words: Embedding,
    align: Linear,
    passage: Recurrent,
    question: Recurrent,
    summary: Linear,
    start: Linear,
    end: Linear,
    dropout: Dropout,
}

impl Reader {
    /// A randomly initialised reader.
    pub fn new(config: ReaderConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Reader> {
        if config.words < 2 || config.embedding == 0 || config.hidden == 0 || config.layers == 0 {
            return Err(QaError::Invalid(format!("a reader needs positive sizes, got {config:?}")));
        }
        let encoder = |input: usize, rng: &mut TensorRng| -> Result<Recurrent> {
            let lstm = Recurrent::lstm(
                RecurrentConfig {
                    batch_first: true,
                    bidirectional: true,
                    layers: config.layers,
                    dropout: config.dropout,
                    ..RecurrentConfig::new(input, config.hidden)
                },
                rng,
                device,
            )?;
            lstm.init_forget_bias(1.0)?;
            Ok(lstm)
        };
        let (d, h2) = (config.embedding, 2 * config.hidden);
        let bilinear = |rng: &mut TensorRng| {
            Linear::with_init(h2, h2, false, nn_layers::Init::LecunUniform, DType::F32, rng, device)
        };
        Ok(Reader {
            config,
            words: Embedding { weight: Param::new(rng.uniform([config.words, d], -0.1, 0.1, DType::F32, device)?) },
            align: Linear::new(d, d, rng, device)?,
            passage: encoder(2 * d + FEATURES, rng)?,
            question: encoder(d, rng)?,
            summary: Linear::new(h2, 1, rng, device)?,
            start: bilinear(rng)?,
            end: bilinear(rng)?,
            dropout: Dropout::new(config.dropout, rng.next_u64())?,
        })
    }

    /// The sizes.
    pub fn config(&self) -> ReaderConfig {
        self.config
    }

    /// Copies the vectors of `vectors` into the embedding rows of the words of `vocab` it has
    /// (looked up as written, then lower-cased); returns how many rows it set. The widths must
    /// agree.
    pub fn init_embeddings(&self, vectors: &Embeddings, vocab: &Vocab) -> Result<usize> {
        if vectors.dim() != self.config.embedding {
            return Err(QaError::Invalid(format!(
                "the word vectors are {} wide but the reader's embeddings are {}",
                vectors.dim(),
                self.config.embedding
            )));
        }
        let weight = self.words.weight.value();
        let mut table = weight.to_vec::<f32>()?;
        let d = self.config.embedding;
        let mut found = 0;
        for id in 2..vocab.len().min(self.config.words) {
            let Some(word) = vocab.word(id) else { continue };
            if let Some(v) = vectors.vector(word).or_else(|| vectors.vector(&word.to_lowercase())) {
                table[id * d..(id + 1) * d].copy_from_slice(v);
                found += 1;
            }
        }
        self.words.weight.set_value(Tensor::from_vec(table, [self.config.words, d], weight.device())?)?;
        Ok(found)
    }

    /// Start and end scores `[N, Tp]` for a batch, padding masked out.
    pub fn scores(&self, batch: &QaBatch) -> Result<(Var, Var)> {
        let p_emb = self.dropout.forward(&self.words.lookup(&batch.passage)?)?;
        let q_emb = self.dropout.forward(&self.words.lookup(&batch.question)?)?;
        // Aligned question embedding: softmax_j(relu(W p_i) · relu(W q_j)) weights q_j.
        let p_proj = self.align.forward(&p_emb)?.relu()?;
        let q_proj = self.align.forward(&q_emb)?.relu()?;
        let q_mask = Var::constant(batch.question_mask.clone());
        let affinity = p_proj.matmul(&q_proj.transpose(1, 2)?)?.add(&q_mask.unsqueeze(1)?)?;
        let aligned = affinity.softmax(-1)?.matmul(&q_emb)?;
        let features = Var::constant(batch.features.clone());
        let p_in = Var::cat(&[&p_emb, &features, &aligned], 2)?;
        let (p_enc, _) = self.passage.forward_with(&p_in, Some(&batch.passage_lengths), None)?;
        let (q_enc, _) = self.question.forward_with(&q_emb, Some(&batch.question_lengths), None)?;
        let (p_enc, q_enc) = (self.dropout.forward(&p_enc)?, self.dropout.forward(&q_enc)?);
        // Question summary: a softmax over its tokens of a learned score weights their states.
        let dims = q_enc.dims();
        let weights = self.summary.forward(&q_enc)?.reshape([dims[0], dims[1]])?.add(&q_mask)?.softmax(-1)?;
        let summary = weights.unsqueeze(1)?.matmul(&q_enc)?; // [N, 1, 2h]
        let p_mask = Var::constant(batch.passage_mask.clone());
        let pointer = |head: &Linear| -> Result<Var> {
            let query = head.forward(&summary)?.transpose(1, 2)?; // [N, 2h, 1]
            let scores = p_enc.matmul(&query)?.squeeze(2)?;
            Ok(scores.add(&p_mask)?)
        };
        Ok((pointer(&self.start)?, pointer(&self.end)?))
    }
}

impl Module for Reader {
    /// Not used directly: a reader reads a passage and a question (see [`Reader::scores`]).
    /// This treats `input` (i64 ids `[N, T]`) as both, with no exact-match features, and
    /// returns the start scores.
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        let ids = input.value();
        let (n, t) = (ids.dims()[0], ids.dims().get(1).copied().unwrap_or(1));
        let device = ids.device().clone();
        let batch = QaBatch {
            features: Tensor::zeros([n, t, FEATURES], DType::F32, &device)?,
            passage_lengths: vec![t; n],
            question_lengths: vec![t; n],
            passage_mask: Tensor::zeros([n, t], DType::F32, &device)?,
            question_mask: Tensor::zeros([n, t], DType::F32, &device)?,
            starts: Tensor::zeros([n], DType::I64, &device)?,
            ends: Tensor::zeros([n], DType::I64, &device)?,
            question: ids.clone(),
            passage: ids,
        };
        self.scores(&batch).map(|(s, _)| s).map_err(|e| match e {
            QaError::Tensor(e) => e,
            other => tensor_core::TensorError::invalid("reader", other.to_string()),
        })
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.words.visit_params(&join(prefix, "words"), visit);
        self.align.visit_params(&join(prefix, "align"), visit);
        self.passage.visit_params(&join(prefix, "passage"), visit);
        self.question.visit_params(&join(prefix, "question"), visit);
        self.summary.visit_params(&join(prefix, "summary"), visit);
        self.start.visit_params(&join(prefix, "start"), visit);
        self.end.visit_params(&join(prefix, "end"), visit);
    }

    fn set_training(&self, training: bool) {
        self.passage.set_training(training);
        self.question.set_training(training);
        self.dropout.set_training(training);
    }

    fn reseed_dropout(&self, seed: u64) {
        self.passage.reseed_dropout(seed ^ 0x1);
        self.question.reseed_dropout(seed ^ 0x2);
        self.dropout.reseed(seed);
    }
}
