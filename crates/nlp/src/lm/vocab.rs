//! How a language model reads text into token ids and writes ids back: the [`Vocabulary`]
//! trait, with a word vocabulary for neural models ([`WordVocab`], Mikolov's `<unk>`/`<eos>`
//! convention), byte-level BPE ids ([`BpeVocab`]), and the n-gram vocabulary.

use std::path::Path;

use crate::ngram::{NgramVocab, SENTENCE_END};
use crate::tokenize::BpeTokenizer;
use crate::vocab::{Vocab, VocabConfig};
use crate::{NlpError, Result};

/// One token of an encoded sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The id the model sees (the unknown token's for a word outside the vocabulary).
    pub id: u32,
    /// The token as written in the text.
    pub text: String,
    /// Whether the text is outside the vocabulary.
    pub oov: bool,
}

/// Text <-> token ids for one language model. Every sentence is followed by
/// [`Vocabulary::end_id`], which models predict like any other token.
pub trait Vocabulary {
    /// Number of ids: the width of the model's next-token distribution.
    fn size(&self) -> usize;

    /// The id of a token written as text, if the vocabulary has it.
    fn id(&self, token: &str) -> Option<u32>;

    /// The text of `id`, for display (empty when out of range).
    fn token(&self, id: u32) -> String;

    /// The end-of-sentence id, predicted after the last token of every sentence.
    fn end_id(&self) -> u32;

    /// The id words outside the vocabulary become, if the vocabulary has one.
    fn unknown_id(&self) -> Option<u32>;

    /// Whether a model can ever predict `id` (an n-gram model never predicts `<s>`).
    fn predictable(&self, id: u32) -> bool {
        (id as usize) < self.size()
    }

    /// The tokens of one sentence (no end token).
    fn encode(&self, sentence: &str) -> Vec<Token>;

    /// Ids back to text: words joined by spaces, or BPE bytes decoded (invalid UTF-8 replaced).
    fn decode(&self, ids: &[u32]) -> String;

    /// Whether text is read as it is, character by character, rather than as
    /// whitespace-separated tokens (so a prompt is not to be re-tokenized, and generated
    /// tokens join without spaces).
    fn raw_text(&self) -> bool {
        false
    }

    /// The ids of one sentence followed by the end id.
    fn encode_with_end(&self, sentence: &str) -> Vec<u32> {
        let mut ids: Vec<u32> = self.encode(sentence).iter().map(|t| t.id).collect();
        ids.push(self.end_id());
        ids
    }
}

/// Words of whitespace-separated text as `(id, text, oov)`.
fn encode_words(sentence: &str, id: impl Fn(&str) -> Option<u32>, unknown: u32) -> Vec<Token> {
    sentence
        .split_whitespace()
        .map(|w| {
            let found = id(w);
            Token { id: found.unwrap_or(unknown), text: w.to_string(), oov: found.is_none() }
        })
        .collect()
}

impl Vocabulary for NgramVocab {
    fn size(&self) -> usize {
        self.len()
    }

    fn id(&self, token: &str) -> Option<u32> {
        self.get(token)
    }

    fn token(&self, id: u32) -> String {
        if (id as usize) < self.len() { self.word(id).to_string() } else { String::new() }
    }

    fn end_id(&self) -> u32 {
        NgramVocab::END_ID
    }

    fn unknown_id(&self) -> Option<u32> {
        Some(NgramVocab::UNKNOWN_ID)
    }

    fn predictable(&self, id: u32) -> bool {
        id != NgramVocab::START_ID && (id as usize) < self.len()
    }

    fn encode(&self, sentence: &str) -> Vec<Token> {
        encode_words(sentence, |w| self.get(w), NgramVocab::UNKNOWN_ID)
    }

    fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&id| Vocabulary::token(self, id)).collect::<Vec<_>>().join(" ")
    }
}

/// The unknown-word token of a [`WordVocab`] (id 0), as in Mikolov's PTB files.
pub const WORD_UNKNOWN: &str = "<unk>";
/// The end-of-sentence token of a [`WordVocab`] (id 1), as in Mikolov's PTB reader.
pub const WORD_END: &str = "<eos>";

/// The word vocabulary of a neural language model: `<unk>` (id 0), `<eos>` (id 1), then the
/// kept words by descending count. On Penn Treebank, whose text already spells rare words
/// `<unk>`, it is the usual 10,000 ids.
#[derive(Clone, Debug)]
pub struct WordVocab {
    words: Vocab,
}

impl WordVocab {
    /// The words of `sentences` seen at least `min_count` times, at most `max_size` of them
    /// (the most frequent) besides the two specials.
    pub fn build<'a>(words: impl IntoIterator<Item = &'a str>, min_count: u64, max_size: Option<usize>) -> WordVocab {
        let config = VocabConfig {
            min_count,
            max_size,
            specials: vec![WORD_UNKNOWN.into(), WORD_END.into()],
            unknown: Some(WORD_UNKNOWN.into()),
        };
        WordVocab { words: Vocab::build(words, &config) }
    }

    /// Writes `word count` lines in id order, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.words.save_counts(path)
    }

    /// Reads a file written by [`WordVocab::save`]; it must start with `<unk>` and `<eos>`.
    pub fn load(path: &Path) -> Result<WordVocab> {
        let words = Vocab::load_counts(path)?;
        if words.word(0) != Some(WORD_UNKNOWN) || words.word(1) != Some(WORD_END) {
            return Err(NlpError::Parse {
                path: path.to_path_buf(),
                line: 1,
                msg: format!("a word vocabulary starts with `{WORD_UNKNOWN}` and `{WORD_END}` (ids 0 and 1)"),
            });
        }
        Ok(WordVocab { words })
    }
}

impl Vocabulary for WordVocab {
    fn size(&self) -> usize {
        self.words.len()
    }

    fn id(&self, token: &str) -> Option<u32> {
        self.words.id(token).map(|id| id as u32)
    }

    fn token(&self, id: u32) -> String {
        self.words.word(id as usize).unwrap_or_default().to_string()
    }

    fn end_id(&self) -> u32 {
        1
    }

    fn unknown_id(&self) -> Option<u32> {
        Some(0)
    }

    fn encode(&self, sentence: &str) -> Vec<Token> {
        // The n-gram spelling of the sentence end reads as ours.
        let id = |w: &str| if w == SENTENCE_END { Some(1) } else { self.id(w) };
        encode_words(sentence, id, 0)
    }

    fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&id| self.token(id)).collect::<Vec<_>>().join(" ")
    }
}

/// The special token that ends a sentence in a BPE vocabulary, GPT-2's.
pub const BPE_END: &str = "<|endoftext|>";

/// Byte-level BPE ids: no text is out of vocabulary; a sentence ends with a special token.
#[derive(Clone, Debug)]
pub struct BpeVocab {
    tokenizer: BpeTokenizer,
    end: u32,
}

impl BpeVocab {
    /// The vocabulary of `tokenizer`, whose special token `end` (e.g. [`BPE_END`]) ends
    /// sentences.
    pub fn new(tokenizer: BpeTokenizer, end: &str) -> Result<BpeVocab> {
        let end = tokenizer.token_id(end).ok_or_else(|| {
            NlpError::Invalid(format!("the BPE tokenizer has no `{end}` token to end sentences with"))
        })?;
        Ok(BpeVocab { tokenizer, end })
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &BpeTokenizer {
        &self.tokenizer
    }
}

impl Vocabulary for BpeVocab {
    fn size(&self) -> usize {
        self.tokenizer.vocab_size()
    }

    fn id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_id(token)
    }

    fn token(&self, id: u32) -> String {
        self.tokenizer.token(id).unwrap_or_default().to_string()
    }

    fn end_id(&self) -> u32 {
        self.end
    }

    fn unknown_id(&self) -> Option<u32> {
        None
    }

    fn encode(&self, sentence: &str) -> Vec<Token> {
        let ids = self.tokenizer.encode(sentence);
        ids.into_iter().map(|id| Token { id, text: self.token(id), oov: false }).collect()
    }

    fn decode(&self, ids: &[u32]) -> String {
        let bytes = self.tokenizer.decode_bytes(ids).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The unknown-character token of a [`CharVocab`]: U+FFFD, the replacement character.
pub const CHAR_UNKNOWN: char = '\u{FFFD}';

/// Characters as tokens (a character-level model, as nanoGPT's Shakespeare): the characters
/// of a text in code-point order, with the newline ending every line (the end id) and
/// [`CHAR_UNKNOWN`] standing for characters the text did not have. A file read line by line
/// is so exactly its characters again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharVocab {
    chars: Vec<char>,
    end: u32,
    unknown: u32,
}

impl CharVocab {
    /// The characters of `text`, plus the newline and the unknown character.
    #[allow(clippy::expect_used, reason = "an invariant, not input: the newline and the unknown character are present")]
    pub fn build(text: &str) -> CharVocab {
        let mut chars: Vec<char> = text.chars().chain(['\n', CHAR_UNKNOWN]).collect();
        chars.sort_unstable();
        chars.dedup();
        CharVocab::from_chars(chars).expect("the newline and the unknown character are present")
    }

    /// A vocabulary of exactly these characters (sorted, each once, newline and
    /// [`CHAR_UNKNOWN`] among them).
    pub fn from_chars(chars: Vec<char>) -> Result<CharVocab> {
        if chars.windows(2).any(|w| w[0] >= w[1]) {
            return Err(NlpError::Invalid("a character vocabulary lists each character once, in order".into()));
        }
        let find = |c: char| chars.binary_search(&c).ok().map(|i| i as u32);
        match (find('\n'), find(CHAR_UNKNOWN)) {
            (Some(end), Some(unknown)) => Ok(CharVocab { chars, end, unknown }),
            _ => Err(NlpError::Invalid("a character vocabulary needs the newline and U+FFFD".into())),
        }
    }

    /// The characters, in id order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// Writes the characters as a JSON list of one-character strings, atomically.
    #[allow(clippy::expect_used, reason = "an invariant, not input: strings serialise")]
    pub fn save(&self, path: &Path) -> Result<()> {
        let list: Vec<String> = self.chars.iter().map(char::to_string).collect();
        let text = serde_json::to_string(&list).expect("strings serialise");
        nn_layers::checkpoint::write_atomically(path, |out| out.write_all(text.as_bytes()))?;
        Ok(())
    }

    /// Reads a file written by [`CharVocab::save`].
    pub fn load(path: &Path) -> Result<CharVocab> {
        let bad = |msg: String| NlpError::Parse { path: path.to_path_buf(), line: 0, msg };
        let list: Vec<String> = serde_json::from_str(&crate::corpus::read_text(path)?)
            .map_err(|e| bad(format!("expected a JSON list of characters: {e}")))?;
        let mut chars = Vec::with_capacity(list.len());
        for item in &list {
            let mut it = item.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => chars.push(c),
                _ => return Err(bad(format!("`{item}` is not one character"))),
            }
        }
        CharVocab::from_chars(chars).map_err(|e| bad(e.to_string()))
    }
}

impl Vocabulary for CharVocab {
    fn size(&self) -> usize {
        self.chars.len()
    }

    fn id(&self, token: &str) -> Option<u32> {
        let mut it = token.chars();
        match (it.next(), it.next()) {
            (Some(c), None) => self.chars.binary_search(&c).ok().map(|i| i as u32),
            _ => None,
        }
    }

    fn token(&self, id: u32) -> String {
        self.chars.get(id as usize).map(char::to_string).unwrap_or_default()
    }

    fn end_id(&self) -> u32 {
        self.end
    }

    fn unknown_id(&self) -> Option<u32> {
        Some(self.unknown)
    }

    fn encode(&self, sentence: &str) -> Vec<Token> {
        sentence
            .chars()
            .map(|c| {
                let found = self.chars.binary_search(&c).ok().map(|i| i as u32);
                Token { id: found.unwrap_or(self.unknown), text: c.to_string(), oov: found.is_none() }
            })
            .collect()
    }

    fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&id| self.token(id)).collect()
    }

    fn raw_text(&self) -> bool {
        true
    }
}

/// The vocabulary of a neural model: words, BPE ids or characters.
#[derive(Clone, Debug)]
pub enum NeuralVocab {
    /// Whitespace-separated words with `<unk>` and `<eos>`.
    Words(WordVocab),
    /// Byte-level BPE ids (boxed: the tokenizer is large).
    Bpe(Box<BpeVocab>),
    /// Characters.
    Chars(CharVocab),
}

impl NeuralVocab {
    fn inner(&self) -> &dyn Vocabulary {
        match self {
            NeuralVocab::Words(v) => v,
            NeuralVocab::Bpe(v) => v.as_ref(),
            NeuralVocab::Chars(v) => v,
        }
    }
}

impl Vocabulary for NeuralVocab {
    fn size(&self) -> usize {
        self.inner().size()
    }

    fn id(&self, token: &str) -> Option<u32> {
        self.inner().id(token)
    }

    fn token(&self, id: u32) -> String {
        self.inner().token(id)
    }

    fn end_id(&self) -> u32 {
        self.inner().end_id()
    }

    fn unknown_id(&self) -> Option<u32> {
        self.inner().unknown_id()
    }

    fn encode(&self, sentence: &str) -> Vec<Token> {
        self.inner().encode(sentence)
    }

    fn decode(&self, ids: &[u32]) -> String {
        self.inner().decode(ids)
    }

    fn raw_text(&self) -> bool {
        self.inner().raw_text()
    }
}
