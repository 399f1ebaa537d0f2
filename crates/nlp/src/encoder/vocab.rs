//! The encoder's vocabulary with BERT's special tokens `[PAD] [UNK] [CLS] [SEP] [MASK]`, kept
//! as a `vocab.txt` of one token per line (id = line number, Hugging Face's layout), and the
//! single-sentence and sentence-pair input forms. Two ways to split text ([`Tokenization`]):
//! words of the word tokenizer (lower-cased, punctuation as tokens of its own), or WordPiece
//! subwords read exactly as Hugging Face's `BertTokenizer` reads a `vocab.txt` (cased or
//! lower-cased; see [`super::wordpiece`]).

use std::collections::HashMap;
use std::path::Path;

use nn_layers::checkpoint::write_atomically;

use super::EncodedInput;
use super::wordpiece::{self, Piece};
use super::wordpiece_train::train_wordpiece;
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

/// How a [`BertVocab`] splits text into tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tokenization {
    /// Tessera's word tokenizer, lower-cased: one token per word (the original encoder).
    #[default]
    Words,
    /// BERT's basic split then greedy longest-match-first WordPiece with `##` continuations
    /// (Hugging Face's `BertTokenizer`), lower-cased and accent-stripped when `lowercase`.
    WordPiece {
        /// Lower-case and strip accents first (an "uncased" vocabulary).
        lowercase: bool,
    },
}

/// Words and special tokens with their ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BertVocab {
    tokens: Vec<String>,
    index: HashMap<String, u32>,
    specials: [u32; 5],
    tokenizer: WordTokenizer,
    tokenization: Tokenization,
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
        Ok(BertVocab {
            tokens,
            index,
            specials,
            tokenizer: WordTokenizer::default(),
            tokenization: Tokenization::Words,
        })
    }

    /// A WordPiece vocabulary of at most `size` ids (specials included) learned from `texts` by
    /// BPE merges over the words of BERT's basic split (see [`super::wordpiece_train`]); words
    /// seen fewer than `min_count` times are left out.
    #[allow(clippy::expect_used, reason = "an invariant, not input: basic_split never yields a bracketed special")]
    pub fn train_wordpiece<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        size: usize,
        min_count: u64,
        lowercase: bool,
    ) -> BertVocab {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for text in texts {
            for word in wordpiece::basic_split(text, lowercase) {
                *counts.entry(word.text).or_default() += 1;
            }
        }
        let tokens = train_wordpiece(&counts, size.max(SPECIALS.len()), min_count, &SPECIALS);
        BertVocab::from_tokens(tokens)
            .expect("a trained vocabulary holds every special once")
            .with_tokenization(Tokenization::WordPiece { lowercase })
    }

    /// The same ids, splitting text as `tokenization` says (e.g. a Hugging Face `vocab.txt`
    /// loaded with [`BertVocab::load`], read as WordPiece).
    pub fn with_tokenization(mut self, tokenization: Tokenization) -> BertVocab {
        self.tokenization = tokenization;
        self
    }

    /// How it splits text.
    pub fn tokenization(&self) -> Tokenization {
        self.tokenization
    }

    /// The pieces of `text` with their character spans in `text` and the index of the word
    /// (of the basic split) each belongs to. With [`Tokenization::Words`] each word of the word
    /// tokenizer is one piece, its span found in `text` (a word the tokenizer rewrote, e.g. by
    /// lower-casing, is matched without case).
    pub fn pieces(&self, text: &str) -> Vec<Piece> {
        match self.tokenization {
            Tokenization::WordPiece { lowercase } => wordpiece::tokenize(text, lowercase, &self.index, self.unk_id()),
            Tokenization::Words => {
                let chars: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
                let mut from = 0;
                let mut pieces = Vec::new();
                for (w, word) in self.tokenizer.tokenize(text).into_iter().enumerate() {
                    let target: Vec<char> = word.chars().collect();
                    let at = (from..chars.len().saturating_sub(target.len() - 1))
                        .find(|&i| chars[i..i + target.len()] == target[..])
                        .unwrap_or(from);
                    let end = (at + target.len()).min(chars.len());
                    let id = self.id(&word).unwrap_or(self.unk_id());
                    pieces.push(Piece { id, start: at, end, word: w });
                    from = end;
                }
                pieces
            }
        }
    }

    /// The ids of one word given alone (WordPiece: all the pieces of its basic split; words:
    /// its id, or `[UNK]`). A word that normalises to nothing (e.g. a control character) gives
    /// `[UNK]`, so every word has at least one id.
    pub fn word_ids(&self, word: &str) -> Vec<u32> {
        let ids: Vec<u32> = match self.tokenization {
            Tokenization::WordPiece { .. } => self.pieces(word).into_iter().map(|p| p.id).collect(),
            Tokenization::Words => vec![self.id(word).unwrap_or(self.unk_id())],
        };
        if ids.is_empty() { vec![self.unk_id()] } else { ids }
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

    /// The ids of `text`: lower-cased words and punctuation (unknown words are `[UNK]`), or
    /// its WordPiece pieces.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        match self.tokenization {
            Tokenization::Words => self.ids(&self.tokenizer.tokenize(text)),
            Tokenization::WordPiece { .. } => self.pieces(text).into_iter().map(|p| p.id).collect(),
        }
    }

    /// The ids of words already split (unknown words are `[UNK]`; with WordPiece, each word's
    /// pieces, as [`BertVocab::word_ids`] gives them).
    pub fn ids<S: AsRef<str>>(&self, words: &[S]) -> Vec<u32> {
        match self.tokenization {
            Tokenization::Words => words.iter().map(|w| self.id(w.as_ref()).unwrap_or(self.unk_id())).collect(),
            Tokenization::WordPiece { .. } => words.iter().flat_map(|w| self.word_ids(w.as_ref())).collect(),
        }
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
