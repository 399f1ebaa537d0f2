//! Language models of Jane Austen's novels (shipped in `data/austen`): a Kneser-Ney trigram
//! model trained on five novels scores the sixth, ranks sentences by fluency and predicts next
//! words; a byte-level BPE tokenizer learns merges from the same prose.
//!
//! Run with `cargo run -p nlp --example austen_lm`.

use std::path::Path;

use nlp::Result;
use nlp::corpus::{prose_sentences, read_text, text_prefix};
use nlp::ngram::{KneserNeyConfig, LanguageModel, NgramCounter, Perplexity, kneser_ney};
use nlp::tokenize::{BpeTrainer, WordTokenizer};

fn main() -> Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/austen/austen_novels.txt.gz");
    let text = read_text(&path)?;
    // Novels start at `<<<WORK name>>>` lines; Persuasion, the last, is held out.
    let (training, held_out) = text.split_once("<<<WORK persuasion>>>").expect("the file holds Persuasion");
    let tokenizer = WordTokenizer::default();
    let sentences = |prose: &str| -> Vec<Vec<String>> {
        let paragraphs = prose.split("\n\n").filter(|p| !p.trim().is_empty() && !p.starts_with("<<<WORK"));
        let lower = paragraphs.map(|p| p.to_lowercase());
        lower.flat_map(|p| prose_sentences(&p, &tokenizer)).collect()
    };
    let (train, test) = (sentences(training), sentences(held_out));

    let mut counter = NgramCounter::new(3)?;
    for sentence in &train {
        counter.add_sentence(sentence.iter().map(String::as_str))?;
    }
    let model = kneser_ney(counter.finish()?, &KneserNeyConfig::default())?;
    let mut totals = Perplexity::default();
    for sentence in &test {
        totals.add(&model.score_tokens(&sentence.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    println!("Kneser-Ney trigram on {} sentences; {} vocabulary words", train.len(), model.vocab().len());
    println!("held-out Persuasion: perplexity {:.1} over {} tokens", totals.perplexity(), totals.tokens);

    let fluent = "she was very much pleased with the letter .";
    let scrambled = "letter the with pleased much very was she .";
    for (i, scored) in model.rank_by_fluency(&[scrambled, fluent]) {
        println!("  fluency {:>7.3} (log10 p per token)  {}", scored.fluency(), [scrambled, fluent][i]);
    }
    for context in ["i am", "she could not"] {
        let next: Vec<String> = model.next_words(context, 4).iter().map(|(w, p)| format!("{w} ({p:.3})")).collect();
        println!("  after \"{context}\": {}", next.join(", "));
    }
    assert!(model.score_sentence(fluent).fluency() > model.score_sentence(scrambled).fluency());
    assert!(totals.perplexity() > 1.0 && totals.perplexity() < 1000.0);

    // Byte-level BPE (GPT-2's scheme): 256 byte tokens, then merges of frequent pairs.
    let sample = text_prefix(&text, 256 << 10);
    let bpe = BpeTrainer { vocab_size: 600, ..BpeTrainer::default() }.train([sample])?;
    let line = "Anne Elliot's heart was in a glow.";
    let ids = bpe.encode(line);
    println!("BPE with {} tokens: {:?}", bpe.vocab_size(), bpe.encode_to_tokens(line));
    println!("  {} bytes -> {} ids; decodes back exactly", line.len(), ids.len());
    assert_eq!(bpe.decode(&ids)?, line);
    assert!(ids.len() < line.len());
    Ok(())
}
