//! The demo's language-model stage: n-gram models of Jane Austen's novels (shipped in
//! `data/austen`), a held-out novel's perplexity under each smoothing method, next-word
//! prediction, fluency ranking, and a byte-level BPE tokenizer trained on the same prose.

use nlp::corpus::{prose_sentences, read_text, text_prefix};
use nlp::ngram::{AddK, KneserNeyConfig, LanguageModel, NgramCounter, NgramCounts, Perplexity, katz, kneser_ney};
use nlp::tokenize::{BpeTrainer, WordTokenizer};

use crate::error::CliError;

/// The novels of the Austen file, each as (name, sentences of tokens).
pub(crate) type Works = Vec<(String, Vec<Vec<String>>)>;

/// Splits the shipped Austen file at its `<<<WORK name>>>` markers and cuts each novel into
/// sentences of lower-cased tokens.
pub(crate) fn austen_works(text: &str) -> Works {
    let tokenizer = WordTokenizer::default();
    let mut works: Works = Vec::new();
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, works: &mut Works| {
        if let Some((_, sentences)) = works.last_mut() {
            sentences.extend(prose_sentences(paragraph, &tokenizer));
        }
        paragraph.clear();
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("<<<WORK ").and_then(|l| l.strip_suffix(">>>")) {
            flush(&mut paragraph, &mut works);
            works.push((name.to_string(), Vec::new()));
        } else if line.trim().is_empty() {
            flush(&mut paragraph, &mut works);
        } else {
            paragraph.push_str(line);
            paragraph.push('\n');
        }
    }
    flush(&mut paragraph, &mut works);
    works
}

fn count(sentences: &[&Vec<String>], order: usize) -> Result<NgramCounts, CliError> {
    let mut counter = NgramCounter::new(order)?;
    for sentence in sentences {
        counter.add_sentence(sentence.iter().map(String::as_str))?;
    }
    Ok(counter.finish()?)
}

fn perplexity(model: &dyn LanguageModel, sentences: &[Vec<String>]) -> Perplexity {
    let mut totals = Perplexity::default();
    for sentence in sentences {
        totals.add(&model.score_tokens(&sentence.iter().map(String::as_str).collect::<Vec<_>>()));
    }
    totals
}

/// Runs the stage.
pub fn demo() -> Result<(), CliError> {
    let text = read_text(&tessera::builtin::file("austen/austen_novels.txt.gz")?)?;
    let works = austen_works(&text);
    let (held_out, training): (Vec<_>, Vec<_>) = works.iter().partition(|(name, _)| name == "persuasion");
    let test = &held_out.first().ok_or_else(|| CliError::Check("Persuasion is missing from the Austen file".into()))?.1;
    let train: Vec<&Vec<String>> = training.iter().flat_map(|(_, s)| s).collect();
    let tokens: usize = train.iter().map(|s| s.len() + 1).sum();
    println!(
        "   trained on {} novels ({} sentences, {tokens} tokens), tested on Persuasion ({} sentences)",
        training.len(),
        train.len(),
        test.len()
    );
    let mut models: Vec<(String, Box<dyn LanguageModel>)> = vec![
        ("add-0.01 3-gram".into(), Box::new(AddK::new(count(&train, 3)?, 0.01)?)),
        ("Katz 3-gram".into(), Box::new(katz(count(&train, 3)?)?)),
    ];
    for order in 2..=4 {
        models.push((
            format!("Kneser-Ney {order}-gram"),
            Box::new(kneser_ney(count(&train, order)?, &KneserNeyConfig::default())?),
        ));
    }
    let mut perplexities = Vec::new();
    for (name, model) in &models {
        let totals = perplexity(model.as_ref(), test);
        println!("   {name:<20} held-out perplexity {:>8.2}  ({} OOV tokens)", totals.perplexity(), totals.oovs);
        perplexities.push(totals.perplexity());
    }
    let model = &models[3].1;
    for context in ["i am", "she could not"] {
        let next: Vec<String> = model.next_words(context, 5).iter().map(|(w, p)| format!("{w} {p:.3}")).collect();
        println!("   after \"{context}\": {}", next.join(", "));
    }
    let fluent = "she was very much pleased with the letter .";
    let scrambled = "letter the with pleased much very was she .";
    let ranked = model.rank_by_fluency(&[scrambled, fluent]);
    for (i, scored) in &ranked {
        println!("   fluency {:>8.4}  {}", scored.fluency(), [scrambled, fluent][*i]);
    }
    let trainer = BpeTrainer { vocab_size: 1000, ..BpeTrainer::default() };
    let sample = text_prefix(&text, 1 << 20);
    let bpe = trainer.train([sample])?;
    let line = "Anne Elliot's heart was in a glow.";
    let ids = bpe.encode(line);
    println!(
        "   BPE ({} tokens, trained on 1 MB): {:?} -> {} ids, {:.2} bytes per token on the sample",
        bpe.vocab_size(),
        bpe.encode_to_tokens(line),
        ids.len(),
        sample.len() as f64 / bpe.encode(sample).len() as f64
    );
    if bpe.decode(&ids)? != line {
        return Err(CliError::Check("BPE did not round-trip the example".into()));
    }
    if ranked[0].0 != 1 {
        return Err(CliError::Check("the scrambled sentence ranked above the fluent one".into()));
    }
    if perplexities[3] >= perplexities[1] || perplexities[1] >= perplexities[0] {
        return Err(CliError::Check(format!("expected Kneser-Ney < Katz < add-k perplexity, got {perplexities:?}")));
    }
    Ok(())
}
