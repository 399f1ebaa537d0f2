//! `tessera lm generate`: text after a prompt from any language model (a neural folder, an
//! ARPA file, a mixture), each token chosen by `nlp::lm::sampling::Sampler` (greedy,
//! temperature, top-k, top-p, repetition penalty, seeded) and printed as soon as it is chosen,
//! then a one-line latency summary on stderr.

use std::io::Write;
use std::time::Instant;

use nlp::lm::sampling::{Sampler, SamplingConfig};
use nlp::lm::{GenerateConfig, Vocabulary, encode_prompt, generate};

use crate::error::CliError;
use crate::lm::ModelArgs;

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
    /// Stop after this token (as the vocabulary spells it) instead of the end of the sentence.
    #[arg(long, conflicts_with = "keep_going")]
    pub stop: Option<String>,
    /// Keep going after the end of a sentence (a new line starts) until --max-tokens.
    #[arg(long)]
    pub keep_going: bool,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// How each token is chosen (Hugging Face's `generate` semantics; see `nlp::lm::sampling`).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct SamplingArgs {
    /// Softmax temperature, >= 0; 0 is greedy decoding (the most likely token every time).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub temperature: f32,
    /// Draw only from the k most likely tokens (k >= 1).
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Draw only from the smallest set of most likely tokens whose probability reaches p, in
    /// (0, 1] (nucleus sampling).
    #[arg(long, allow_negative_numbers = true)]
    pub top_p: Option<f32>,
    /// Divide a seen token's positive logit by this, multiply a negative one (CTRL); 1 is off,
    /// above 1 discourages repeats.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub repetition_penalty: f32,
    /// Seed of the sampling (the same seed writes the same text).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingArgs {
    /// The sampler these options describe; a typed error names the option out of range.
    pub fn sampler(&self) -> Result<Sampler, CliError> {
        let config = SamplingConfig {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            repetition_penalty: self.repetition_penalty,
            seed: self.seed,
        };
        Ok(Sampler::new(config).map_err(nlp::NlpError::from)?)
    }
}

/// The id `--stop` names; an error when the vocabulary lacks it or the model can never
/// generate it.
fn stop_id(vocab: &dyn Vocabulary, token: &str) -> Result<u32, CliError> {
    match vocab.id(token) {
        Some(id) if vocab.predictable(id) => Ok(id),
        Some(_) => Err(CliError::Usage(format!("--stop `{token}`: the model never generates this token"))),
        None => Err(CliError::Usage(format!(
            "--stop `{token}` is not a token of the model's vocabulary of {} ids",
            vocab.size()
        ))),
    }
}

/// Turns ids into the text to print as they come: words get a space between them, BPE tokens
/// carry their own spaces, an end of sentence starts a new line, and a BPE token that ends
/// inside a UTF-8 character waits for the next.
struct TokenPrinter<'a> {
    vocab: &'a dyn Vocabulary,
    /// Whether tokens are words (joined by spaces) rather than BPE pieces.
    words: bool,
    /// Whether the current line already has text (the prompt, or words printed).
    after_text: bool,
    /// The ids of the current line since the prompt, and how many bytes of their text are out.
    line: Vec<u32>,
    printed: usize,
}

impl<'a> TokenPrinter<'a> {
    fn new(vocab: &'a dyn Vocabulary, prompt_text: &str) -> Self {
        let words = vocab.unknown_id().is_some() && !vocab.raw_text();
        TokenPrinter { vocab, words, after_text: !prompt_text.is_empty(), line: Vec::new(), printed: 0 }
    }

    /// The text that `id` adds.
    fn piece(&mut self, id: u32) -> String {
        if id == self.vocab.end_id() {
            self.line.clear();
            (self.printed, self.after_text) = (0, false);
            return "\n".to_string();
        }
        self.line.push(id);
        let text = self.vocab.decode(&self.line);
        if text.ends_with('\u{FFFD}') {
            return String::new();
        }
        let separator = if self.words && self.after_text && self.printed == 0 { " " } else { "" };
        let new = format!("{separator}{}", text.get(self.printed..).unwrap_or(""));
        self.printed = text.len();
        new
    }
}

/// `tessera lm generate`: tokens are printed (and flushed) as they are produced; a summary of
/// the latency goes to stderr.
pub fn generate_text(args: &GenerateArgs) -> Result<(), CliError> {
    let mut sampler = args.sampling.sampler()?;
    let model = args.model.open()?;
    let vocab = model.vocabulary();
    let prompt_text =
        if vocab.raw_text() { args.prompt.clone() } else { args.model.text.tokens(&args.prompt).join(" ") };
    let prompt = encode_prompt(vocab, &prompt_text)?;
    let stop = match (&args.stop, args.keep_going) {
        (Some(token), _) => Some(stop_id(vocab, token)?),
        (None, true) => None,
        (None, false) => Some(vocab.end_id()),
    };
    let config = GenerateConfig { max_tokens: args.max_tokens, stop };
    let mut out = std::io::stdout().lock();
    let write_error = |e: std::io::Error| CliError::Usage(format!("cannot write to stdout: {e}"));
    write!(out, "{prompt_text}").and_then(|()| out.flush()).map_err(write_error)?;
    let mut printer = TokenPrinter::new(vocab, &prompt_text);
    let started = Instant::now();
    let mut first_token = None;
    let generated = generate(model.as_ref(), &prompt, &config, &mut sampler, &mut |id| {
        first_token.get_or_insert_with(|| started.elapsed().as_secs_f64());
        write!(out, "{}", printer.piece(id))
            .and_then(|()| out.flush())
            .map_err(|e| nlp::NlpError::Invalid(format!("cannot write to stdout: {e}")))
    })?;
    if generated.last() != Some(&vocab.end_id()) {
        writeln!(out).map_err(write_error)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let first = first_token.unwrap_or(seconds);
    // The first token waits for the prompt to be read; the others show the cost of one step.
    let per_token = if generated.len() > 1 { (seconds - first) / (generated.len() - 1) as f64 } else { first };
    eprintln!(
        "{} tokens in {:.1} ms: {:.3} ms per token (the first after {:.1} ms, reading the prompt of {} tokens)",
        generated.len(),
        1e3 * seconds,
        1e3 * per_token,
        1e3 * first,
        prompt.len()
    );
    Ok(())
}
