//! `tessera ngram train|ppl|score|next`: n-gram language models from corpora and ARPA files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nlp::corpus::{Lines, for_each_prose_sentence};
use nlp::ngram::{
    AddK, KneserNeyConfig, LanguageModel, NgramCounter, NgramCounts, Perplexity, estimate_discounts, katz, kneser_ney,
    read_arpa, write_arpa,
};
use nlp::tokenize::WordTokenizer;
use nn_layers::train::Progress;

use crate::error::CliError;
use crate::memory::memory_note;

/// How probabilities are smoothed.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Smoothing {
    /// Interpolated modified Kneser-Ney (KenLM's `lmplz`).
    Kn,
    /// Katz back-off with Good-Turing discounts.
    Katz,
    /// Add-k at the highest order (cannot be written as ARPA).
    AddK,
}

/// How corpus text becomes sentences.
#[derive(clap::Args, Debug, Clone)]
pub struct TextArgs {
    /// Treat input as prose: tokenize words (lower-cased) and cut sentences at . ! ? (the
    /// default is one sentence per line, tokens separated by spaces, as KenLM reads).
    #[arg(long)]
    pub prose: bool,
}

impl TextArgs {
    /// Calls `each` with every sentence of `path` as tokens.
    pub fn for_each_sentence(
        &self,
        path: &Path,
        mut each: impl FnMut(&[&str]) -> nlp::Result<()>,
    ) -> Result<(), CliError> {
        if self.prose {
            for_each_prose_sentence(path, &WordTokenizer::default(), |s| {
                each(&s.iter().map(String::as_str).collect::<Vec<_>>())
            })?;
        } else {
            Lines::open(path)?.for_each(|_, line| each(&line.split_whitespace().collect::<Vec<_>>()))?;
        }
        Ok(())
    }

    /// Splits one sentence given on the command line into tokens.
    pub fn tokens(&self, sentence: &str) -> Vec<String> {
        if self.prose {
            WordTokenizer::default().tokenize(sentence)
        } else {
            sentence.split_whitespace().map(str::to_string).collect()
        }
    }
}

/// Where a model comes from: an ARPA file, or corpora counted now.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// An ARPA model (plain or .gz) to load.
    #[arg(long, required_unless_present = "train")]
    pub model: Option<PathBuf>,
    /// Build the model in memory from this corpus instead (repeat for several).
    #[arg(long, conflicts_with = "model")]
    pub train: Vec<PathBuf>,
    /// N-gram order when building.
    #[arg(long, default_value_t = 3)]
    pub order: usize,
    /// Smoothing when building.
    #[arg(long, value_enum, default_value_t = Smoothing::Kn)]
    pub smoothing: Smoothing,
    /// The k of add-k smoothing.
    #[arg(long, default_value_t = 0.01)]
    pub k: f64,
    #[command(flatten)]
    pub text: TextArgs,
}

/// Options of `tessera ngram train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// Corpora (plain or .gz).
    #[arg(required = true)]
    pub corpora: Vec<PathBuf>,
    /// N-gram order.
    #[arg(long, default_value_t = 3)]
    pub order: usize,
    /// Smoothing (kn or katz; add-k has no ARPA form).
    #[arg(long, value_enum, default_value_t = Smoothing::Kn)]
    pub smoothing: Smoothing,
    /// Where to write the ARPA file (.gz to compress).
    #[arg(long, short)]
    pub output: PathBuf,
    #[command(flatten)]
    pub text: TextArgs,
}

/// Counts n-grams of `corpora` with a progress counter.
pub fn count(corpora: &[PathBuf], order: usize, text: &TextArgs) -> Result<NgramCounts, CliError> {
    let mut counter = NgramCounter::new(order)?;
    let progress = Progress::counter("counting", "sentences");
    for path in corpora {
        let mut pending = 0;
        text.for_each_sentence(path, |tokens| {
            counter.add_sentence(tokens.iter().copied())?;
            pending += 1;
            if pending == 4096 {
                progress.advance(pending);
                pending = 0;
            }
            Ok(())
        })?;
        progress.advance(pending);
    }
    progress.finish();
    Ok(counter.finish()?)
}

/// Builds a model of `order` from `counts` with `smoothing`.
fn build(counts: NgramCounts, smoothing: Smoothing, k: f64) -> Result<Box<dyn LanguageModel>, CliError> {
    Ok(match smoothing {
        Smoothing::Kn => Box::new(kneser_ney(counts, &KneserNeyConfig::default())?),
        Smoothing::Katz => Box::new(katz(counts)?),
        Smoothing::AddK => Box::new(AddK::new(counts, k)?),
    })
}

impl ModelArgs {
    /// Loads or builds the model.
    pub fn open(&self) -> Result<Box<dyn LanguageModel>, CliError> {
        match &self.model {
            Some(path) => Ok(Box::new(read_arpa(path)?)),
            None => build(count(&self.train, self.order, &self.text)?, self.smoothing, self.k),
        }
    }
}

/// `tessera ngram train`.
pub fn train(args: &TrainArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let counts = count(&args.corpora, args.order, &args.text)?;
    let counted = started.elapsed().as_secs_f64();
    println!("{} sentences, {} tokens, {} word types", counts.sentences, counts.tokens, counts.vocab().len());
    if args.smoothing == Smoothing::Kn {
        let config = KneserNeyConfig::default();
        for (n, d) in estimate_discounts(&counts, &config)?.iter().enumerate() {
            let fallback =
                if Some(*d) == config.discount_fallback { "  (fallback: counts-of-counts too sparse)" } else { "" };
            println!(
                "  {}-grams: {:>9}   discounts {:.4} {:.4} {:.4}{fallback}",
                n + 1,
                counts.distinct(n + 1),
                d.d1,
                d.d2,
                d.d3_plus
            );
        }
    }
    let model = match args.smoothing {
        Smoothing::Kn => kneser_ney(counts, &KneserNeyConfig::default())?,
        Smoothing::Katz => katz(counts)?,
        Smoothing::AddK => {
            return Err(CliError::Usage("add-k smoothing has no ARPA form; use `ngram ppl --train`".into()));
        }
    };
    let built = started.elapsed().as_secs_f64();
    write_arpa(&model, &args.output)?;
    println!(
        "counted in {counted:.2} s, estimated in {:.2} s, wrote {} in {:.2} s{}",
        built - counted,
        args.output.display(),
        started.elapsed().as_secs_f64() - built,
        memory_note()
    );
    Ok(())
}

/// Options of `tessera ngram ppl`.
#[derive(clap::Args, Debug, Clone)]
pub struct PplArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Text files to score (one sentence per line, or prose with --prose).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Perplexity of `model` over a file, sentence by sentence.
pub fn perplexity(model: &dyn LanguageModel, path: &Path, text: &TextArgs) -> Result<Perplexity, CliError> {
    let mut totals = Perplexity::default();
    text.for_each_sentence(path, |tokens| {
        totals.add(&model.score_tokens(tokens));
        Ok(())
    })?;
    Ok(totals)
}

/// `tessera ngram ppl`.
pub fn ppl(args: &PplArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let model = args.model.open()?;
    let loaded = started.elapsed().as_secs_f64();
    for path in &args.files {
        let totals = perplexity(model.as_ref(), path, &args.model.text)?;
        println!(
            "{}: perplexity {:.4}  ({} sentences, {} tokens incl. </s>, {} OOV, log10 prob {:.2})",
            path.display(),
            totals.perplexity(),
            totals.sentences,
            totals.tokens,
            totals.oovs,
            totals.log10_prob
        );
    }
    println!(
        "model ready in {loaded:.2} s, scored in {:.2} s{}",
        started.elapsed().as_secs_f64() - loaded,
        memory_note()
    );
    Ok(())
}

/// Options of `tessera ngram score`.
#[derive(clap::Args, Debug, Clone)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Sentences to score; with two or more they are also ranked by fluency.
    #[arg(required = true)]
    pub sentences: Vec<String>,
}

/// `tessera ngram score`.
pub fn score(args: &ScoreArgs) -> Result<(), CliError> {
    let model = args.model.open()?;
    let tokenized: Vec<String> = args.sentences.iter().map(|s| args.model.text.tokens(s).join(" ")).collect();
    let scores: Vec<_> = tokenized.iter().map(|s| model.score_sentence(s)).collect();
    crate::lm::print_scores(&tokenized, scores, |order| format!("{order}-gram"));
    Ok(())
}

/// Options of `tessera ngram next`.
#[derive(clap::Args, Debug, Clone)]
pub struct NextArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The words so far (the start of a sentence is implied).
    pub context: String,
    /// How many candidates to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

/// `tessera ngram next`.
pub fn next(args: &NextArgs) -> Result<(), CliError> {
    let model = args.model.open()?;
    let context = args.model.text.tokens(&args.context).join(" ");
    println!("after \"{context}\":");
    for (word, p) in model.next_words(&context, args.top) {
        println!("  {p:>8.5}  {word}");
    }
    Ok(())
}
