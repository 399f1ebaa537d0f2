//! The encoder's vocabulary: words of the word tokenizer (lower-cased, punctuation as tokens of
//! its own) with BERT's special tokens `[PAD] [UNK] [CLS] [SEP] [MASK]`, kept as a `vocab.txt`
//! of one token per line (id = line number, Hugging Face's layout), and the single-sentence and
//! sentence-pair input forms.

use std::collections::HashMap;
use std::path::Path;

use nn_layers::checkpoint::write_atomically;

use super::EncodedInput;
use crate::corpus::read_text;
use crate::tokenize::WordTokenizer;
use crate::vocab::{Vocab, VocabConfig};
use crate::{NlpError, Result};

/// Padding after the end of a shorter input.
pub const PAD: &str = "[PAD]";
/// A word outside the vocabulary.
pub const UNK: &str = "[UNK]";
/// The first token of every input, whose state the [`super::Pooling::Cls`] output reads.
pub const CLS: &str = "[CLS]";
/// Ends each sentence of an input.
pub const SEP: &str = "[SEP]";
/// Stands for a hidden token in masked-LM training.
pub const MASK: &str = "[MASK]";

/// The five specials, in the order a built vocabulary gives them ids 0 to 4.
pub const SPECIALS: [&str; 5] = [PAD, UNK, CLS, SEP, MASK];

/// Words and special tokens with their ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BertVocab {
    tokens: Vec<String>,
    index: HashMap<String, u32>,
    specials: [u32; 5],
    tokenizer: WordTokenizer,
}

impl BertVocab {
    /// The specials first (ids 0 to 4), then the words of `texts` (as [`BertVocab::tokenize`]
    /// splits them) seen at least `min_count` times, most frequent first, at most `max_words` of
    /// them when given.
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>, min_count: u64, max_words: Option<usize>) -> BertVocab {
        let tokenizer = WordTokenizer::default();
        let words: Vec<String> = texts.into_iter().flat_map(|text| tokenizer.tokenize(text)).collect();
        BertVocab::from_words(words.iter().map(String::as_str), min_count, max_words)
    }

    /// [`BertVocab::build`] from words already split (e.g. the sentences of
    /// [`crate::corpus::prose_sentences`]).
    #[allow(clippy::expect_used, reason = "an invariant, not input: a built vocabulary holds every special once")]
    pub fn from_words<'a>(
        words: impl IntoIterator<Item = &'a str>,
        min_count: u64,
        max_words: Option<usize>,
    ) -> BertVocab {
        let config = VocabConfig {
            min_count,
            max_size: max_words,
            specials: SPECIALS.iter().map(|s| s.to_string()).collect(),
            unknown: Some(UNK.into()),
        };
        let vocab = Vocab::build(words, &config);
        let tokens = (0..vocab.len()).filter_map(|id| vocab.word(id).map(str::to_string)).collect();
        BertVocab::from_tokens(tokens).expect("a built vocabulary holds every special once")
    }

    /// A vocabulary of `tokens` in id order, which must hold each special once and no token
    /// twice.
    pub fn from_tokens(tokens: Vec<String>) -> Result<BertVocab> {
        let mut index = HashMap::with_capacity(tokens.len());
        for (id, token) in tokens.iter().enumerate() {
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(NlpError::Invalid(format!("token {id} ({token:?}) is empty or holds whitespace")));
            }
            if index.insert(token.clone(), id as u32).is_some() {
                return Err(NlpError::Invalid(format!("token `{token}` is listed twice")));
            }
        }
        let mut specials = [0u32; 5];
        for (slot, name) in specials.iter_mut().zip(SPECIALS) {
            *slot = *index
                .get(name)
                .ok_or_else(|| NlpError::Invalid(format!("the vocabulary lacks the special token {name}")))?;
        }
        Ok(BertVocab { tokens, index, specials, tokenizer: WordTokenizer::default() })
    }

    /// Writes one token per line, in id order, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, |out| self.tokens.iter().try_for_each(|t| writeln!(out, "{t}")))?;
        Ok(())
    }

    /// Reads a `vocab.txt` (one token per line; Hugging Face's BERT vocabularies load too, their
    /// `##` pieces as ordinary tokens). An error names the file and the line.
    pub fn load(path: &Path) -> Result<BertVocab> {
        let text = read_text(path)?;
        let tokens: Vec<String> = text.lines().map(|l| l.trim_end_matches('\r').to_string()).collect();
        let parse = |line: usize, msg: String| NlpError::Parse { path: path.to_path_buf(), line, msg };
        if let Some(at) = tokens.iter().position(|t| t.is_empty() || t.chars().any(char::is_whitespace)) {
            return Err(parse(at + 1, format!("expected one token, found {:?}", tokens[at])));
        }
        let mut seen = HashMap::new();
        for (at, token) in tokens.iter().enumerate() {
            if let Some(first) = seen.insert(token.as_str(), at) {
                return Err(parse(at + 1, format!("`{token}` is listed twice (first on line {})", first + 1)));
            }
        }
        BertVocab::from_tokens(tokens).map_err(|e| parse(0, e.to_string()))
    }

    /// Ids, specials included.
    pub fn size(&self) -> usize {
        self.tokens.len()
    }

    /// The token with id `id` (`[UNK]` past the end).
    pub fn token(&self, id: u32) -> &str {
        self.tokens.get(id as usize).map_or(UNK, String::as_str)
    }

    /// The id of `token`, if it has one.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// `[PAD]`'s id.
    pub fn pad_id(&self) -> u32 {
        self.specials[0]
    }

    /// `[UNK]`'s id.
    pub fn unk_id(&self) -> u32 {
        self.specials[1]
    }

    /// `[CLS]`'s id.
    pub fn cls_id(&self) -> u32 {
        self.specials[2]
    }

    /// `[SEP]`'s id.
    pub fn sep_id(&self) -> u32 {
        self.specials[3]
    }

    /// `[MASK]`'s id.
    pub fn mask_id(&self) -> u32 {
        self.specials[4]
    }

    /// Whether `id` is one of the five specials.
    pub fn is_special(&self, id: u32) -> bool {
        self.specials.contains(&id)
    }

    /// The word ids of `text` (lower-cased words and punctuation; unknown words are `[UNK]`).
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.ids(&self.tokenizer.tokenize(text))
    }

    /// The ids of words already split (unknown words are `[UNK]`).
    pub fn ids<S: AsRef<str>>(&self, words: &[S]) -> Vec<u32> {
        words.iter().map(|w| self.id(w.as_ref()).unwrap_or(self.unk_id())).collect()
    }

    /// `[CLS] a [SEP]`, all segment 0, `a` cut to fit `max_len` tokens (at least 3).
    pub fn single(&self, a: &[u32], max_len: usize) -> Result<EncodedInput> {
        if max_len < 3 {
            return Err(NlpError::Invalid(format!("an input needs room for [CLS], a token and [SEP]; max {max_len}")));
        }
        let a = &a[..a.len().min(max_len - 2)];
        let ids: Vec<u32> = [self.cls_id()].into_iter().chain(a.iter().copied()).chain([self.sep_id()]).collect();
        Ok(EncodedInput { segments: vec![0; ids.len()], ids })
    }

    /// `[CLS] a [SEP] b [SEP]`, segment 0 up to the first `[SEP]`, segment 1 after it; the longer
    /// of `a` and `b` is cut first (a token at a time) to fit `max_len` tokens (at least 5).
    pub fn pair(&self, a: &[u32], b: &[u32], max_len: usize) -> Result<EncodedInput> {
        if max_len < 5 {
            return Err(NlpError::Invalid(format!("a pair needs room for 3 specials and 2 tokens; max {max_len}")));
        }
        let (mut keep_a, mut keep_b) = (a.len(), b.len());
        while keep_a + keep_b > max_len - 3 {
            if keep_a > keep_b { keep_a -= 1 } else { keep_b -= 1 }
        }
        let mut ids = Vec::with_capacity(keep_a + keep_b + 3);
        ids.push(self.cls_id());
        ids.extend_from_slice(&a[..keep_a]);
        ids.push(self.sep_id());
        let first = ids.len();
        ids.extend_from_slice(&b[..keep_b]);
        ids.push(self.sep_id());
        let segments = (0..ids.len()).map(|i| u32::from(i >= first)).collect();
        Ok(EncodedInput { ids, segments })
    }

    /// [`BertVocab::single`] of `text`'s words.
    pub fn encode(&self, text: &str, max_len: usize) -> Result<EncodedInput> {
        self.single(&self.tokenize(text), max_len)
    }

    /// [`BertVocab::pair`] of the words of `a` and `b`.
    pub fn encode_pair(&self, a: &str, b: &str, max_len: usize) -> Result<EncodedInput> {
        self.pair(&self.tokenize(a), &self.tokenize(b), max_len)
    }
}
