//! Extractive question answering with a BERT body: a span head gives every position a start and
//! an end score over `[CLS] question [SEP] context window [SEP]`. A context longer than the
//! model's positions is cut into overlapping windows as Hugging Face's `run_qa` cuts them
//! (`doc_stride` pieces shared by consecutive windows); training labels a window with the
//! answer's first and last pieces when the whole answer lies inside it, else with `[CLS]`. The
//! answer is the best-scoring span (start ≤ end, at most `max_answer` pieces, inside the
//! context) over all windows, mapped back to **characters** of the context through the pieces'
//! character spans.

use autograd::Var;
use nlp::encoder::{Bert, BertBatch, BertVocab, EncodedInput};
use nn_layers::layers::Linear;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::{Module, Param, join};
use tensor_core::{Tensor, TensorRng};

use crate::body::{Body, BodyKind};
use crate::{Result, TransferError};

/// Sizes of the windows and answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanConfig {
    /// The question keeps at most this many pieces.
    pub max_question: usize,
    /// Pieces shared by consecutive windows of a long context (Hugging Face's `doc_stride`).
    pub doc_stride: usize,
    /// The longest answer, in pieces.
    pub max_answer: usize,
}

impl Default for SpanConfig {
    fn default() -> Self {
        SpanConfig { max_question: 32, doc_stride: 32, max_answer: 30 }
    }
}

/// One window of a question and its context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanWindow {
    /// `[CLS] question [SEP] context pieces [SEP]`, segments 0 then 1.
    pub input: EncodedInput,
    /// Position of the window's first context piece.
    pub context_at: usize,
    /// Character span in the context of each context piece of the window, in order.
    pub spans: Vec<(usize, usize)>,
    /// The gold start and end positions (both 0, `[CLS]`, when the answer is not inside).
    pub label: (usize, usize),
}

/// The windows of `question` over `context` for a model of `positions` positions; `answer` is
/// the gold answer's character span in the context (training). `what` names the example in
/// errors. An empty question or context, or a context all of whose pieces are `[UNK]`, is an
/// error.
pub fn span_windows(
    vocab: &BertVocab,
    question: &str,
    context: &str,
    answer: Option<(usize, usize)>,
    positions: usize,
    config: &SpanConfig,
    what: &str,
) -> Result<Vec<SpanWindow>> {
    let mut question_ids = vocab.tokenize(question);
    question_ids.truncate(config.max_question);
    let pieces = vocab.pieces(context);
    if question_ids.is_empty() {
        return Err(TransferError::Invalid(format!("{what}: the question has no token")));
    }
    if pieces.is_empty() {
        return Err(TransferError::Invalid(format!("{what}: the context has no token")));
    }
    if pieces.iter().all(|p| p.id == vocab.unk_id()) {
        return Err(TransferError::AllUnknown {
            what: format!("the context of {what}"),
            pieces: pieces.len(),
            text: context.chars().take(60).collect(),
        });
    }
    let room = positions.checked_sub(question_ids.len() + 3).filter(|&r| r > config.doc_stride).ok_or_else(|| {
        TransferError::Invalid(format!(
            "{what}: {positions} positions leave no room for context beside a {}-piece question and a stride of {}",
            question_ids.len(),
            config.doc_stride
        ))
    })?;
    let gold = answer.and_then(|(a, b)| {
        let first = pieces.iter().position(|p| p.end > a)?;
        let last = pieces.iter().rposition(|p| p.start < b)?;
        (first <= last).then_some((first, last))
    });
    let mut windows = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + room).min(pieces.len());
        let mut ids = vec![vocab.cls_id()];
        ids.extend(&question_ids);
        ids.push(vocab.sep_id());
        let context_at = ids.len();
        ids.extend(pieces[start..end].iter().map(|p| p.id));
        ids.push(vocab.sep_id());
        let segments = (0..ids.len()).map(|i| u32::from(i >= context_at)).collect();
        let label = match gold {
            Some((a, b)) if a >= start && b < end => (context_at + a - start, context_at + b - start),
            _ => (0, 0),
        };
        let spans = pieces[start..end].iter().map(|p| (p.start, p.end)).collect();
        windows.push(SpanWindow { input: EncodedInput { ids, segments }, context_at, spans, label });
        if end == pieces.len() {
            break;
        }
        start += room - config.doc_stride;
    }
    Ok(windows)
}

/// An answer: its characters in the context (`start..end`, counted in characters) and its score
/// (start plus end logit).
#[derive(Clone, Debug, PartialEq)]
pub struct SpanAnswer {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The context's characters `start..end`.
    pub text: String,
    /// Start plus end score.
    pub score: f32,
}

/// A BERT body with a span head (`head.weight` `[2, width]`: start and end scores).
pub struct BertSpanReader {
    /// The encoder (a [`Body`] holding a BERT).
    pub body: Body,
    /// Start and end scores from each position's state.
    pub head: Linear,
    /// Window and answer sizes.
    pub config: SpanConfig,
}

impl BertSpanReader {
    /// A fresh span head on `body`, which must be a BERT.
    pub fn new(body: Body, config: SpanConfig, seed: u64) -> Result<BertSpanReader> {
        if body.kind() != BodyKind::Bert {
            return Err(TransferError::WrongKind {
                path: body.source().to_path_buf(),
                found: body.kind().name().into(),
                expected: "a BERT-style encoder (`\"architecture\": \"bert\"`) for span extraction".into(),
            });
        }
        let head = Linear::new(body.width(), 2, &mut TensorRng::new(seed), &body.device())?;
        Ok(BertSpanReader { body, head, config })
    }

    #[allow(clippy::expect_used, reason = "an invariant, not input: new() refuses every other body")]
    fn bert(&self) -> (&Bert, &BertVocab) {
        self.body.bert().expect("checked at construction")
    }

    /// [`span_windows`] with this reader's vocabulary, positions and sizes.
    pub fn windows(
        &self,
        question: &str,
        context: &str,
        answer: Option<(usize, usize)>,
        what: &str,
    ) -> Result<Vec<SpanWindow>> {
        let (bert, vocab) = self.bert();
        span_windows(vocab, question, context, answer, bert.config().positions, &self.config, what)
    }

    /// Start and end scores `[B, T]` each, of a batch of windows.
    fn scores(&self, windows: &[&SpanWindow], dropout: Option<u64>) -> Result<(Var, Var, usize)> {
        let (bert, vocab) = self.bert();
        let inputs: Vec<EncodedInput> = windows.iter().map(|w| w.input.clone()).collect();
        let batch = BertBatch::from_inputs(&inputs, vocab.pad_id(), &self.body.device())?;
        let hidden = bert.encode_with(&batch, dropout)?;
        let (rows, steps) = (batch.rows(), batch.steps());
        let logits = self.head.forward(&hidden)?; // [B, T, 2]
        let start = logits.narrow(2, 0, 1)?.reshape([rows, steps])?;
        let end = logits.narrow(2, 1, 1)?.reshape([rows, steps])?;
        Ok((start, end, steps))
    }

    /// Mean of the start and end cross-entropies over `windows` (their labels).
    pub fn loss(&self, windows: &[&SpanWindow], dropout: Option<u64>) -> Result<Var> {
        let (start, end, _) = self.scores(windows, dropout)?;
        let device = self.body.device();
        let n = windows.len();
        let starts = Tensor::from_vec(windows.iter().map(|w| w.label.0 as i64).collect::<Vec<_>>(), [n], &device)?;
        let ends = Tensor::from_vec(windows.iter().map(|w| w.label.1 as i64).collect::<Vec<_>>(), [n], &device)?;
        let a = cross_entropy(&start, &starts, CrossEntropy::default())?;
        let b = cross_entropy(&end, &ends, CrossEntropy::default())?;
        Ok(a.add(&b)?.affine(0.5, 0.0)?)
    }

    /// The best answer of each `(question, context)`, windows scored `batch` at a time.
    pub fn answer(&self, items: &[(&str, &str)], batch: usize) -> Result<Vec<SpanAnswer>> {
        let mut windows = Vec::new();
        for (i, (question, context)) in items.iter().enumerate() {
            windows
                .extend(self.windows(question, context, None, &format!("question {i}"))?.into_iter().map(|w| (i, w)));
        }
        let mut best: Vec<Option<SpanAnswer>> = vec![None; items.len()];
        for chunk in windows.chunks(batch.max(1)) {
            let refs: Vec<&SpanWindow> = chunk.iter().map(|(_, w)| w).collect();
            let (start, end, steps) = autograd::no_grad(|| self.scores(&refs, None))?;
            let (start, end) = (start.value().to_vec::<f32>()?, end.value().to_vec::<f32>()?);
            for (row, (item, window)) in chunk.iter().enumerate() {
                let s = &start[row * steps..(row + 1) * steps];
                let e = &end[row * steps..(row + 1) * steps];
                let found = best_span(window, s, e, self.config.max_answer);
                if let Some((a, b, score)) = found.filter(|f| best[*item].as_ref().is_none_or(|c| f.2 > c.score)) {
                    let (from, to) = (window.spans[a].0, window.spans[b].1);
                    let text = items[*item].1.chars().skip(from).take(to - from).collect();
                    best[*item] = Some(SpanAnswer { start: from, end: to, text, score });
                }
            }
        }
        Ok(best
            .into_iter()
            .map(|b| b.unwrap_or(SpanAnswer { start: 0, end: 0, text: String::new(), score: f32::NEG_INFINITY }))
            .collect())
    }
}

/// The best `(first, last)` context piece (indices into `window.spans`) and score of one window:
/// start ≤ end, at most `max_answer` pieces, both inside the context.
pub fn best_span(window: &SpanWindow, start: &[f32], end: &[f32], max_answer: usize) -> Option<(usize, usize, f32)> {
    let n = window.spans.len();
    let at = window.context_at;
    let mut best: Option<(usize, usize, f32)> = None;
    for a in 0..n {
        for b in a..n.min(a + max_answer.max(1)) {
            let score = start[at + a] + end[at + b];
            if best.is_none_or(|(_, _, s)| score > s) {
                best = Some((a, b, score));
            }
        }
    }
    best
}

impl Module for BertSpanReader {
    /// Not a single-input module: use [`BertSpanReader::loss`] and [`BertSpanReader::answer`].
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.body.module().forward(input)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.body.module().visit_params(prefix, visit);
        self.head.visit_params(&join(prefix, "head"), visit);
    }
}
