//! The networks the neural baselines train, over one batch type: token ids of one or two
//! sequences, or dense features.

use std::sync::Arc;

use autograd::Var;
use nlp::classify::{TextCnn, TextCnnConfig};
use nn_layers::layers::{Dropout, Embedding, Linear, Recurrent, RecurrentConfig};
use nn_layers::{Module, Param, join};
use tensor_core::{DType, Device, Tensor, TensorRng};

use crate::error::Result;

/// One encoded input: token ids of one or two sequences, or a dense feature vector.
#[derive(Clone, Debug, PartialEq)]
pub enum Encoded {
    /// A token sequence.
    Tokens(Vec<usize>),
    /// Two token sequences.
    Pair(Vec<usize>, Vec<usize>),
    /// Dense features.
    Dense(Vec<f32>),
}

/// Padded ids `[N, T]`, their lengths and a `[N, T, 1]` mask of the real positions.
pub struct Padded {
    /// i64 ids (0 pads).
    pub ids: Tensor,
    /// Real lengths (at least 1).
    pub lengths: Vec<usize>,
    /// 1 at real positions, 0 at padding.
    pub mask: Tensor,
}

fn pad(seqs: &[&Vec<usize>], min_len: usize, device: &Arc<dyn Device>) -> Result<Padded> {
    let width = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(min_len).max(1);
    let mut ids = vec![0i64; seqs.len() * width];
    let mut mask = vec![0f32; seqs.len() * width];
    for (r, s) in seqs.iter().enumerate() {
        for (k, &id) in s.iter().enumerate() {
            ids[r * width + k] = id as i64;
            mask[r * width + k] = 1.0;
        }
        if s.is_empty() {
            mask[r * width] = 1.0; // an empty text reads one padding token
        }
    }
    Ok(Padded {
        ids: Tensor::from_vec(ids, [seqs.len(), width], device)?,
        lengths: seqs.iter().map(|s| s.len().max(1)).collect(),
        mask: Tensor::from_vec(mask, [seqs.len(), width, 1], device)?,
    })
}

/// A batch of encoded inputs on a device.
pub enum Batch {
    /// Single sequences.
    Tokens(Padded),
    /// Pairs of sequences.
    Pair(Padded, Padded),
    /// Dense features `[N, F]`.
    Dense(Tensor),
}

impl Batch {
    /// The batch of `items`, sequences padded to at least `min_len`.
    pub fn of(items: &[&Encoded], min_len: usize, device: &Arc<dyn Device>) -> Result<Batch> {
        Ok(match items.first() {
            Some(Encoded::Pair(..)) => {
                let (a, b): (Vec<&Vec<usize>>, Vec<&Vec<usize>>) =
                    items.iter().filter_map(|e| if let Encoded::Pair(a, b) = e { Some((a, b)) } else { None }).unzip();
                Batch::Pair(pad(&a, min_len, device)?, pad(&b, min_len, device)?)
            }
            Some(Encoded::Dense(first)) => {
                let mut values = Vec::with_capacity(items.len() * first.len());
                for e in items {
                    if let Encoded::Dense(v) = e {
                        values.extend_from_slice(v);
                    }
                }
                Batch::Dense(Tensor::from_vec(values, [items.len(), first.len()], device)?)
            }
            _ => {
                let seqs: Vec<&Vec<usize>> =
                    items.iter().filter_map(|e| if let Encoded::Tokens(s) = e { Some(s) } else { None }).collect();
                Batch::Tokens(pad(&seqs, min_len, device)?)
            }
        })
    }
}

/// A network from a [`Batch`] to logits `[N, outputs]`.
pub trait Net: Module {
    /// Logits (or scores) of a batch.
    fn run(&self, batch: &Batch) -> Result<Var>;

    /// Shortest padded length the network accepts.
    fn min_len(&self) -> usize {
        1
    }
}

/// Kim's TextCNN (from `nlp`) over one sequence (a pair is joined with a separator upstream).
pub struct TextCnnNet(pub TextCnn);

impl TextCnnNet {
    /// A TextCNN of Kim's shape with 100-wide embeddings.
    pub fn new(vocab: usize, outputs: usize, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        let config = TextCnnConfig { embedding: 100, ..TextCnnConfig::kim(vocab, outputs) };
        Ok(TextCnnNet(TextCnn::new(&config, rng, device)?))
    }
}

impl Module for TextCnnNet {
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.0.forward(input)
    }
    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.0.visit_params(prefix, visit);
    }
    fn set_training(&self, training: bool) {
        self.0.set_training(training);
    }
}

impl Net for TextCnnNet {
    fn run(&self, batch: &Batch) -> Result<Var> {
        match batch {
            Batch::Tokens(p) => Ok(self.0.forward(&Var::constant(p.ids.clone()))?),
            _ => Err(crate::GlueError::Invalid("TextCNN reads one token sequence".into())),
        }
    }
    fn min_len(&self) -> usize {
        self.0.min_len()
    }
}

/// Embeddings, a bidirectional LSTM and a masked mean over time; a pair is encoded by the same
/// LSTM twice and combined as `[u, v, u·v, u − v]` (InferSent); then an MLP head.
pub struct BiLstmNet {
    embedding: Embedding,
    lstm: Recurrent,
    dropout: Dropout,
    hidden: Linear,
    head: Linear,
}

impl BiLstmNet {
    /// Sizes: `dim`-wide embeddings, `hidden` units per direction.
    pub fn new(
        vocab: usize,
        outputs: usize,
        pair: bool,
        (dim, hidden): (usize, usize),
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        let table = rng.uniform([vocab, dim], -0.1, 0.1, DType::F32, device)?;
        let config = RecurrentConfig { batch_first: true, bidirectional: true, ..RecurrentConfig::new(dim, hidden) };
        let lstm = Recurrent::lstm(config, rng, device)?;
        lstm.init_forget_bias(1.0)?;
        let features = if pair { 8 * hidden } else { 2 * hidden };
        Ok(BiLstmNet {
            embedding: Embedding { weight: Param::new(table) },
            lstm,
            dropout: Dropout::new(0.3, rng.next_u64())?,
            hidden: Linear::new(features, 128, rng, device)?,
            head: Linear::new(128, outputs, rng, device)?,
        })
    }

    fn encode(&self, p: &Padded) -> Result<Var> {
        let x = self.dropout.forward(&self.embedding.lookup(&p.ids)?)?;
        let (states, _) = self.lstm.forward_with(&x, Some(&p.lengths), None)?;
        let mask = Var::constant(p.mask.clone());
        let sums = states.mul(&mask)?.sum(&[1], false)?;
        let counts = p.mask.try_reduce(tensor_core::ReduceOp::Sum, &[1], false)?;
        Ok(sums.div(&Var::constant(counts))?)
    }
}

impl Module for BiLstmNet {
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        let ids = input.value();
        let (n, t) = (ids.dims()[0], ids.dims()[1]);
        let padded = Padded { mask: Tensor::ones([n, t, 1], DType::F32, ids.device())?, ids, lengths: vec![t; n] };
        self.run(&Batch::Tokens(padded)).map_err(|e| tensor_core::TensorError::invalid("BiLstmNet", e.to_string()))
    }
    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.embedding.visit_params(&join(prefix, "embedding"), visit);
        self.lstm.visit_params(&join(prefix, "lstm"), visit);
        self.hidden.visit_params(&join(prefix, "hidden"), visit);
        self.head.visit_params(&join(prefix, "head"), visit);
    }
    fn set_training(&self, training: bool) {
        self.lstm.set_training(training);
        self.dropout.set_training(training);
    }
}

impl Net for BiLstmNet {
    fn run(&self, batch: &Batch) -> Result<Var> {
        let features = match batch {
            Batch::Tokens(p) => self.encode(p)?,
            Batch::Pair(a, b) => {
                let (u, v) = (self.encode(a)?, self.encode(b)?);
                Var::cat(&[&u, &v, &u.mul(&v)?, &u.sub(&v)?], 1)?
            }
            Batch::Dense(_) => return Err(crate::GlueError::Invalid("the BiLSTM reads token ids".into())),
        };
        let h = self.hidden.forward(&self.dropout.forward(&features)?)?.relu()?;
        Ok(self.head.forward(&self.dropout.forward(&h)?)?)
    }
}

/// A two-layer MLP over dense features (averaged word vectors).
pub struct MlpNet {
    hidden: Linear,
    dropout: Dropout,
    head: Linear,
}

impl MlpNet {
    /// `inputs -> hidden -> ReLU -> outputs`, dropout 0.2.
    pub fn new(
        inputs: usize,
        hidden: usize,
        outputs: usize,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        Ok(MlpNet {
            hidden: Linear::new(inputs, hidden, rng, device)?,
            dropout: Dropout::new(0.2, rng.next_u64())?,
            head: Linear::new(hidden, outputs, rng, device)?,
        })
    }
}

impl Module for MlpNet {
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        let h = self.dropout.forward(&self.hidden.forward(input)?.relu()?)?;
        self.head.forward(&h)
    }
    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.hidden.visit_params(&join(prefix, "hidden"), visit);
        self.head.visit_params(&join(prefix, "head"), visit);
    }
    fn set_training(&self, training: bool) {
        self.dropout.set_training(training);
    }
}

impl Net for MlpNet {
    fn run(&self, batch: &Batch) -> Result<Var> {
        match batch {
            Batch::Dense(x) => Ok(self.forward(&Var::constant(x.clone()))?),
            _ => Err(crate::GlueError::Invalid("the MLP reads dense features".into())),
        }
    }
}
