//! `tessera mt train|translate|eval`: machine translation with the `translate` crate — train an
//! encoder-decoder into a model folder, translate arguments, files or standard input
//! (streaming), and score a split with BLEU and chrF (sacreBLEU's defaults).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use translate::data::read_tsv;
use translate::decode::{DecodeOptions, translate_texts};
use translate::metrics::{corpus_bleu, corpus_chrf};

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::mt_model::{Folder, MtModel, load, split_path};

/// The `tessera mt` commands.
#[derive(clap::Subcommand)]
pub enum MtCommand {
    /// Train an encoder-decoder on parallel TSV data into a model folder.
    Train(Box<crate::mt_train::TrainArgs>),
    /// Translate sentences: arguments, --input files, or standard input line by line.
    Translate(TranslateArgs),
    /// BLEU and chrF (sacreBLEU 2.x defaults) of a model on a split of its data.
    Eval(EvalArgs),
}

/// Runs a `tessera mt` command.
pub fn run(command: MtCommand) -> Result<(), CliError> {
    match command {
        MtCommand::Train(args) => crate::mt_train::train(&args),
        MtCommand::Translate(args) => translate_command(&args),
        MtCommand::Eval(args) => eval(&args),
    }
}

/// How to decode.
#[derive(clap::Args, Debug, Clone)]
pub struct DecodeArgs {
    /// Beam width (1: greedy).
    #[arg(long, default_value_t = 1)]
    pub beam: usize,
    /// Length penalty α of Wu et al. (2016).
    #[arg(long, default_value_t = 0.6)]
    pub length_penalty: f64,
    /// Outputs at most A·|source| + B tokens: A.
    #[arg(long, default_value_t = 1.5)]
    pub max_len_a: f64,
    /// Outputs at most A·|source| + B tokens: B.
    #[arg(long, default_value_t = 10)]
    pub max_len_b: usize,
    /// Sentences decoded together.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
}

impl DecodeArgs {
    /// The decoding options.
    pub fn options(&self) -> Result<DecodeOptions, CliError> {
        if self.beam == 0 {
            return Err(CliError::Usage("--beam must be at least 1".into()));
        }
        Ok(DecodeOptions {
            beam: self.beam,
            length_penalty: self.length_penalty,
            max_len_a: self.max_len_a,
            max_len_b: self.max_len_b,
            n_best: 1,
        })
    }
}

/// Arguments of `tessera mt translate`.
#[derive(clap::Args, Debug)]
pub struct TranslateArgs {
    /// The model folder.
    pub model: PathBuf,
    /// Sentences to translate (none: read --input files, or standard input).
    pub text: Vec<String>,
    /// Files of sentences, one per line.
    #[arg(long)]
    pub input: Vec<PathBuf>,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Translates `texts` with the folder's model.
pub fn translate_lines(
    folder: &Folder,
    texts: &[String],
    decode: &DecodeArgs,
    device: &DeviceArc,
) -> Result<Vec<String>, CliError> {
    let options = decode.options()?;
    Ok(match &folder.model {
        MtModel::Rnn(m) => translate_texts(m.as_ref(), &folder.vocab, texts, &options, decode.batch, device)?,
        MtModel::Transformer(m) => translate_texts(m.as_ref(), &folder.vocab, texts, &options, decode.batch, device)?,
    })
}

type DeviceArc = std::sync::Arc<dyn tensor_core::Device>;

fn translate_command(args: &TranslateArgs) -> Result<(), CliError> {
    let device = args.device.open()?;
    let folder = load(&args.model, &device)?;
    let mut out = std::io::stdout().lock();
    let mut emit = |lines: &[String]| -> Result<(), CliError> {
        for line in translate_lines(&folder, lines, &args.decode, &device)? {
            writeln!(out, "{line}").map_err(|e| CliError::Usage(format!("cannot write the output: {e}")))?;
        }
        out.flush().map_err(|e| CliError::Usage(format!("cannot write the output: {e}")))
    };
    if !args.text.is_empty() {
        return emit(&args.text);
    }
    let read_error = |path: &str, e: std::io::Error| CliError::Usage(format!("{path}: cannot read: {e}"));
    if !args.input.is_empty() {
        for path in &args.input {
            let text = std::fs::read_to_string(path).map_err(|e| read_error(&path.display().to_string(), e))?;
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            for chunk in lines.chunks(args.decode.batch.max(1)) {
                emit(chunk)?;
            }
        }
        return Ok(());
    }
    // Standard input streams: one line at a time at a terminal, batches from a pipe.
    let stdin = std::io::stdin();
    let chunk = if stdin.is_terminal() { 1 } else { args.decode.batch.max(1) };
    let mut pending = Vec::with_capacity(chunk);
    for line in stdin.lock().lines() {
        pending.push(line.map_err(|e| read_error("standard input", e))?);
        if pending.len() == chunk {
            emit(&pending)?;
            pending.clear();
        }
    }
    if !pending.is_empty() {
        emit(&pending)?;
    }
    Ok(())
}

/// Arguments of `tessera mt eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The model folder.
    pub model: PathBuf,
    /// The split to score (`train`, `valid`, `test`).
    #[arg(long, default_value = "test")]
    pub split: String,
    /// The data (folder or TSV file); default: the data the model was trained on.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Score only the first N pairs.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Write the translations here, one per line.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

fn eval(args: &EvalArgs) -> Result<(), CliError> {
    let device = args.device.open()?;
    let folder = load(&args.model, &device)?;
    let column = |key: &str| folder.config["data"][key].as_str().unwrap_or(key).to_string();
    let path = split_path(&folder.config, args.data.as_deref(), &args.split)?;
    let mut pairs = read_tsv(&path, &column("src"), &column("tgt"))?;
    pairs.truncate(args.limit.unwrap_or(usize::MAX));
    let (sources, refs): (Vec<String>, Vec<String>) = pairs.into_iter().map(|p| (p.source, p.target)).unzip();
    let start = Instant::now();
    let hyps = translate_lines(&folder, &sources, &args.decode, &device)?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(output) = &args.output {
        std::fs::write(output, hyps.join("\n") + "\n")
            .map_err(|e| CliError::Usage(format!("{}: cannot write: {e}", output.display())))?;
    }
    let bleu = corpus_bleu(&hyps, &refs)?;
    let chrf = corpus_chrf(&hyps, &refs)?;
    println!(
        "{} {} sentences, beam {}: BLEU {:.2} chrF {:.2} (BP {:.3}, ratio {:.3}; {:.1} sentences/s)",
        path.display(),
        refs.len(),
        args.decode.beam,
        bleu.score,
        chrf,
        bleu.brevity_penalty,
        bleu.hypothesis_length as f64 / bleu.reference_length.max(1) as f64,
        refs.len() as f64 / seconds.max(1e-9)
    );
    Ok(())
}
