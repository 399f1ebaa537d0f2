//! `tessera lm ppl|score|next|generate`: any language model from one path — a neural model
//! folder written by `tessera lm train`, or an n-gram ARPA file — and mixtures of two.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nlp::lm::{
    LanguageModel, Mixture, SentenceScore, encode_prompt, load_any_neural, load_model, rank_by_fluency, read_sentences,
};

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::ngram::TextArgs;

/// The `tessera lm` commands.
#[derive(clap::Subcommand)]
pub enum LmCommand {
    /// Train a language model (RNN, GRU, LSTM, GPT, or a BERT-style masked LM) into a model
    /// folder.
    Train(Box<crate::lm_train::TrainArgs>),
    /// Perplexity of text files (the end of every sentence predicted, `<unk>` an ordinary word).
    Ppl(PplArgs),
    /// Log-probability of sentences token by token, and their ranking by fluency.
    Score(ScoreArgs),
    /// The most probable next tokens after a context.
    Next(NextArgs),
    /// Write text after a prompt, token by token (greedy, temperature, top-k, top-p,
    /// repetition penalty, seeded).
    Generate(crate::lm_generate::GenerateArgs),
    /// One GPT training step on the simulated TPU (tpu-v1 and bf16-128): cycles per op, the
    /// array's utilisation and stalls, against the vector unit's element-wise work.
    TpuStep(crate::lm_tpu::TpuStepArgs),
}

/// Runs a `tessera lm` command.
pub fn run(command: LmCommand, job: &crate::job::Job) -> Result<(), CliError> {
    match command {
        LmCommand::Train(args) => crate::lm_train::train(&args, job),
        LmCommand::TpuStep(args) => crate::lm_tpu::run(&args),
        LmCommand::Ppl(args) => ppl(&args),
        LmCommand::Score(args) => score(&args),
        LmCommand::Next(args) => next(&args),
        LmCommand::Generate(args) => crate::lm_generate::generate_text(&args),
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
