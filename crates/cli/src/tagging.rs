//! Taggers from folders and from users' data: the CoNLL column format (one token per line,
//! word and tag in whitespace-separated columns, a blank line between sentences), and a loaded
//! tagger that tags raw sentences.

use std::path::Path;
use std::sync::Arc;

use autograd::no_grad;
use nlp::corpus::{ConllLine, TaggedDocument};
use nlp::tag::{Tagger, TaggerConfig, TaggingData, TaggingVocab};
use nlp::tokenize::WordTokenizer;
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::Module;
use tensor_core::{ArgReduceOp, Device, TensorRng};

use crate::folder;
use crate::use_error::{Result, UseError};

/// Which columns of a CoNLL file hold the word and the tag (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConllColumns {
    /// Column of the word.
    pub word: usize,
    /// Column of the tag.
    pub tag: usize,
}

impl Default for ConllColumns {
    /// Word first, tag second (`The DT`), as in CoNLL-2000 and the Penn Treebank's exports.
    fn default() -> Self {
        ConllColumns { word: 0, tag: 1 }
    }
}

/// Reads a CoNLL file (plain or gzip): sentences of (word, tag), one document per
/// `-DOCSTART-` line (or one document if there is none). Lines starting with `#` are comments.
pub fn read_conll(path: &Path, columns: ConllColumns) -> Result<Vec<TaggedDocument>> {
    let needed = columns.word.max(columns.tag) + 1;
    let mut documents = Vec::new();
    for (n, lines) in nlp::corpus::read_conll_lines(path, true)?.into_iter().enumerate() {
        let mut document = TaggedDocument { id: format!("doc{n}"), genre: String::new(), sentences: Vec::new() };
        for sentence in lines {
            let mut tagged = Vec::with_capacity(sentence.len());
            for ConllLine { line, fields } in sentence {
                if fields.len() < needed {
                    let msg = format!(
                        "{} columns, but the word is column {} and the tag column {}",
                        fields.len(),
                        columns.word + 1,
                        columns.tag + 1
                    );
                    return Err(UseError::data(path, Some(line), msg));
                }
                tagged.push((fields[columns.word].clone(), fields[columns.tag].clone()));
            }
            document.sentences.push(tagged);
        }
        documents.push(document);
    }
    if documents.is_empty() {
        return Err(UseError::data(path, None, "no tagged sentences"));
    }
    Ok(documents)
}

/// A tag written so that `nlp`'s Brown simplification (lower case, `-tl`/`-hl`/`-nc` and `fw-`
/// dropped) leaves it unchanged: `x` and the tag's bytes in lower-case hex. The tagger's data
/// pipeline simplifies every tag; a CoNLL file's tags are kept exactly as written by passing
/// them through this and [`unprotect_tag`] around it.
pub fn protect_tag(tag: &str) -> String {
    let mut out = String::with_capacity(1 + 2 * tag.len());
    out.push('x');
    for b in tag.bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The tag [`protect_tag`] wrote, or `None` for text it did not write.
pub fn unprotect_tag(text: &str) -> Option<String> {
    let hex = text.strip_prefix('x')?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

/// A tag vocabulary in exactly the order of `labels`.
pub fn tags_in_order(labels: &[String]) -> Vocab {
    let n = labels.len() as u64;
    let config = VocabConfig { specials: vec![], unknown: None, ..VocabConfig::default() };
    Vocab::from_counts(labels.iter().enumerate().map(|(i, l)| (l.as_str(), n - i as u64)), &config)
}

/// A tagger loaded from its folder, with its vocabularies.
pub struct LoadedTagger {
    tagger: Tagger,
    vocab: TaggingVocab,
    labels: Vec<String>,
}

impl LoadedTagger {
    /// The tagger of `folder` with sizes `config` and tags `labels` (weights not loaded yet).
    pub fn load(folder: &Path, config: &TaggerConfig, labels: &[String], device: &Arc<dyn Device>) -> Result<Self> {
        let words = folder::load_vocab(folder, folder::VOCAB, &VocabConfig::default(), config.words)?;
        let suffixes = folder::load_vocab(folder, folder::SUFFIXES, &VocabConfig::default(), config.suffixes)?;
        let vocab = TaggingVocab { words, suffixes, tags: tags_in_order(labels) };
        let tagger = Tagger::new(config, &mut TensorRng::new(0), device)?;
        Ok(LoadedTagger { tagger, vocab, labels: labels.to_vec() })
    }

    /// The network, for loading weights.
    pub fn module(&self) -> &dyn Module {
        &self.tagger
    }

    /// Tags sentences: each is split by the word tokenizer (case kept), then tagged.
    pub fn tag(&self, texts: &[&str], device: &Arc<dyn Device>) -> Result<Vec<Vec<(String, String)>>> {
        let tokenizer = WordTokenizer { lowercase: false, words_only: false };
        let tokens: Vec<Vec<String>> = texts.iter().map(|t| tokenizer.tokenize(t)).collect();
        self.tag_tokens(&tokens, device)
    }

    /// Tags sentences already split into tokens.
    pub fn tag_tokens(
        &self,
        sentences: &[Vec<String>],
        device: &Arc<dyn Device>,
    ) -> Result<Vec<Vec<(String, String)>>> {
        let mut out: Vec<Vec<(String, String)>> = vec![Vec::new(); sentences.len()];
        let filled: Vec<usize> = (0..sentences.len()).filter(|&i| !sentences[i].is_empty()).collect();
        for chunk in filled.chunks(crate::pipeline::BATCH) {
            let document = TaggedDocument {
                id: String::new(),
                genre: String::new(),
                sentences: chunk
                    .iter()
                    .map(|&i| sentences[i].iter().map(|w| (w.clone(), String::new())).collect())
                    .collect(),
            };
            let data = TaggingData::encode(&[document], &self.vocab);
            let batch = data.batch(&(0..chunk.len()).collect::<Vec<_>>(), device)?;
            let logits = no_grad(|| self.tagger.logits(&batch))?.value();
            let longest = logits.dims()[1];
            let best = logits.try_arg_reduce(ArgReduceOp::ArgMax, -1, false)?.to_vec::<i64>()?;
            for (row, &i) in chunk.iter().enumerate() {
                out[i] = sentences[i]
                    .iter()
                    .enumerate()
                    .map(|(t, w)| {
                        (
                            w.clone(),
                            self.labels.get(best[row * longest + t] as usize).map_or("?", String::as_str).to_string(),
                        )
                    })
                    .collect();
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conll_sentences_documents_and_tags_as_written() {
        let path = std::env::temp_dir().join(format!("tessera-conll-{}.txt", std::process::id()));
        std::fs::write(&path, "-DOCSTART- O\n\nEU B-ORG\nrejects O\n\n# a comment\nPeter B-PER\n-DOCSTART- O\nHi O\n")
            .unwrap();
        let docs = read_conll(&path, ConllColumns::default()).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].sentences.len(), 2);
        assert_eq!(docs[0].sentences[0][0], ("EU".to_string(), "B-ORG".to_string()));
        assert_eq!(docs[1].sentences, [vec![("Hi".to_string(), "O".to_string())]]);
        std::fs::write(&path, "EU\n").unwrap();
        let error = read_conll(&path, ConllColumns::default()).unwrap_err().to_string();
        assert_eq!(error, format!("{}:1: 1 columns, but the word is column 1 and the tag column 2", path.display()));
        std::fs::remove_file(&path).unwrap();

        for tag in ["NN-TL", "fw-in", "B-PER", "np$", "ÄÖ"] {
            let protected = protect_tag(tag);
            assert_eq!(nlp::corpus::simplify_brown_tag(&protected), protected);
            assert_eq!(unprotect_tag(&protected).as_deref(), Some(tag));
        }
        assert_eq!(unprotect_tag("nn"), None);
    }
}
