//! Data for training and scoring language models: a corpus as one stream of token ids, cut into
//! `B` parallel streams and read in windows of `T` steps (truncated back-propagation through
//! time: the recurrent state is carried from one window to the next and detached).

use std::path::Path;

use super::Vocabulary;
use super::read_sentences;
use crate::{NlpError, Result};

/// A document as one stream of ids: the end token first (the context of the first sentence, as
/// after any other sentence), then every sentence followed by the end token. Every id after
/// the first is predicted, so a stream of `n` sentences predicts exactly the tokens an n-gram
/// model scores on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenStream {
    ids: Vec<u32>,
}

impl TokenStream {
    /// The stream of sentences given as ids (each without its end token).
    pub fn from_sentences(sentences: &[Vec<u32>], end: u32) -> TokenStream {
        let mut ids = Vec::with_capacity(1 + sentences.iter().map(|s| s.len() + 1).sum::<usize>());
        ids.push(end);
        for sentence in sentences {
            ids.extend_from_slice(sentence);
            ids.push(end);
        }
        TokenStream { ids }
    }

    /// The stream of a text file, one sentence per line, encoded by `vocab`. A file without
    /// text, or with invalid UTF-8, is an error naming it.
    pub fn read(path: &Path, vocab: &dyn Vocabulary) -> Result<TokenStream> {
        let sentences: Vec<Vec<u32>> =
            read_sentences(path)?.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect()).collect();
        let stream = TokenStream::from_sentences(&sentences, vocab.end_id());
        if stream.ids.iter().all(|&id| id == vocab.end_id()) {
            return Err(NlpError::Parse { path: path.to_path_buf(), line: 0, msg: "the file has no tokens".into() });
        }
        Ok(stream)
    }

    /// A stream of these ids (the first is context only, never predicted).
    pub fn from_ids(ids: Vec<u32>) -> TokenStream {
        TokenStream { ids }
    }

    /// The first `fraction` of the ids and the rest, as two streams (e.g. nanoGPT's 90 %
    /// training / 10 % validation split of a text).
    pub fn split(&self, fraction: f64) -> (TokenStream, TokenStream) {
        let at = ((self.ids.len() as f64 * fraction) as usize).min(self.ids.len());
        (TokenStream { ids: self.ids[..at].to_vec() }, TokenStream { ids: self.ids[at..].to_vec() })
    }

    /// The ids, the leading end token included.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Number of predicted tokens (every id but the first).
    pub fn predicted(&self) -> usize {
        self.ids.len().saturating_sub(1)
    }
}

/// Sentences of tokens as text with every token outside `vocab` spelt as its unknown token, so
/// that models with different vocabularies (say an n-gram and a neural model) read the same
/// text, as Penn Treebank's files make them do.
pub fn with_unknowns(sentences: &[Vec<String>], vocab: &dyn Vocabulary) -> Vec<String> {
    let unknown = vocab.unknown_id().map(|id| vocab.token(id));
    sentences
        .iter()
        .map(|sentence| {
            let words: Vec<&str> = sentence
                .iter()
                .map(|w| match (&unknown, vocab.id(w)) {
                    (Some(unk), None) => unk.as_str(),
                    _ => w.as_str(),
                })
                .collect();
            words.join(" ")
        })
        .collect()
}

/// One window of `steps` x `streams` positions, time-first (`[T, N]` row-major).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Steps `T` (the last window may be shorter).
    pub steps: usize,
    /// Parallel streams `N`.
    pub streams: usize,
    /// Input ids `[T, N]`.
    pub inputs: Vec<i64>,
    /// The id after each input `[T, N]`.
    pub targets: Vec<i64>,
    /// For each position, the index of its target among the predicted tokens of the stream,
    /// and the step within its parallel stream; `None` for padding after the end.
    pub positions: Vec<Option<(usize, usize)>>,
}

/// A stream cut into `streams` contiguous parallel streams of `length` positions each, read in
/// windows of `window` steps. Stream `b` predicts tokens `b·length .. (b+1)·length` of the
/// document from the token before each.
#[derive(Clone, Debug)]
pub struct BpttBatches<'a> {
    ids: &'a [u32],
    streams: usize,
    window: usize,
    length: usize,
}

impl<'a> BpttBatches<'a> {
    /// For training: `streams` streams of equal length; the last `predicted mod streams`
    /// tokens are left out, as in the usual PTB recipes.
    pub fn training(stream: &'a TokenStream, streams: usize, window: usize) -> Result<Self> {
        check(streams, window)?;
        let length = stream.predicted() / streams;
        if length == 0 {
            return Err(NlpError::Invalid(format!(
                "{} tokens are too few for {streams} parallel streams",
                stream.predicted()
            )));
        }
        Ok(BpttBatches { ids: &stream.ids, streams, window, length })
    }

    /// For scoring: every predicted token exactly once, in at most `streams` streams (the
    /// last stream padded).
    pub fn covering(stream: &'a TokenStream, streams: usize, window: usize) -> Result<Self> {
        check(streams, window)?;
        let predicted = stream.predicted();
        let streams = streams.min(predicted).max(1);
        Ok(BpttBatches { ids: &stream.ids, streams, window, length: predicted.div_ceil(streams) })
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.length.div_ceil(self.window)
    }

    /// Whether there is no window.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Parallel streams.
    pub fn streams(&self) -> usize {
        self.streams
    }

    /// Predicted positions per stream.
    pub fn stream_length(&self) -> usize {
        self.length
    }

    /// Tokens predicted per pass (padding excluded).
    pub fn predicted(&self) -> usize {
        (self.streams * self.length).min(self.ids.len().saturating_sub(1))
    }

    /// Window `index` (`0..len()`).
    pub fn window(&self, index: usize) -> Window {
        let start = index * self.window;
        let steps = self.window.min(self.length.saturating_sub(start));
        let predicted = self.predicted();
        let cells = steps * self.streams;
        let (mut inputs, mut targets, mut positions) =
            (Vec::with_capacity(cells), Vec::with_capacity(cells), Vec::with_capacity(cells));
        for t in start..start + steps {
            for b in 0..self.streams {
                let at = b * self.length + t;
                if at < predicted {
                    inputs.push(self.ids[at] as i64);
                    targets.push(self.ids[at + 1] as i64);
                    positions.push(Some((at, t)));
                } else {
                    inputs.push(0);
                    targets.push(0);
                    positions.push(None);
                }
            }
        }
        Window { steps, streams: self.streams, inputs, targets, positions }
    }
}

/// Batches of `streams` windows of `window` steps, each at a random place of a stream (the
/// windows of nanoGPT's `get_batch`). The places of step `s` are a fixed function of the seed
/// and `s`, so a resumed run draws the same batches.
#[derive(Clone, Debug)]
pub struct RandomWindows<'a> {
    ids: &'a [u32],
    streams: usize,
    window: usize,
    seed: u64,
}

impl<'a> RandomWindows<'a> {
    /// Windows over `stream`, which must hold more than `window` ids.
    pub fn new(stream: &'a TokenStream, streams: usize, window: usize, seed: u64) -> Result<Self> {
        check(streams, window)?;
        if stream.ids.len() <= window {
            return Err(NlpError::Invalid(format!("{} tokens are too few for windows of {window}", stream.ids.len())));
        }
        Ok(RandomWindows { ids: &stream.ids, streams, window, seed })
    }

    /// The batch of step `step`, time-first like [`BpttBatches::window`].
    pub fn window(&self, step: usize) -> Window {
        let mut rng = tensor_core::TensorRng::new(self.seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let places = self.ids.len() - self.window;
        let starts: Vec<usize> = (0..self.streams).map(|_| (rng.next_u64() % places as u64) as usize).collect();
        let cells = self.window * self.streams;
        let (mut inputs, mut targets, mut positions) =
            (Vec::with_capacity(cells), Vec::with_capacity(cells), Vec::with_capacity(cells));
        for t in 0..self.window {
            for &start in &starts {
                inputs.push(self.ids[start + t] as i64);
                targets.push(self.ids[start + t + 1] as i64);
                positions.push(Some((start + t, t)));
            }
        }
        Window { steps: self.window, streams: self.streams, inputs, targets, positions }
    }
}

fn check(streams: usize, window: usize) -> Result<()> {
    if streams == 0 || window == 0 {
        return Err(NlpError::Invalid(format!("streams ({streams}) and window ({window}) must be positive")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_predicts_every_token_once_and_training_drops_the_tail() {
        let stream = TokenStream::from_sentences(&[vec![5, 6, 7], vec![8], vec![9, 10]], 1);
        assert_eq!(stream.ids(), [1, 5, 6, 7, 1, 8, 1, 9, 10, 1]);
        let cover = BpttBatches::covering(&stream, 4, 2).unwrap();
        assert_eq!((cover.streams(), cover.stream_length(), cover.len()), (4, 3, 2));
        let mut seen = vec![0; stream.predicted()];
        for w in 0..cover.len() {
            let window = cover.window(w);
            for (i, p) in window.positions.iter().enumerate() {
                if let Some((at, step)) = p {
                    seen[*at] += 1;
                    assert_eq!(window.inputs[i], stream.ids()[*at] as i64);
                    assert_eq!(window.targets[i], stream.ids()[*at + 1] as i64);
                    assert_eq!(*at, (i % 4) * 3 + step);
                }
            }
        }
        assert_eq!(seen, vec![1; 9]);
        let train = BpttBatches::training(&stream, 4, 2).unwrap();
        assert_eq!((train.stream_length(), train.predicted()), (2, 8));
        let first = train.window(0);
        assert_eq!(first.inputs, [1, 6, 1, 1, 5, 7, 8, 9]);
        assert!(first.positions.iter().all(Option::is_some));
        assert!(BpttBatches::training(&stream, 10, 2).is_err());
        assert!(BpttBatches::covering(&stream, 0, 2).is_err());
    }
}
