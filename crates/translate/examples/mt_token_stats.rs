//! How a model's vocabulary spells a parallel set: subwords per whitespace word on each side,
//! the share of words kept whole (one subword), and the share of subwords that are single
//! bytes. Used to compare an in-domain set with an out-of-domain one under one vocabulary
//! (e.g. the Ding vocabulary on LibreOffice help text, docs/translation.md).
//!
//! ```text
//! cargo run --release -p translate --example mt_token_stats -- TOKENIZER TSV SRC TGT
//! e.g. mt_token_stats models/ding-tf/tokenizer.json ../shared/data/mt/libreoffice-help-de-en/test.tsv.gz de en
//! ```

use std::error::Error;
use std::path::Path;

use translate::data::{Vocabulary, read_tsv};

/// The id of byte 0: the specials `<pad>` `<s>` `</s>` come first, then the 256 bytes.
const FIRST_BYTE: u32 = 3;

/// Counts for one side: words, subwords, words spelled as one subword, one-byte subwords.
#[derive(Default)]
struct Counts {
    words: usize,
    subwords: usize,
    whole: usize,
    bytes: usize,
}

fn count(vocab: &Vocabulary, sentences: &[&str]) -> Counts {
    let mut c = Counts::default();
    for sentence in sentences {
        // Words as the BPE pre-tokenizer sees them: a leading space belongs to the word.
        for (i, word) in sentence.split_whitespace().enumerate() {
            let spelled = if i == 0 { word.to_string() } else { format!(" {word}") };
            let ids = vocab.encode(&spelled);
            c.words += 1;
            c.subwords += ids.len();
            c.whole += usize::from(ids.len() == 1);
            c.bytes += ids.iter().filter(|&&id| (FIRST_BYTE..FIRST_BYTE + 256).contains(&id)).count();
        }
    }
    c
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tokenizer, tsv, src, tgt] = args.as_slice() else {
        return Err("usage: mt_token_stats TOKENIZER TSV SRC TGT".into());
    };
    let vocab = Vocabulary::load(Path::new(tokenizer))?;
    let pairs = read_tsv(Path::new(tsv), src, tgt)?;
    println!("{tsv}: {} pairs, vocabulary of {} ids", pairs.len(), vocab.size());
    for (side, sentences) in [
        (src, pairs.iter().map(|p| p.source.as_str()).collect::<Vec<_>>()),
        (tgt, pairs.iter().map(|p| p.target.as_str()).collect()),
    ] {
        let c = count(&vocab, &sentences);
        let words = c.words.max(1) as f64;
        println!(
            "{side}: {} words, {:.2} subwords/word, {:.1}% of words one subword, {:.1}% of subwords single bytes, \
             {:.1} subwords/sentence",
            c.words,
            c.subwords as f64 / words,
            100.0 * c.whole as f64 / words,
            100.0 * c.bytes as f64 / c.subwords.max(1) as f64,
            c.subwords as f64 / sentences.len().max(1) as f64
        );
    }
    Ok(())
}
