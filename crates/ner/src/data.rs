//! From sentences to tensors: the word, character and tag vocabularies of a tagger, word
//! normalisation, and padded batches.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use nlp::vocab::{Vocab, VocabConfig};
use nlp::word2vec::Embeddings;
use tensor_core::{Device, Tensor};

use crate::conll::Sentence;
use crate::error::{NerError, Result};

/// Id of the padding word and character.
pub const PAD: usize = 0;
/// Id of the unknown word and character.
pub const UNK: usize = 1;
/// The tag id of padding positions (ignored by both heads' losses).
pub const IGNORE: i64 = -100;
/// Longest word, in characters, that the char CNN reads (longer words are cut).
pub const MAX_WORD_CHARS: usize = 24;

/// The key a word is looked up by in the word table: lower-cased, every digit read as `0`
/// (Lample et al.'s normalisation; the char CNN still sees the word as written).
pub fn normalise(word: &str) -> String {
    word.chars().flat_map(char::to_lowercase).map(|c| if c.is_ascii_digit() { '0' } else { c }).collect()
}

/// The vocabularies of a tagger: normalised words, characters, tag names (id order).
#[derive(Clone, Debug, PartialEq)]
pub struct NerVocab {
    /// Normalised words; id 0 `<pad>`, id 1 `<unk>`.
    pub words: Vocab,
    /// Characters; id 0 `<pad>`, id 1 `<unk>`.
    pub chars: Vocab,
    /// Tag names, `O` first, then the entity tags by type (`B-X` before `I-X`).
    pub tags: Vec<String>,
}

impl NerVocab {
    /// Builds the vocabularies from training sentences. With `pretrained` vectors, their words
    /// that occur in `also_seen` (unlabelled words: the validation and test text, whose vectors
    /// would otherwise be lost to `<unk>`) join the word vocabulary too.
    pub fn build(train: &[Sentence], pretrained: Option<&Embeddings>, also_seen: &[&[Sentence]]) -> NerVocab {
        let mut counts: HashMap<String, u64> = HashMap::new();
        let mut chars: HashMap<String, u64> = HashMap::new();
        let mut tags = BTreeSet::new();
        for sentence in train {
            for (word, tag) in sentence.words.iter().zip(&sentence.tags) {
                *counts.entry(normalise(word)).or_default() += 1;
                word.chars().for_each(|c| *chars.entry(c.to_string()).or_default() += 1);
                tags.insert(tag.clone());
            }
        }
        if let Some(vectors) = pretrained {
            for sentence in train.iter().chain(also_seen.iter().flat_map(|s| s.iter())) {
                for word in &sentence.words {
                    let key = normalise(word);
                    if vectors.id(&key).is_some() {
                        counts.entry(key).or_insert(1);
                    }
                }
            }
        }
        let config = VocabConfig::default();
        let mut tags: Vec<String> = tags.into_iter().filter(|t| t != "O").collect();
        tags.sort_by(|a, b| (a.get(2..), a).cmp(&(b.get(2..), b)));
        tags.insert(0, "O".to_string());
        NerVocab { words: Vocab::from_counts(counts, &config), chars: Vocab::from_counts(chars, &config), tags }
    }

    /// The id of `tag`, if the vocabulary has it.
    pub fn tag_id(&self, tag: &str) -> Option<usize> {
        self.tags.iter().position(|t| t == tag)
    }

    /// The ids of a sentence's words and, per word, its characters (cut to
    /// [`MAX_WORD_CHARS`]).
    pub fn encode_words<S: AsRef<str>>(&self, words: &[S]) -> (Vec<usize>, Vec<Vec<usize>>) {
        let ids = words.iter().map(|w| self.words.id(&normalise(w.as_ref())).unwrap_or(UNK)).collect();
        let chars = words
            .iter()
            .map(|w| {
                let mut buf = [0u8; 4];
                w.as_ref()
                    .chars()
                    .take(MAX_WORD_CHARS)
                    .map(|c| self.chars.id(c.encode_utf8(&mut buf)).unwrap_or(UNK))
                    .collect()
            })
            .collect();
        (ids, chars)
    }
}

/// Sentences as ids, ready for batching.
#[derive(Clone, Debug, Default)]
pub struct Encoded {
    words: Vec<Vec<usize>>,
    chars: Vec<Vec<Vec<usize>>>,
    tags: Vec<Vec<i64>>,
}

/// A padded batch: `words` `[N, T]`, `chars` `[N·T, L]`, `tags` `[N, T]` ([`IGNORE`] in the
/// padding), and each sentence's length.
#[derive(Clone, Debug)]
pub struct NerBatch {
    /// Word ids, i64 `[N, T]`.
    pub words: Tensor,
    /// Character ids, i64 `[N·T, L]`, 0-padded.
    pub chars: Tensor,
    /// Tag ids, i64 `[N, T]`.
    pub tags: Tensor,
    /// Real words per sentence.
    pub lengths: Vec<usize>,
}

impl Encoded {
    /// Encodes labelled sentences; a tag outside `vocab` is an error naming the sentence.
    pub fn new(sentences: &[Sentence], vocab: &NerVocab) -> Result<Encoded> {
        let mut out = Encoded::default();
        for (n, sentence) in sentences.iter().enumerate() {
            let tags = sentence
                .tags
                .iter()
                .map(|t| {
                    vocab.tag_id(t).map(|i| i as i64).ok_or_else(|| {
                        NerError::Invalid(format!("sentence {}: tag `{t}` is not among the model's tags", n + 1))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push_words(vocab, &sentence.words, tags);
        }
        Ok(out)
    }

    /// Encodes unlabelled word sequences (every tag `O`).
    pub fn unlabelled<S: AsRef<str>>(sentences: &[Vec<S>], vocab: &NerVocab) -> Encoded {
        let mut out = Encoded::default();
        for words in sentences {
            out.push_words(vocab, words, vec![0; words.len()]);
        }
        out
    }

    fn push_words<S: AsRef<str>>(&mut self, vocab: &NerVocab, words: &[S], tags: Vec<i64>) {
        let (ids, chars) = vocab.encode_words(words);
        self.words.push(ids);
        self.chars.push(chars);
        self.tags.push(tags);
    }

    /// Number of sentences.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there is no sentence.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Length of sentence `i`.
    pub fn length(&self, i: usize) -> usize {
        self.words[i].len()
    }

    /// Batches of up to `size` sentence indices of similar length (sorted by length, then the
    /// batches shuffled with `seed`, or kept in order without one). Empty sentences are left out.
    pub fn batches(&self, size: usize, seed: Option<u64>) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.len()).filter(|&i| self.length(i) > 0).collect();
        order.sort_by_key(|&i| self.length(i));
        let mut batches: Vec<Vec<usize>> = order.chunks(size.max(1)).map(<[usize]>::to_vec).collect();
        if let Some(seed) = seed {
            // A Fisher-Yates shuffle driven by a SplitMix64 stream: reproducible per seed.
            let mut state = seed;
            for i in (1..batches.len()).rev() {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                batches.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
            }
        }
        batches
    }

    /// The padded batch of sentences `indices` (each at least one word long).
    pub fn batch(&self, indices: &[usize], device: &Arc<dyn Device>) -> Result<NerBatch> {
        let n = indices.len();
        let steps = indices.iter().map(|&i| self.length(i)).max().unwrap_or(0);
        let letters = indices.iter().flat_map(|&i| self.chars[i].iter().map(Vec::len)).max().unwrap_or(0).max(1);
        let mut words = vec![PAD as i64; n * steps];
        let mut tags = vec![IGNORE; n * steps];
        let mut chars = vec![PAD as i64; n * steps * letters];
        for (b, &i) in indices.iter().enumerate() {
            for t in 0..self.length(i) {
                words[b * steps + t] = self.words[i][t] as i64;
                tags[b * steps + t] = self.tags[i][t];
                for (c, &id) in self.chars[i][t].iter().enumerate() {
                    chars[(b * steps + t) * letters + c] = id as i64;
                }
            }
        }
        Ok(NerBatch {
            words: Tensor::from_vec(words, [n, steps], device)?,
            chars: Tensor::from_vec(chars, [n * steps, letters], device)?,
            tags: Tensor::from_vec(tags, [n, steps], device)?,
            lengths: indices.iter().map(|&i| self.length(i)).collect(),
        })
    }
}
