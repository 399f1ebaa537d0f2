//! `tessera train textcnn`: the TextCNN sentence classifier on the VADER movie-review
//! sentences (binary sentiment by the sign of the rating), or on the user's labelled text
//! (CSV, TSV or JSON Lines with named text and label fields); writes a model folder with the
//! vocabulary.

use std::path::PathBuf;

use nlp::classify::{TextCnn, TextCnnConfig, TokenDataset, split_indices};
use nlp::corpus::read_rated_text;
use nlp::tokenize::WordTokenizer;
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{EpochStats, FitConfig, fit_classifier, load_training};
use serde_json::json;
use tensor_core::TensorRng;
use tessera::UseError;
use tessera::folder::{self, Architecture, FolderConfig, InputFormat, LossCurve};
use tessera::pipeline::textcnn_logits;
use tessera::text_data::{Labelled, TextFormat, read_labelled};

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::train::ResumeArgs;

/// The default data: VADER's movie-review sentences with their mean human rating.
pub const DEFAULT_DATA: &str = "../shared/data/vader-sentiment/movieReviewSnippets_GroundTruth.txt.gz";

/// Options of `tessera train textcnn`.
#[derive(clap::Args, Debug, Clone)]
pub struct TextCnnArgs {
    /// Labelled text: CSV, TSV or JSON Lines (by the name, or `--format`); the default is
    /// VADER's rated movie-review sentences (label: the sign of the rating, neutral dropped).
    #[arg(long, default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// A separate test file in the same format; without it `--test-fraction` of `--data` is
    /// held out (seeded).
    #[arg(long)]
    pub test_data: Option<PathBuf>,
    /// Share of `--data` held out for testing when there is no `--test-data`.
    #[arg(long, default_value_t = 0.1)]
    pub test_fraction: f64,
    /// The format of `--data` when its name does not say: csv, tsv or jsonl.
    #[arg(long, value_parser = ["csv", "tsv", "jsonl"])]
    pub format: Option<String>,
    /// The field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// The field holding the label.
    #[arg(long, default_value = "label")]
    pub label_field: String,
    /// Keep only examples with these labels (comma-separated); the rest are dropped.
    #[arg(long, value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Embedding width.
    #[arg(long, default_value_t = 64)]
    pub embedding: usize,
    /// Filters per kernel width (widths 3, 4 and 5).
    #[arg(long, default_value_t = 64)]
    pub filters: usize,
    /// Passes over the training sentences.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Sentences per step.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Seed of the split, initialisation and shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The model folder to write.
    #[arg(long, default_value = "textcnn")]
    pub out: PathBuf,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Training checkpoints and resuming.
    #[command(flatten)]
    pub resume: ResumeArgs,
}

fn format_of(args: &TextCnnArgs, path: &std::path::Path) -> Result<TextFormat, CliError> {
    match args.format.as_deref() {
        Some("csv") => Ok(TextFormat::Csv),
        Some("tsv") => Ok(TextFormat::Tsv),
        Some(_) => Ok(TextFormat::JsonLines),
        None => TextFormat::from_name(path).ok_or_else(|| {
            UseError::data(path, None, "the name does not say CSV, TSV or JSON Lines: pass --format").into()
        }),
    }
}

/// The examples of `path`: VADER's rated sentences for the default file, else named fields.
fn read(args: &TextCnnArgs, path: &std::path::Path) -> Result<Vec<Labelled>, CliError> {
    if path.to_string_lossy().ends_with("_GroundTruth.txt.gz") || path.to_string_lossy().ends_with("_GroundTruth.txt") {
        let rated = read_rated_text(path)?;
        return Ok(rated
            .into_iter()
            .enumerate()
            .filter(|(_, r)| r.score != 0.0)
            .map(|(i, r)| Labelled {
                text: r.text,
                label: if r.score > 0.0 { "positive" } else { "negative" }.into(),
                line: i + 1,
            })
            .collect());
    }
    let mut examples = read_labelled(path, format_of(args, path)?, &args.text_field, &args.label_field)?;
    if !args.labels.is_empty() {
        examples.retain(|e| args.labels.contains(&e.label));
    }
    Ok(examples)
}

/// The index of the largest value (the first of equal ones), as argmax picks.
fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
}

/// Trains, prints a line per epoch and a summary, writes the folder; returns the test accuracy.
pub fn train(args: &TextCnnArgs) -> Result<f64, CliError> {
    let device = args.device.open()?;
    let examples = read(args, &args.data)?;
    let (train, test): (Vec<Labelled>, Vec<Labelled>) = match &args.test_data {
        Some(path) => (examples, read(args, path)?),
        None => {
            let parts = split_indices(examples.len(), &[1.0 - args.test_fraction, args.test_fraction], args.seed);
            let pick = |part: &[usize]| part.iter().map(|&i| examples[i].clone()).collect::<Vec<_>>();
            (pick(&parts[0]), pick(&parts[1]))
        }
    };
    let mut labels: Vec<String> = train.iter().map(|e| e.label.clone()).collect();
    labels.sort();
    labels.dedup();
    if labels.len() < 2 {
        return Err(UseError::data(&args.data, None, format!("needs at least two labels, found {labels:?}")).into());
    }
    let tokenizer = WordTokenizer::default();
    let tokens = |set: &[Labelled]| set.iter().map(|e| tokenizer.tokenize(&e.text)).collect::<Vec<_>>();
    let (train_tokens, test_tokens) = (tokens(&train), tokens(&test));
    let vocab = Vocab::build(train_tokens.iter().flatten().map(String::as_str), &VocabConfig::default());
    let config = TextCnnConfig {
        embedding: args.embedding,
        filters: args.filters,
        ..TextCnnConfig::kim(vocab.len(), labels.len())
    };
    let model = TextCnn::new(&config, &mut TensorRng::new(args.seed), &device)?;
    let test_path = args.test_data.as_ref().unwrap_or(&args.data);
    let encode = |set: &[Labelled], tokens: &[Vec<String>], path: &std::path::Path| -> Result<TokenDataset, CliError> {
        let mut ids = Vec::new();
        for e in set {
            let id = labels.binary_search(&e.label).map_err(|_| {
                UseError::data(
                    path,
                    Some(e.line),
                    format!("label `{}` is not among the training labels {labels:?}", e.label),
                )
            })?;
            ids.push(id as i64);
        }
        let sequences = tokens.iter().map(|t| vocab.encode(t)).collect();
        Ok(TokenDataset::new(sequences, ids, 0, model.min_len())?)
    };
    let (train_set, test_set) = (encode(&train, &train_tokens, &args.data)?, encode(&test, &test_tokens, test_path)?);
    let test_sequences: Vec<Vec<usize>> = test_tokens.iter().map(|t| vocab.encode(t)).collect();
    println!(
        "training a TextCNN ({} weights; widths {:?}, {} filters each, embedding {}) on {}: {} train / {} test sentences, {} words, labels {labels:?}",
        model.num_weights(),
        config.widths,
        config.filters,
        config.embedding,
        args.data.display(),
        train_set.len(),
        test_set.len(),
        vocab.len()
    );
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(args.lr));
    let resume = args.resume.resume.as_ref().map(|dir| load_training(dir, &model, &mut optimizer)).transpose()?;
    // Epoch `e` shuffles with `seed + 1 + e`, the order of the one-epoch runs this replaced.
    let fit = FitConfig {
        checkpoint: args.resume.checkpoints(),
        resume,
        ..FitConfig::new(args.epochs, args.batch_size, args.seed + 1)
    };
    let started = std::time::Instant::now();
    // Accuracy as `tessera predict` computes it: each sentence padded only to the widest
    // kernel, so the report and the folder's predictions agree exactly.
    let accuracy_of = |model: &TextCnn| -> Result<f64, CliError> {
        let logits = textcnn_logits(model, &test_sequences, &device)?;
        let hits = logits.iter().zip(test_set.labels()).filter(|(row, label)| argmax(row) == **label as usize).count();
        Ok(hits as f64 / test_set.len().max(1) as f64)
    };
    let mut failed: Option<CliError> = None;
    let report = |e: &EpochStats| {
        if failed.is_some() {
            return;
        }
        let test_accuracy = match accuracy_of(&model) {
            Ok(a) => a,
            Err(err) => {
                failed = Some(err);
                return;
            }
        };
        let test_loss = e.eval.map_or(f64::NAN, |(loss, _)| loss);
        println!(
            "epoch {}: train loss {:.4}, test loss {test_loss:.4}, test acc {:.2}% ({:.1} s)",
            e.epoch,
            e.train_loss,
            100.0 * test_accuracy,
            started.elapsed().as_secs_f64()
        );
    };
    let test: Option<&dyn nn_layers::data::Examples> = (!test_set.is_empty()).then_some(&test_set);
    let history = fit_classifier(&model, &mut optimizer, &train_set, test, fit, &device, report)?;
    if let Some(err) = failed {
        return Err(err);
    }
    let accuracy = accuracy_of(&model)?;
    let curve = LossCurve {
        train: history.iter().map(|e| e.train_loss).collect(),
        test: history.iter().map(|e| e.eval.map_or(f64::NAN, |(loss, _)| loss)).collect(),
    };
    let folder_config = FolderConfig {
        architecture: Architecture::TextCnn(config),
        input: InputFormat::Words { lowercase: true },
        labels,
        training: json!({
            "command": "train textcnn", "data": args.data.display().to_string(),
            "test_data": args.test_data.as_ref().map(|p| p.display().to_string()), "epochs": args.epochs,
            "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed, "train_examples": train_set.len(),
            "test_examples": test_set.len(), "test_accuracy": accuracy,
        }),
        loss: curve,
    };
    folder::save(&args.out, &folder_config, &model, &[(folder::VOCAB, &vocab)])?;
    println!(
        "summary: test accuracy {:.2}% ({} sentences) after {} epochs in {:.1} s; model folder {}",
        100.0 * accuracy,
        test_set.len(),
        args.epochs,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(accuracy)
}
