//! Tagged sentences as ids: lower-cased words, their last three letters (a cheap character
//! feature that helps with unseen words), and tags; batches padded per batch.

use std::sync::Arc;

use tensor_core::{Device, Tensor};

use crate::Result;
use crate::corpus::{TaggedDocument, simplify_brown_tag};
use crate::vocab::{Vocab, VocabConfig};

/// Label of padding positions, ignored by the loss and the accuracy.
pub const IGNORE: i64 = -100;

/// The vocabularies a tagger is trained with.
#[derive(Clone, Debug)]
pub struct TaggingVocab {
    /// Lower-cased words of the training documents seen at least twice; `<pad>`, `<unk>`.
    pub words: Vocab,
    /// Lower-cased three-letter suffixes of the training words.
    pub suffixes: Vocab,
    /// Simplified tags ([`simplify_brown_tag`]).
    pub tags: Vocab,
}

fn suffix(word: &str) -> String {
    let lower = word.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    chars[chars.len().saturating_sub(3)..].iter().collect()
}

impl TaggingVocab {
    /// Builds the vocabularies from training documents; the tag set comes from `all` (labels
    /// are known in advance; only words and suffixes must not leak from held-out text).
    pub fn build(train: &[TaggedDocument], all: &[TaggedDocument]) -> TaggingVocab {
        let tokens = || train.iter().flat_map(|d| d.sentences.iter().flatten());
        let lowered: Vec<String> = tokens().map(|(w, _)| w.to_lowercase()).collect();
        let suffixes: Vec<String> = tokens().map(|(w, _)| suffix(w)).collect();
        let tags: Vec<String> =
            all.iter().flat_map(|d| d.sentences.iter().flatten()).map(|(_, t)| simplify_brown_tag(t)).collect();
        TaggingVocab {
            words: Vocab::build(
                lowered.iter().map(String::as_str),
                &VocabConfig { min_count: 2, ..VocabConfig::default() },
            ),
            suffixes: Vocab::build(suffixes.iter().map(String::as_str), &VocabConfig::default()),
            tags: Vocab::build(
                tags.iter().map(String::as_str),
                &VocabConfig { specials: vec![], unknown: None, ..VocabConfig::default() },
            ),
        }
    }
}

/// One encoded sentence.
#[derive(Clone, Debug, PartialEq)]
struct Sentence {
    words: Vec<usize>,
    suffixes: Vec<usize>,
    tags: Vec<i64>,
}

/// Encoded tagged sentences.
#[derive(Clone, Debug, PartialEq)]
pub struct TaggingData {
    sentences: Vec<Sentence>,
}

/// A padded batch: word and suffix ids `[N, T]`, tags `[N, T]` (padding [`IGNORE`]d) and the
/// sentence lengths.
pub struct TaggedBatch {
    /// Word ids, i64.
    pub words: Tensor,
    /// Suffix ids, i64.
    pub suffixes: Tensor,
    /// Tag ids, i64; padding is `-100`.
    pub tags: Tensor,
    /// Real length of each sentence.
    pub lengths: Vec<usize>,
}

impl TaggingData {
    /// Encodes every sentence of `documents`.
    pub fn encode(documents: &[TaggedDocument], vocab: &TaggingVocab) -> TaggingData {
        let unknown_tag = |t: &str| vocab.tags.id(&simplify_brown_tag(t)).map_or(IGNORE, |i| i as i64);
        let sentences = documents
            .iter()
            .flat_map(|d| &d.sentences)
            .filter(|s| !s.is_empty())
            .map(|s| Sentence {
                words: s.iter().map(|(w, _)| vocab.words.encode(&[w.to_lowercase()])[0]).collect(),
                suffixes: s.iter().map(|(w, _)| vocab.suffixes.encode(&[suffix(w)])[0]).collect(),
                tags: s.iter().map(|(_, t)| unknown_tag(t)).collect(),
            })
            .collect();
        TaggingData { sentences }
    }

    /// Number of sentences.
    pub fn len(&self) -> usize {
        self.sentences.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// Number of tokens.
    pub fn tokens(&self) -> usize {
        self.sentences.iter().map(|s| s.tags.len()).sum()
    }

    /// The sentences at `indices`, padded to the longest.
    pub fn batch(&self, indices: &[usize], device: &Arc<dyn Device>) -> Result<TaggedBatch> {
        let lengths: Vec<usize> = indices.iter().map(|&i| self.sentences[i].tags.len()).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let n = indices.len();
        let (mut words, mut suffixes, mut tags) =
            (vec![0i64; n * longest], vec![0i64; n * longest], vec![IGNORE; n * longest]);
        for (row, &i) in indices.iter().enumerate() {
            let s = &self.sentences[i];
            for t in 0..s.tags.len() {
                words[row * longest + t] = s.words[t] as i64;
                suffixes[row * longest + t] = s.suffixes[t] as i64;
                tags[row * longest + t] = s.tags[t];
            }
        }
        Ok(TaggedBatch {
            words: Tensor::from_vec(words, [n, longest], device)?,
            suffixes: Tensor::from_vec(suffixes, [n, longest], device)?,
            tags: Tensor::from_vec(tags, [n, longest], device)?,
            lengths,
        })
    }

    /// Batches of sentence indices of similar length (sorted by length, then the batches
    /// shuffled with `seed`), so little compute goes to padding.
    pub fn length_batches(&self, batch_size: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| self.sentences[i].tags.len());
        let mut batches: Vec<Vec<usize>> = order.chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect();
        if let Some(seed) = seed {
            let shuffled = nn_layers::data::permutation(batches.len(), seed);
            batches = shuffled.into_iter().map(|i| batches[i].clone()).collect();
        }
        batches
    }
}
