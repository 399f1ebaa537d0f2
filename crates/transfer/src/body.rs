//! Pretrained bodies: what a model folder (or a word2vec file) gives a downstream task — token
//! states aligned with the words of a sentence, and one vector per sentence or sentence pair.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use autograd::Var;
use nlp::encoder::{Bert, BertBatch, BertVocab, EncodedInput, Pooling, Tokenization, load_bert};
use nlp::lm::{Gpt, LmNetwork, NeuralLm, NeuralVocab, RnnLm, Vocabulary, load_network, read_config};
use nlp::tokenize::WordTokenizer;
use nn_layers::{Module, Param};
use tensor_core::{DType, Device, Tensor, TensorRng, UnaryOp};

use crate::words::{ConvSpec, PAD_ID, WordBody};
use crate::{Result, TransferError};

/// Which network a [`Body`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// The BERT-style encoder (`nlp::encoder`).
    Bert,
    /// The GPT decoder (`nlp::lm::Gpt`).
    Gpt,
    /// The recurrent LM (`nlp::lm::RnnLm`).
    Rnn,
    /// Word vectors (word2vec or random), averaged or read by convolutions.
    Words,
}

impl BodyKind {
    /// Its name in summaries and errors.
    pub fn name(self) -> &'static str {
        match self {
            BodyKind::Bert => "a BERT-style encoder",
            BodyKind::Gpt => "a GPT",
            BodyKind::Rnn => "a recurrent LM",
            BodyKind::Words => "word vectors",
        }
    }
}

enum Inner {
    Bert(Bert, BertVocab),
    Gpt(NeuralLm<Gpt>),
    Rnn(NeuralLm<RnnLm>),
    Words(WordBody),
}

/// A pretrained network read as a feature extractor.
pub struct Body {
    inner: Inner,
    source: PathBuf,
}

/// Token states of a batch: `hidden` `[B, T, width]`; row `b`'s words sit at positions
/// `offset..offset + words[b]` (after a `[CLS]` or start token), and `real[b]` positions from 0
/// hold real tokens (specials included).
pub struct States {
    /// The states.
    pub hidden: Var,
    /// Position of the first word.
    pub offset: usize,
    /// Words kept per row (cut to the model's context).
    pub words: Vec<usize>,
    /// Real (non-padding) positions per row.
    pub real: Vec<usize>,
}

/// The words of `text` as every body reads them: Tessera's word tokenizer, lower-cased.
pub fn words_of(text: &str) -> Vec<String> {
    WordTokenizer::default().tokenize(text)
}

impl Body {
    /// Loads a model folder (its `config.json` names a `bert`, `gpt` or `rnn-lm`
    /// architecture) or a word2vec vector file (text, or binary named `*.bin`; read through
    /// `conv` convolutions when given, else averaged).
    pub fn load(path: &Path, conv: Option<&ConvSpec>, device: &Arc<dyn Device>) -> Result<Body> {
        let inner = if path.is_dir() {
            let (doc, config_path) = read_config(path)?;
            match doc["architecture"].as_str() {
                Some(Bert::ARCHITECTURE) => {
                    let (bert, vocab) = load_bert(path, device)?;
                    Inner::Bert(bert, vocab)
                }
                Some(Gpt::ARCHITECTURE) => Inner::Gpt(load_network::<Gpt>(path, device)?),
                Some(RnnLm::ARCHITECTURE) => Inner::Rnn(load_network::<RnnLm>(path, device)?),
                other => {
                    return Err(TransferError::WrongKind {
                        path: config_path,
                        found: format!("architecture {}", other.unwrap_or("(none)")),
                        expected: "a model folder of a `bert`, `gpt` or `rnn-lm` architecture".into(),
                    });
                }
            }
        } else {
            Inner::Words(WordBody::from_word2vec(path, conv, &mut TensorRng::new(0), device)?)
        };
        let body = Body { inner, source: path.to_path_buf() };
        body.freeze_unused();
        Ok(body)
    }

    /// A body of word vectors (see [`WordBody`]).
    pub fn from_words(words: WordBody, source: &Path) -> Body {
        Body { inner: Inner::Words(words), source: source.to_path_buf() }
    }

    /// The same architecture and vocabulary with freshly initialised weights: the model
    /// trained from scratch that transfer is measured against.
    pub fn scratch(&self, seed: u64) -> Result<Body> {
        let mut rng = TensorRng::new(seed);
        let device = self.device();
        let inner = match &self.inner {
            Inner::Bert(bert, vocab) => Inner::Bert(Bert::new(*bert.config(), &mut rng, &device)?, vocab.clone()),
            Inner::Gpt(lm) => {
                Inner::Gpt(NeuralLm::new(Gpt::new(*lm.model().config(), &mut rng, &device)?, lm.vocab().clone())?)
            }
            Inner::Rnn(lm) => {
                Inner::Rnn(NeuralLm::new(RnnLm::new(*lm.model().config(), &mut rng, &device)?, lm.vocab().clone())?)
            }
            Inner::Words(words) => Inner::Words(words.scratch(&mut rng)?),
        };
        let body = Body { inner, source: self.source.clone() };
        body.freeze_unused();
        Ok(body)
    }

    /// Parameters no downstream task reads (the masked-LM head of BERT, an untied output layer
    /// of the recurrent LM) are frozen, so optimizers and counts leave them out.
    fn freeze_unused(&self) {
        match &self.inner {
            Inner::Bert(..) => {
                self.module().visit_params("", &mut |name, p| p.set_frozen(name.starts_with("cls.")));
            }
            Inner::Rnn(lm) if !lm.model().head_is_tied() => {
                self.module().visit_params("", &mut |name, p| p.set_frozen(name.starts_with("decoder.")));
            }
            _ => {}
        }
    }

    /// Which network it is.
    pub fn kind(&self) -> BodyKind {
        match self.inner {
            Inner::Bert(..) => BodyKind::Bert,
            Inner::Gpt(_) => BodyKind::Gpt,
            Inner::Rnn(_) => BodyKind::Rnn,
            Inner::Words(_) => BodyKind::Words,
        }
    }

    /// The folder or file it was loaded from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The network as a module (parameter names as in its checkpoint).
    pub fn module(&self) -> &dyn Module {
        match &self.inner {
            Inner::Bert(bert, _) => bert,
            Inner::Gpt(lm) => lm.model(),
            Inner::Rnn(lm) => lm.model(),
            Inner::Words(words) => words,
        }
    }

    /// The BERT encoder and its vocabulary, when it is one.
    pub fn bert(&self) -> Option<(&Bert, &BertVocab)> {
        match &self.inner {
            Inner::Bert(bert, vocab) => Some((bert, vocab)),
            _ => None,
        }
    }

    /// The GPT language model, when it is one.
    pub fn gpt(&self) -> Option<&NeuralLm<Gpt>> {
        match &self.inner {
            Inner::Gpt(lm) => Some(lm),
            _ => None,
        }
    }

    /// The recurrent language model, when it is one.
    pub fn rnn(&self) -> Option<&NeuralLm<RnnLm>> {
        match &self.inner {
            Inner::Rnn(lm) => Some(lm),
            _ => None,
        }
    }

    /// The device its weights live on.
    pub fn device(&self) -> Arc<dyn Device> {
        match &self.inner {
            Inner::Bert(bert, _) => bert.device(),
            Inner::Gpt(lm) => lm.device().clone(),
            Inner::Rnn(lm) => lm.device().clone(),
            Inner::Words(words) => words.embedding.weight.value().device().clone(),
        }
    }

    /// Width of a token state.
    pub fn width(&self) -> usize {
        match &self.inner {
            Inner::Bert(bert, _) => bert.config().width,
            Inner::Gpt(lm) => lm.model().config().width,
            Inner::Rnn(lm) => lm.model().config().hidden,
            Inner::Words(words) => words.dim(),
        }
    }

    /// Width of [`Body::pool`]'s vector: BERT's pooled `[CLS]` beside the mean state; the
    /// mean beside the last state for the language models; the word vectors' mean or the
    /// convolutions' features.
    pub fn pooled_width(&self) -> usize {
        match &self.inner {
            Inner::Words(words) => words.pooled_width(),
            _ => 2 * self.width(),
        }
    }

    /// Width of [`Body::pool_pair`]'s vector: BERT reads the pair as one input; the others
    /// give `[u, v, |u - v|, u ⊙ v]` of the two sentences' vectors.
    pub fn pair_width(&self) -> usize {
        match &self.inner {
            Inner::Bert(..) => self.pooled_width(),
            _ => 4 * self.pooled_width(),
        }
    }

    /// Whether each word is one token, so token states align with words (tagging needs it; a
    /// WordPiece BERT tags through [`crate::BertTagger`] instead).
    pub fn word_level(&self) -> bool {
        match &self.inner {
            Inner::Bert(_, vocab) => vocab.tokenization() == Tokenization::Words,
            Inner::Gpt(lm) => matches!(lm.vocab(), NeuralVocab::Words(_)),
            Inner::Rnn(lm) => matches!(lm.vocab(), NeuralVocab::Words(_)),
            _ => true,
        }
    }

    /// The most words of one sentence it reads (a transformer's positions, less its specials).
    pub fn max_words(&self) -> Option<usize> {
        match &self.inner {
            Inner::Bert(bert, _) => Some(bert.config().positions - 2),
            Inner::Gpt(lm) => Some(lm.model().config().context - 1),
            _ => None,
        }
    }

    /// Ids of a language model's sentence: the end token first (the context every sentence of
    /// its training documents had), then the sentence's tokens, cut to the context.
    fn lm_ids(&self, vocab: &NeuralVocab, words: &[String]) -> Vec<u32> {
        let mut ids = vec![vocab.end_id()];
        ids.extend(vocab.encode(&words.join(" ")).iter().map(|t| t.id));
        if let Some(max) = self.max_words() {
            ids.truncate(max + 1);
        }
        ids
    }

    /// Token states of sentences given as words (see [`words_of`]); with `dropout`, dropout
    /// masks are drawn from that seed (training).
    pub fn states(&self, sentences: &[Vec<String>], dropout: Option<u64>) -> Result<States> {
        let device = self.device();
        match &self.inner {
            Inner::Bert(bert, vocab) => {
                let max = bert.config().positions;
                let inputs =
                    sentences.iter().map(|s| vocab.single(&vocab.ids(s), max)).collect::<nlp::Result<Vec<_>>>()?;
                let batch = BertBatch::from_inputs(&inputs, vocab.pad_id(), &device)?;
                let hidden = bert.encode_with(&batch, dropout)?;
                let words = inputs.iter().map(|i| i.len() - 2).collect();
                Ok(States { hidden, offset: 1, words, real: batch.lengths.clone() })
            }
            Inner::Gpt(lm) => {
                let rows: Vec<Vec<u32>> = sentences.iter().map(|s| self.lm_ids(lm.vocab(), s)).collect();
                let (ids, real) = padded(&rows, lm.vocab().end_id() as i64, 1, false, &device)?;
                let hidden = lm.model().hidden(&ids, None, dropout)?;
                Ok(States { hidden, offset: 1, words: real.iter().map(|n| n - 1).collect(), real })
            }
            Inner::Rnn(lm) => {
                let rows: Vec<Vec<u32>> = sentences.iter().map(|s| self.lm_ids(lm.vocab(), s)).collect();
                let (ids, real) = padded(&rows, lm.vocab().end_id() as i64, 1, true, &device)?;
                let (hidden, _) = lm.model().hidden_states(&ids, None, dropout)?;
                let hidden = hidden.permute(&[1, 0, 2])?;
                Ok(States { hidden, offset: 1, words: real.iter().map(|n| n - 1).collect(), real })
            }
            Inner::Words(body) => {
                let rows: Vec<Vec<u32>> =
                    sentences.iter().map(|s| body.ids(s).into_iter().map(|i| i as u32).collect()).collect();
                let (ids, real) = padded(&rows, PAD_ID as i64, body.min_len(), false, &device)?;
                Ok(States { hidden: body.states(&ids)?, offset: 0, words: real.clone(), real })
            }
        }
    }

    /// One vector `[B, pooled_width]` per sentence.
    pub fn pool(&self, sentences: &[Vec<String>], dropout: Option<u64>) -> Result<Var> {
        if let Inner::Bert(bert, vocab) = &self.inner {
            let max = bert.config().positions;
            let inputs = sentences.iter().map(|s| vocab.single(&vocab.ids(s), max)).collect::<nlp::Result<Vec<_>>>()?;
            return self.bert_pool(bert, vocab, &inputs, dropout);
        }
        let states = self.states(sentences, dropout)?;
        self.pool_states(&states)
    }

    fn bert_pool(&self, bert: &Bert, vocab: &BertVocab, inputs: &[EncodedInput], dropout: Option<u64>) -> Result<Var> {
        let batch = BertBatch::from_inputs(inputs, vocab.pad_id(), &self.device())?;
        let hidden = bert.encode_with(&batch, dropout)?;
        let cls = bert.pooled(&batch, &hidden, Pooling::Cls)?;
        let mean = bert.pooled(&batch, &hidden, Pooling::Mean)?;
        Ok(Var::cat(&[&cls, &mean], 1)?)
    }

    /// Pools token states: mean over the real positions, beside the last real state (or the
    /// word body's own pooling).
    pub fn pool_states(&self, states: &States) -> Result<Var> {
        let device = self.device();
        let dims = states.hidden.dims();
        let (rows, steps, width) = (dims[0], dims[1], dims[2]);
        let mut keep = vec![0.0f32; rows * steps];
        for (row, &n) in states.real.iter().enumerate() {
            keep[row * steps..row * steps + n].fill(1.0);
        }
        let keep = Var::constant(Tensor::from_vec(keep, [rows, steps, 1], &device)?);
        let counts: Vec<f32> = states.real.iter().map(|&n| n.max(1) as f32).collect();
        let counts = Var::constant(Tensor::from_vec(counts, [rows, 1], &device)?);
        if let Inner::Words(body) = &self.inner {
            return body.pool(&states.hidden, &keep, &counts);
        }
        let mean = states.hidden.mul(&keep)?.sum(&[1], false)?.div(&counts)?;
        let last: Vec<i64> = states.real.iter().enumerate().map(|(r, &n)| (r * steps + n.max(1) - 1) as i64).collect();
        let last = Tensor::from_vec(last, [rows], &device)?;
        let last = states.hidden.reshape([rows * steps, width])?.index_select(0, &last)?;
        Ok(Var::cat(&[&mean, &last], 1)?)
    }

    /// One vector `[B, pair_width]` per sentence pair.
    pub fn pool_pair(&self, first: &[Vec<String>], second: &[Vec<String>], dropout: Option<u64>) -> Result<Var> {
        if let Inner::Bert(bert, vocab) = &self.inner {
            let max = bert.config().positions;
            let inputs = first
                .iter()
                .zip(second)
                .map(|(a, b)| vocab.pair(&vocab.ids(a), &vocab.ids(b), max))
                .collect::<nlp::Result<Vec<_>>>()?;
            return self.bert_pool(bert, vocab, &inputs, dropout);
        }
        let u = self.pool(first, dropout)?;
        let v = self.pool(second, dropout.map(|s| s ^ 0x9E37_79B9))?;
        let diff = u.sub(&v)?.unary(UnaryOp::Abs)?;
        let product = u.mul(&v)?;
        Ok(Var::cat(&[&u, &v, &diff, &product], 1)?)
    }

    /// Its trainable parameters' names, for messages.
    pub fn parameter_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.module().visit_params("", &mut |name, _: &Param| names.push(name.to_string()));
        names
    }
}

/// Rows of ids padded with `pad` to the longest (at least `min_len`): `[B, T]`, or `[T, B]`
/// when `time_major`; and each row's length.
fn padded(
    rows: &[Vec<u32>],
    pad: i64,
    min_len: usize,
    time_major: bool,
    device: &Arc<dyn Device>,
) -> Result<(Tensor, Vec<usize>)> {
    let steps = rows.iter().map(Vec::len).max().unwrap_or(0).max(min_len).max(1);
    let mut ids = vec![pad; rows.len() * steps];
    for (r, row) in rows.iter().enumerate() {
        for (t, &id) in row.iter().enumerate() {
            let at = if time_major { t * rows.len() + r } else { r * steps + t };
            ids[at] = id as i64;
        }
    }
    let dims = if time_major { [steps, rows.len()] } else { [rows.len(), steps] };
    let lengths = rows.iter().map(|r| r.len().max(1)).collect();
    Ok((Tensor::from_vec(ids, dims, device)?.try_cast(DType::I64)?, lengths))
}
