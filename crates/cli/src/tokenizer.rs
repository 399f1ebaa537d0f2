//! `tessera tokenizer train|encode|decode`: byte-level BPE tokenizers in the Hugging Face
//! `tokenizer.json` layout.

use std::path::PathBuf;
use std::time::Instant;

use nlp::corpus::{read_text, text_prefix};
use nlp::tokenize::{BpeTokenizer, BpeTrainer};

use crate::error::CliError;

/// Options of `tessera tokenizer train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training text files (plain or .gz).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Vocabulary size: special tokens + 256 bytes + merges.
    #[arg(long, default_value_t = 8000)]
    pub vocab_size: usize,
    /// Pairs seen fewer times are not merged.
    #[arg(long, default_value_t = 2)]
    pub min_frequency: u64,
    /// Special tokens (repeat the flag for several).
    #[arg(long = "special", default_values_t = vec!["<|endoftext|>".to_string()])]
    pub specials: Vec<String>,
    /// Where to write `tokenizer.json`.
    #[arg(long, short)]
    pub output: PathBuf,
}

/// `tessera tokenizer train`.
pub fn train(args: &TrainArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let trainer = BpeTrainer {
        vocab_size: args.vocab_size,
        min_frequency: args.min_frequency,
        special_tokens: args.specials.clone(),
    };
    let paths: Vec<&std::path::Path> = args.files.iter().map(PathBuf::as_path).collect();
    let tokenizer = trainer.train_files(&paths)?;
    let trained = started.elapsed().as_secs_f64();
    tokenizer.save(&args.output)?;
    let sample = read_text(&args.files[0])?;
    let sample = text_prefix(&sample, 1 << 20);
    let tokens = tokenizer.encode(sample).len();
    println!(
        "{} tokens ({} merges) trained in {trained:.2} s; {:.2} bytes per token on the first MB of {}; wrote {}",
        tokenizer.vocab_size(),
        tokenizer.merge_count(),
        sample.len() as f64 / tokens.max(1) as f64,
        args.files[0].display(),
        args.output.display()
    );
    Ok(())
}

/// Options of `tessera tokenizer encode`.
#[derive(clap::Args, Debug, Clone)]
pub struct EncodeArgs {
    /// The `tokenizer.json` to use.
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// Print the tokens' byte-level spellings instead of their ids.
    #[arg(long)]
    pub tokens: bool,
    /// The text to encode.
    pub text: String,
}

/// `tessera tokenizer encode`.
pub fn encode(args: &EncodeArgs) -> Result<(), CliError> {
    let tokenizer = BpeTokenizer::load(&args.tokenizer)?;
    let line: Vec<String> = if args.tokens {
        tokenizer.encode_to_tokens(&args.text).into_iter().map(str::to_string).collect()
    } else {
        tokenizer.encode(&args.text).iter().map(u32::to_string).collect()
    };
    println!("{}", line.join(" "));
    Ok(())
}

/// Options of `tessera tokenizer decode`.
#[derive(clap::Args, Debug, Clone)]
pub struct DecodeArgs {
    /// The `tokenizer.json` to use.
    #[arg(long)]
    pub tokenizer: PathBuf,
    /// Token ids.
    #[arg(required = true)]
    pub ids: Vec<u32>,
}

/// `tessera tokenizer decode`.
pub fn decode(args: &DecodeArgs) -> Result<(), CliError> {
    let tokenizer = BpeTokenizer::load(&args.tokenizer)?;
    println!("{}", tokenizer.decode(&args.ids)?);
    Ok(())
}
