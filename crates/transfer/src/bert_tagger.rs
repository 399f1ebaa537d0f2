//! Token classification with a BERT body (named-entity recognition and other word tagging over
//! a subword vocabulary): each word's label sits on its first piece, the other pieces of the
//! word are left out of the loss, and predictions are read back one per word from the first
//! pieces. A sentence longer than the model's positions is cut into windows of whole words,
//! each word in exactly one window (a word with more pieces than a window holds keeps its
//! first ones), so no word is dropped.

use autograd::Var;
use nlp::encoder::{Bert, BertBatch, BertVocab, EncodedInput};
use nn_layers::layers::{Dropout, Linear};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::{Module, Param, join};
use tensor_core::{Tensor, TensorRng};

use crate::body::{Body, BodyKind};
use crate::{Result, TransferError};

/// One window of a sentence: `[CLS] pieces [SEP]`, and for each word it holds, the sentence
/// index of the word and the position of its first piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WordWindow {
    /// The model's input.
    pub input: EncodedInput,
    /// `(word index in the sentence, position of its first piece in the input)`, in order.
    pub firsts: Vec<(usize, usize)>,
}

/// Cuts `words` into windows of at most `positions` inputs (`[CLS]` and `[SEP]` included):
/// whole words, greedily, each word in exactly one window. An empty sentence gives no window.
pub fn word_windows(vocab: &BertVocab, words: &[String], positions: usize) -> Result<Vec<WordWindow>> {
    if positions < 3 {
        return Err(TransferError::Invalid(format!("windows of {positions} positions hold no word")));
    }
    let room = positions - 2;
    let mut windows = Vec::new();
    let mut ids: Vec<u32> = Vec::new();
    let mut firsts = Vec::new();
    let finish = |ids: &mut Vec<u32>, firsts: &mut Vec<(usize, usize)>| -> Result<WordWindow> {
        let input = vocab.single(ids, positions)?;
        ids.clear();
        Ok(WordWindow { input, firsts: std::mem::take(firsts) })
    };
    for (w, word) in words.iter().enumerate() {
        let mut pieces = vocab.word_ids(word);
        pieces.truncate(room);
        if ids.len() + pieces.len() > room {
            windows.push(finish(&mut ids, &mut firsts)?);
        }
        firsts.push((w, 1 + ids.len()));
        ids.extend(pieces);
    }
    if !firsts.is_empty() {
        windows.push(finish(&mut ids, &mut firsts)?);
    }
    Ok(windows)
}

/// A BERT body with a linear layer giving every word a score per tag. Parameter names: the
/// body's own and `head.weight` / `head.bias`.
pub struct BertTagger {
    /// The encoder (a [`Body`] holding a BERT).
    pub body: Body,
    /// Scores per tag from a first piece's state.
    pub head: Linear,
    dropout: Dropout,
    tags: usize,
}

/// A batch of windows ready for the model: the inputs, where the labelled first pieces sit in
/// the flattened `[B·T]` states, and which (sentence, word) each belongs to.
struct Prepared {
    batch: BertBatch,
    rows: Tensor,
    owners: Vec<(usize, usize)>,
}

impl BertTagger {
    /// A fresh head of `tags` outputs on `body`, which must be a BERT; `dropout` applies to the
    /// states the head reads while training.
    pub fn new(body: Body, tags: usize, dropout: f64, seed: u64) -> Result<BertTagger> {
        if body.kind() != BodyKind::Bert {
            return Err(TransferError::WrongKind {
                path: body.source().to_path_buf(),
                found: body.kind().name().into(),
                expected: "a BERT-style encoder (`\"architecture\": \"bert\"`) for subword token classification".into(),
            });
        }
        if tags < 2 {
            return Err(TransferError::Invalid(format!("a tagger needs at least two tags, got {tags}")));
        }
        let mut rng = TensorRng::new(seed);
        let head = Linear::new(body.width(), tags, &mut rng, &body.device())?;
        Ok(BertTagger { body, head, dropout: Dropout::new(dropout, rng.next_u64())?, tags })
    }

    /// Tags it predicts.
    pub fn tags(&self) -> usize {
        self.tags
    }

    #[allow(clippy::expect_used, reason = "an invariant, not input: new() refuses every other body")]
    fn bert(&self) -> (&Bert, &BertVocab) {
        self.body.bert().expect("checked at construction")
    }

    /// Every window of every sentence, with the sentence it came from.
    pub fn windows(&self, sentences: &[Vec<String>]) -> Result<Vec<(usize, WordWindow)>> {
        let (bert, vocab) = self.bert();
        let mut all = Vec::new();
        for (s, words) in sentences.iter().enumerate() {
            all.extend(word_windows(vocab, words, bert.config().positions)?.into_iter().map(|w| (s, w)));
        }
        Ok(all)
    }

    fn prepare(&self, windows: &[&(usize, WordWindow)]) -> Result<Prepared> {
        let (_, vocab) = self.bert();
        let inputs: Vec<EncodedInput> = windows.iter().map(|(_, w)| w.input.clone()).collect();
        let batch = BertBatch::from_inputs(&inputs, vocab.pad_id(), &self.body.device())?;
        let steps = batch.steps();
        let mut rows = Vec::new();
        let mut owners = Vec::new();
        for (b, (sentence, window)) in windows.iter().enumerate() {
            for &(word, position) in &window.firsts {
                rows.push((b * steps + position) as i64);
                owners.push((*sentence, word));
            }
        }
        let n = rows.len();
        Ok(Prepared { batch, rows: Tensor::from_vec(rows, [n], &self.body.device())?, owners })
    }

    /// Scores `[N, tags]` of the first pieces of `prepared`, in its owners' order.
    fn scores(&self, prepared: &Prepared, dropout: Option<u64>) -> Result<Var> {
        let (bert, _) = self.bert();
        let hidden = bert.encode_with(&prepared.batch, dropout)?;
        let dims = hidden.dims();
        let flat = hidden.reshape([dims[0] * dims[1], dims[2]])?.index_select(0, &prepared.rows)?;
        let flat = match dropout {
            Some(seed) => {
                self.dropout.set_training(true);
                self.dropout.reseed(seed ^ 0x5EED);
                self.dropout.forward(&flat)?
            }
            None => flat,
        };
        Ok(self.head.forward(&flat)?)
    }

    /// Mean cross-entropy over the words of `windows` (`tags[sentence][word]` the gold tag ids);
    /// dropout masks from `dropout` when training.
    pub fn loss(&self, windows: &[&(usize, WordWindow)], tags: &[Vec<i64>], dropout: Option<u64>) -> Result<Var> {
        let prepared = self.prepare(windows)?;
        let mut gold = Vec::with_capacity(prepared.owners.len());
        for &(s, w) in &prepared.owners {
            let tag = tags.get(s).and_then(|t| t.get(w)).copied().ok_or_else(|| {
                TransferError::Invalid(format!("sentence {s} has no tag for word {w}: one tag per word is needed"))
            })?;
            if tag < 0 || tag as usize >= self.tags {
                return Err(TransferError::Invalid(format!(
                    "tag id {tag} of sentence {s} is outside 0..{}",
                    self.tags
                )));
            }
            gold.push(tag);
        }
        let n = gold.len();
        let gold = Tensor::from_vec(gold, [n], &self.body.device())?;
        let scores = self.scores(&prepared, dropout)?;
        Ok(cross_entropy(&scores, &gold, CrossEntropy::default())?)
    }

    /// The predicted tag id of every word of every sentence (windows of `batch` at a time),
    /// read from each word's first piece.
    pub fn predict(&self, sentences: &[Vec<String>], batch: usize) -> Result<Vec<Vec<usize>>> {
        let windows = self.windows(sentences)?;
        let mut out: Vec<Vec<usize>> = sentences.iter().map(|s| vec![0; s.len()]).collect();
        for chunk in windows.chunks(batch.max(1)) {
            let refs: Vec<&(usize, WordWindow)> = chunk.iter().collect();
            let prepared = self.prepare(&refs)?;
            let scores = autograd::no_grad(|| self.scores(&prepared, None))?.value().to_vec::<f32>()?;
            for (row, &(s, w)) in prepared.owners.iter().enumerate() {
                let row = &scores[row * self.tags..(row + 1) * self.tags];
                let best = (0..self.tags).fold(0, |best, t| if row[t] > row[best] { t } else { best });
                out[s][w] = best;
            }
        }
        Ok(out)
    }
}

impl Module for BertTagger {
    /// Not a single-input module: use [`BertTagger::loss`] and [`BertTagger::predict`].
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.body.module().forward(input)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.body.module().visit_params(prefix, visit);
        self.head.visit_params(&join(prefix, "head"), visit);
    }
}
