//! Every n-gram model is a [`LanguageModel`]: its context restarts at `<s>` after every end
//! of sentence, and only the last `order - 1` words of it matter.

use super::{LanguageModel, LmReader, Vocabulary, WordScore};
use crate::Result;
use crate::ngram::{NgramModel, NgramVocab};

impl<T: NgramModel + ?Sized> LanguageModel for T {
    fn vocabulary(&self) -> &dyn Vocabulary {
        self.vocab()
    }

    fn describe(&self) -> String {
        format!("{}-gram model over {} words", self.order(), self.vocab().len())
    }

    fn reader(&self, history: &[u32]) -> Result<Box<dyn LmReader + '_>> {
        let mut reader = NgramReader { model: self, context: vec![NgramVocab::START_ID], log_probs: Vec::new() };
        for &id in history {
            reader.advance(id);
        }
        reader.refresh();
        Ok(Box::new(reader))
    }

    fn score_document(&self, sentences: &[Vec<u32>]) -> Result<Vec<WordScore>> {
        let mut scores = Vec::with_capacity(sentences.iter().map(|s| s.len() + 1).sum());
        for sentence in sentences {
            let mut context = vec![NgramVocab::START_ID];
            for &id in sentence.iter().chain([&NgramVocab::END_ID]) {
                scores.push(self.score_word(&context, id));
                context.push(id);
            }
        }
        Ok(scores)
    }
}

/// An n-gram model's position in a document: the current sentence's words so far.
struct NgramReader<'a, T: ?Sized> {
    model: &'a T,
    context: Vec<u32>,
    log_probs: Vec<f32>,
}

impl<T: NgramModel + ?Sized> NgramReader<'_, T> {
    /// Moves past `id`, keeping only the context an n-gram can use.
    fn advance(&mut self, id: u32) {
        if id == NgramVocab::END_ID {
            self.context = vec![NgramVocab::START_ID];
            return;
        }
        self.context.push(id);
        let keep = self.model.order().saturating_sub(1).max(1);
        if self.context.len() > keep {
            self.context.drain(..self.context.len() - keep);
        }
    }

    /// Recomputes the distribution after the context.
    fn refresh(&mut self) {
        let vocab = self.model.vocab();
        self.log_probs = (0..vocab.len() as u32)
            .map(|w| {
                if w == NgramVocab::START_ID {
                    f32::NEG_INFINITY
                } else {
                    (self.model.score_word(&self.context, w).log10_prob * std::f64::consts::LN_10) as f32
                }
            })
            .collect();
    }
}

impl<T: NgramModel + ?Sized> LmReader for NgramReader<'_, T> {
    fn log_probs(&self) -> &[f32] {
        &self.log_probs
    }

    fn push(&mut self, id: u32) -> Result<()> {
        self.advance(id);
        self.refresh();
        Ok(())
    }
}
