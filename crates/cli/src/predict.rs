//! `tessera predict MODEL INPUT...`: a model folder of any `tessera train` command on new
//! input. Image models read image files (or every image of a folder); text models read
//! sentences. Inputs come from the arguments, from `--file` (one per line), or from standard
//! input when there are neither. Plain output is `input<TAB>prediction`; `--json` writes one
//! JSON object per line.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use tessera::images::images_in;
use tessera::{Pipeline, UseError};

use crate::devices::DeviceKind;
use crate::error::CliError;

/// Options of `tessera predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// The model folder (`tessera train mlp|cnn|textcnn|tagger --out`).
    pub model: PathBuf,
    /// Image files or folders of images (image models), or sentences (text models).
    pub inputs: Vec<String>,
    /// Also read inputs from this file, one per line (`-`: standard input).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// How many of the most probable classes to show.
    #[arg(long, default_value_t = 1)]
    pub top_k: usize,
    /// Write JSON Lines: `{"input": ..., "label": ..., "top": [{"label", "probability"}]}`, or
    /// `tokens` and `tags` for a tagger.
    #[arg(long)]
    pub json: bool,
    /// Taggers: the sentences are already tokenised, tokens separated by spaces (as in a
    /// CoNLL file); without it the word tokenizer splits them.
    #[arg(long)]
    pub pretokenized: bool,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

fn read_lines(path: &Path) -> Result<Vec<String>, CliError> {
    let stdin = path == Path::new("-");
    let path = if stdin { Path::new("(standard input)") } else { path };
    let reader: Box<dyn BufRead> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| UseError::data(path, None, format!("cannot open: {e}")))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut lines = Vec::new();
    for (number, line) in reader.split(b'\n').enumerate() {
        let bytes = line.map_err(|e| UseError::data(path, Some(number + 1), format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| UseError::data(path, Some(number + 1), format!("not UTF-8: {}", e.utf8_error())))?;
        let text = text.trim_end_matches('\r');
        if !text.trim().is_empty() {
            lines.push(text.to_string());
        }
    }
    Ok(lines)
}

/// Runs the command; returns the predictions in input order.
pub fn run(args: &PredictArgs) -> Result<Vec<tessera::Prediction>, CliError> {
    let device = args.device.open()?;
    let pipeline = Pipeline::load(&args.model, &device)?;
    let mut inputs = args.inputs.clone();
    if let Some(file) = &args.file {
        inputs.extend(read_lines(file)?);
    }
    if inputs.is_empty() {
        inputs = read_lines(Path::new("-"))?;
    }
    if pipeline.reads_images() {
        // A folder stands for its images, sorted by name.
        let mut files = Vec::new();
        for input in inputs {
            let path = PathBuf::from(&input);
            if path.is_dir() {
                files.extend(images_in(&path)?.into_iter().map(|p| p.to_string_lossy().into_owned()));
            } else {
                files.push(input);
            }
        }
        inputs = files;
    }
    let predictions = if args.pretokenized && pipeline.is_tagger() {
        let tokens: Vec<Vec<String>> =
            inputs.iter().map(|s| s.split_whitespace().map(str::to_string).collect()).collect();
        pipeline.tag_tokens(&tokens)?
    } else {
        pipeline.predict(&inputs, args.top_k)?
    };
    let mut out = std::io::stdout().lock();
    for (input, prediction) in inputs.iter().zip(&predictions) {
        let written = if args.json {
            let mut object = prediction.to_json();
            object["input"] = serde_json::Value::String(input.clone());
            writeln!(out, "{object}")
        } else {
            writeln!(out, "{input}\t{prediction}")
        };
        written.map_err(|e| UseError::data("(standard output)", None, e.to_string()))?;
    }
    Ok(predictions)
}
