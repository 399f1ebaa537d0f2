//! `tessera lm ppl|score|next|generate`: any language model from one path — a neural model
//! folder written by `tessera lm train`, or an n-gram ARPA file — and mixtures of two.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nlp::lm::{
    GenerateConfig, LanguageModel, Mixture, SentenceScore, encode_prompt, generate, load_any_neural, load_model,
    rank_by_fluency, read_sentences,
};
use tensor_core::TensorRng;

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::ngram::TextArgs;

/// The `tessera lm` commands.
#[derive(clap::Subcommand)]
pub enum LmCommand {
    /// Train a language model (RNN, GRU, LSTM or GPT) into a model folder.
    Train(Box<crate::lm_train::TrainArgs>),
    /// Perplexity of text files (the end of every sentence predicted, `<unk>` an ordinary word).
    Ppl(PplArgs),
    /// Log-probability of sentences token by token, and their ranking by fluency.
    Score(ScoreArgs),
    /// The most probable next tokens after a context.
    Next(NextArgs),
    /// Write text after a prompt, token by token.
    Generate(GenerateArgs),
}

/// Runs a `tessera lm` command.
pub fn run(command: LmCommand) -> Result<(), CliError> {
    match command {
        LmCommand::Train(args) => crate::lm_train::train(&args),
        LmCommand::Ppl(args) => ppl(&args),
        LmCommand::Score(args) => score(&args),
        LmCommand::Next(args) => next(&args),
        LmCommand::Generate(args) => generate_text(&args),
    }
}

/// Which model to load, and how to read text.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// A model folder (from `tessera lm train`) or an n-gram ARPA file (plain or .gz).
    #[arg(long)]
    pub model: PathBuf,
    /// Mix with this second model (folder or ARPA file): p = w p_model + (1 - w) p_mix.
    #[arg(long)]
    pub mix: Option<PathBuf>,
    /// The mixture weight w of --model (default: fitted on --fit-on).
    #[arg(long, requires = "mix")]
    pub weight: Option<f64>,
    /// Text (one sentence per line) on which to fit the mixture weight by EM.
    #[arg(long, requires = "mix")]
    pub fit_on: Option<PathBuf>,
    /// Device for neural models.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Parallel streams when a neural model scores a file (1 reads it as one stream, the
    /// convention of published test perplexities; more is faster).
    #[arg(long, default_value_t = 1)]
    pub streams: usize,
    #[command(flatten)]
    pub text: TextArgs,
}

impl ModelArgs {
    fn open_one(&self, path: &Path) -> Result<Box<dyn LanguageModel>, CliError> {
        let device = self.device.open()?;
        if path.is_dir() {
            return Ok(load_any_neural(path, &device, self.streams)?);
        }
        Ok(load_model(path, &device)?)
    }

    /// Loads the model, or the mixture of two.
    pub fn open(&self) -> Result<Box<dyn LanguageModel>, CliError> {
        let first = self.open_one(&self.model)?;
        let Some(second_path) = &self.mix else { return Ok(first) };
        let second = self.open_one(second_path)?;
        let mixture = match (self.weight, &self.fit_on) {
            (Some(weight), _) => Mixture::new(first, second, weight)?,
            (None, Some(path)) => {
                let lines = self.sentences(path)?;
                Mixture::fit(first, second, &lines.iter().map(String::as_str).collect::<Vec<_>>())?
            }
            (None, None) => return Err(CliError::Usage("--mix needs --weight or --fit-on".into())),
        };
        println!("{}", mixture.describe());
        Ok(Box::new(mixture))
    }

    /// The sentences of a file as space-separated tokens (tokenized first with --prose).
    pub fn sentences(&self, path: &Path) -> Result<Vec<String>, CliError> {
        read_text_sentences(path, &self.text)
    }
}

/// The sentences of `path` as space-separated tokens: one per line, or prose cut into sentences
/// with `--prose`. A file without text is an error naming it.
pub fn read_text_sentences(path: &Path, text: &TextArgs) -> Result<Vec<String>, CliError> {
    if !text.prose {
        return Ok(read_sentences(path)?);
    }
    let mut sentences = Vec::new();
    text.for_each_sentence(path, |tokens| {
        sentences.push(tokens.join(" "));
        Ok(())
    })?;
    if sentences.is_empty() {
        return Err(
            nlp::NlpError::Parse { path: path.to_path_buf(), line: 0, msg: "the file has no text".into() }.into()
        );
    }
    Ok(sentences)
}

/// Options of `tessera lm ppl`.
#[derive(clap::Args, Debug, Clone)]
pub struct PplArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Text files to score (one sentence per line, or prose with --prose).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// `tessera lm ppl`.
pub fn ppl(args: &PplArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let model = args.model.open()?;
    let loaded = started.elapsed().as_secs_f64();
    println!("{}", model.describe());
    for path in &args.files {
        let scoring = Instant::now();
        let sentences = args.model.sentences(path)?;
        let totals = model.perplexity(&sentences.iter().map(String::as_str).collect::<Vec<_>>())?;
        let seconds = scoring.elapsed().as_secs_f64();
        println!(
            "{}: perplexity {:.4}  ({} sentences, {} tokens incl. sentence ends, {} OOV; {:.1} s, {:.0} tokens/s)",
            path.display(),
            totals.perplexity(),
            totals.sentences,
            totals.tokens,
            totals.oovs,
            seconds,
            totals.tokens as f64 / seconds.max(1e-9)
        );
    }
    println!("model ready in {loaded:.2} s");
    Ok(())
}

/// Options of `tessera lm score`.
#[derive(clap::Args, Debug, Clone)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Sentences to score; with two or more they are also ranked by fluency.
    #[arg(required = true)]
    pub sentences: Vec<String>,
}

/// `tessera lm score`.
pub fn score(args: &ScoreArgs) -> Result<(), CliError> {
    let model = args.model.open()?;
    let tokenized: Vec<String> = args.sentences.iter().map(|s| args.model.text.tokens(s).join(" ")).collect();
    let scores = tokenized.iter().map(|s| model.score_sentence(s)).collect::<Result<Vec<_>, _>>()?;
    print_scores(&tokenized, scores, |order| format!("history {}", order - 1));
    Ok(())
}

/// Prints each sentence's tokens with their log10 probability and how much history each used
/// (`history` names it), the sentence's totals, and with several sentences their ranking by
/// fluency.
pub fn print_scores(sentences: &[String], scores: Vec<SentenceScore>, history: impl Fn(usize) -> String) {
    for (sentence, scored) in sentences.iter().zip(&scores) {
        println!("{sentence}");
        for t in &scored.tokens {
            let oov = if t.oov { "  (OOV)" } else { "" };
            println!("  {:<16} log10 p {:>8.4}  {}{oov}", t.token, t.score.log10_prob, history(t.score.order_used));
        }
        println!(
            "  total log10 p {:.4}, perplexity {:.2}, fluency {:.4}",
            scored.log10_prob,
            scored.perplexity(),
            scored.fluency()
        );
    }
    if sentences.len() > 1 {
        println!("most fluent first (mean log10 p per token):");
        for (rank, (i, scored)) in rank_by_fluency(scores).iter().enumerate() {
            println!("  {}. {:>8.4}  {}", rank + 1, scored.fluency(), sentences[*i]);
        }
    }
}

/// Options of `tessera lm next`.
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

/// `tessera lm next`.
pub fn next(args: &NextArgs) -> Result<(), CliError> {
    let model = args.model.open()?;
    let context = args.model.text.tokens(&args.context).join(" ");
    encode_prompt(model.vocabulary(), &context)?;
    println!("after \"{context}\":");
    for (token, p) in model.top_next(&context, args.top)? {
        println!("  {p:>8.5}  {token}");
    }
    Ok(())
}

/// Options of `tessera lm generate`.
#[derive(clap::Args, Debug, Clone)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The text to continue (the start of a sentence; may be empty).
    #[arg(long, default_value = "")]
    pub prompt: String,
    /// Tokens to generate at most.
    #[arg(long, default_value_t = 50)]
    pub max_tokens: usize,
    /// Keep going after the end of a sentence (a new line starts) until --max-tokens.
    #[arg(long)]
    pub keep_going: bool,
    /// Softmax temperature; 0 is greedy decoding.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Seed of the sampling (the same seed writes the same text).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Sampling from `softmax(log_probs / temperature)` with a seeded generator; the most probable
/// token at temperature 0. This is the minimal chooser; the full sampler (top-k, top-p,
/// repetition penalty) comes from `nlp::lm::sampling` and the lead wires it in here when
/// merging it.
pub fn temperature_chooser(temperature: f64, seed: u64) -> impl FnMut(&[f32], &[u32]) -> u32 {
    let mut rng = TensorRng::new(seed);
    move |log_probs: &[f32], history: &[u32]| {
        if temperature <= 0.0 {
            return nlp::lm::greedy(log_probs, history);
        }
        let high = log_probs.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let weights: Vec<f64> = log_probs.iter().map(|&lp| ((lp as f64 - high) / temperature).exp()).collect();
        let mut target = rng.next_f64() * weights.iter().sum::<f64>();
        for (id, w) in weights.iter().enumerate() {
            target -= w;
            if target < 0.0 {
                return id as u32;
            }
        }
        nlp::lm::greedy(log_probs, history)
    }
}

/// `tessera lm generate`: tokens are printed as they are produced.
pub fn generate_text(args: &GenerateArgs) -> Result<(), CliError> {
    let model = args.model.open()?;
    let vocab = model.vocabulary();
    let prompt_text =
        if vocab.raw_text() { args.prompt.clone() } else { args.model.text.tokens(&args.prompt).join(" ") };
    let prompt = encode_prompt(vocab, &prompt_text)?;
    let end = vocab.end_id();
    let config = GenerateConfig { max_tokens: args.max_tokens, stop: (!args.keep_going).then_some(end) };
    let mut out = std::io::stdout().lock();
    let write_error = |e: std::io::Error| CliError::Usage(format!("cannot write to stdout: {e}"));
    write!(out, "{prompt_text}").map_err(write_error)?;
    // Words print with a space between them; BPE tokens carry their own spaces. A token that
    // ends inside a UTF-8 character waits for the next.
    let words = vocab.unknown_id().is_some() && !vocab.raw_text();
    let mut after_prompt = !prompt_text.is_empty();
    let (mut line, mut printed) = (Vec::new(), 0usize);
    let started = Instant::now();
    let mut first_token = None;
    let generated =
        generate(model.as_ref(), &prompt, &config, &mut temperature_chooser(args.temperature, args.seed), &mut |id| {
            first_token.get_or_insert_with(|| started.elapsed().as_secs_f64());
            let piece = if id == end {
                line.clear();
                (printed, after_prompt) = (0, false);
                "\n".to_string()
            } else {
                line.push(id);
                let text = vocab.decode(&line);
                if text.ends_with('\u{FFFD}') {
                    String::new()
                } else {
                    let sep = if words && after_prompt && printed == 0 { " " } else { "" };
                    let new = format!("{sep}{}", text.get(printed..).unwrap_or(""));
                    printed = text.len();
                    new
                }
            };
            write!(out, "{piece}")
                .and_then(|()| out.flush())
                .map_err(|e| nlp::NlpError::Invalid(format!("stdout: {e}")))
        })?;
    if generated.last() != Some(&end) {
        writeln!(out).map_err(write_error)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} tokens in {seconds:.2} s: {:.1} ms per token (first token after {:.1} ms, prompt of {} tokens included)",
        generated.len(),
        1e3 * seconds / generated.len().max(1) as f64,
        1e3 * first_token.unwrap_or(0.0),
        prompt.len()
    );
    Ok(())
}
