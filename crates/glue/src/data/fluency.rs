//! `austen-fluency`, a synthetic acceptability task in CoLA's form. Sentences of 6 to 30 tokens
//! are drawn from the Austen novels (seeded); half are kept as written (label `acceptable`),
//! the other half get one systematic corruption (label `unacceptable`):
//!
//! - **word swap**: two adjacent words trade places;
//! - **dropped function word**: one article, preposition, auxiliary or pronoun is removed
//!   (a swap when the sentence has none);
//! - **shuffled span**: three to five consecutive tokens are reversed.
//!
//! Originals and corruptions alike are the tokenizer's tokens joined by spaces, so spacing
//! gives nothing away. Each sentence's group is its novel and chapter, so the split keeps a
//! chapter whole; the task is synthetic and says so in the docs.

use std::path::Path;

use nlp::corpus::prose_sentences;
use nlp::tokenize::WordTokenizer;

use super::split::SplitMix;
use crate::error::Result;
use nn_layers::data::read_maybe_gz;
use nn_layers::data::records::utf8_text;

/// Function words the second corruption drops.
const FUNCTION_WORDS: [&str; 24] = [
    "the", "a", "an", "of", "to", "in", "and", "that", "was", "is", "for", "with", "as", "by", "be", "it", "at", "on",
    "her", "his", "had", "have", "not", "he",
];

/// A generated sentence: text, whether it is the original, and its group (`work/chapter`).
pub struct FluencyRow {
    /// Space-joined tokens.
    pub text: String,
    /// True for an untouched sentence.
    pub acceptable: bool,
    /// Novel and chapter.
    pub group: String,
}

fn is_word(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

/// One corrupted copy of `tokens` (always different from it).
pub fn corrupt(tokens: &[String], rng: &mut SplitMix) -> Vec<String> {
    let mut out = tokens.to_vec();
    let words: Vec<usize> = (0..tokens.len()).filter(|&i| is_word(&tokens[i])).collect();
    let kind = rng.below(3);
    if kind == 1 {
        let droppable: Vec<usize> =
            words.iter().copied().filter(|&i| FUNCTION_WORDS.contains(&tokens[i].to_lowercase().as_str())).collect();
        if !droppable.is_empty() {
            out.remove(droppable[rng.below(droppable.len())]);
            return out;
        }
    }
    if kind == 2 && tokens.len() >= 5 {
        let len = 3 + rng.below(3).min(tokens.len() - 3);
        let start = rng.below(tokens.len() - len + 1);
        out[start..start + len].reverse();
        if out != tokens {
            return out;
        }
    }
    // A swap of two adjacent, different words.
    let pairs: Vec<usize> =
        words.windows(2).filter(|w| w[1] == w[0] + 1 && tokens[w[0]] != tokens[w[1]]).map(|w| w[0]).collect();
    if let Some(&i) = pairs.get(rng.below(pairs.len().max(1))) {
        out.swap(i, i + 1);
    } else {
        out.reverse();
    }
    out
}

/// Draws `count` sentences of the Austen text at `path` and corrupts half of them.
pub fn fluency_rows(path: &Path, count: usize, seed: u64) -> Result<Vec<FluencyRow>> {
    let bytes = read_maybe_gz(path)?;
    let text = utf8_text(&bytes, path)?;
    let tokenizer = WordTokenizer { lowercase: false, ..WordTokenizer::default() };
    let (mut work, mut chapter) = (String::from("none"), 0usize);
    let mut candidates: Vec<(Vec<String>, String)> = Vec::new();
    for paragraph in text.split("\n\n") {
        let trimmed = paragraph.trim();
        if let Some(name) = trimmed.strip_prefix("<<<WORK ").and_then(|r| r.split(">>>").next()) {
            (work, chapter) = (name.to_string(), 0);
            continue;
        }
        if trimmed.starts_with("CHAPTER") || trimmed.starts_with("Chapter") {
            chapter += 1;
            continue;
        }
        for sentence in prose_sentences(trimmed, &tokenizer) {
            if (6..=30).contains(&sentence.len()) {
                candidates.push((sentence, format!("{work}/{chapter}")));
            }
        }
    }
    let mut rng = SplitMix(seed);
    // A partial Fisher-Yates shuffle picks the sample.
    let take = count.min(candidates.len());
    for i in 0..take {
        let j = i + rng.below(candidates.len() - i);
        candidates.swap(i, j);
    }
    Ok(candidates
        .into_iter()
        .take(take)
        .enumerate()
        .map(|(i, (tokens, group))| {
            let acceptable = i % 2 == 0;
            let tokens = if acceptable { tokens } else { corrupt(&tokens, &mut rng) };
            FluencyRow { text: tokens.join(" "), acceptable, group }
        })
        .collect())
}
