//! `tessera ner train|eval|tag`: named-entity recognition on CoNLL-2003 (or any four-column
//! IOB2 file) with a BiLSTM-CRF or softmax-head tagger; see docs/ner-and-qa.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ner::conll::{Sentence, read_conll};
use ner::data::NerVocab;
use ner::metric::EntityScores;
use ner::model::{Head, NerConfig, NerTagger};
use ner::train::{EpochReport, TrainConfig, evaluate, predict};
use nlp::word2vec::Embeddings;
use serde_json::json;
use tensor_core::{Device, TensorRng};

use crate::bert_task::{EncoderArgs, Schedule};
use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::train::ResumeArgs;

/// The `ner` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum NerCommand {
    /// Train a tagger; the epoch best on validation is kept as a model folder, then scored on test.
    Train(Box<TrainArgs>),
    /// Entity precision, recall and F1 (conlleval) of a model folder on a CoNLL file.
    Eval(EvalArgs),
    /// Tag raw text: entities with their character offsets and types.
    Tag(TagArgs),
}

/// Options of `tessera ner train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training sentences (CoNLL-2003 columns `word POS chunk NER`, IOB2; plain or .gz).
    #[arg(long, default_value = "../shared/data/conll2003/train.txt.gz")]
    pub train: PathBuf,
    /// Validation sentences (model selection).
    #[arg(long, default_value = "../shared/data/conll2003/valid.txt.gz")]
    pub valid: PathBuf,
    /// Test sentences, scored once with the kept model.
    #[arg(long, default_value = "../shared/data/conll2003/test.txt.gz")]
    pub test: PathBuf,
    /// The model folder to write.
    #[arg(long, default_value = "ner-model")]
    pub out: PathBuf,
    /// Word vectors (word2vec text format, e.g. from `tessera word2vec train --lowercase`) to
    /// initialise the word table; their width sets the word embedding width.
    #[arg(long)]
    pub vectors: Option<PathBuf>,
    /// Keep the word table fixed.
    #[arg(long)]
    pub freeze_words: bool,
    /// Output layer: `crf` or `softmax`.
    #[arg(long, default_value = "crf")]
    pub head: String,
    /// Char-CNN filters (0: no character features).
    #[arg(long, default_value_t = 30)]
    pub char_filters: usize,
    /// Word embedding width when no vectors are given.
    #[arg(long, default_value_t = 100)]
    pub word_dim: usize,
    /// LSTM units per direction.
    #[arg(long, default_value_t = 200)]
    pub hidden: usize,
    /// Dropout.
    #[arg(long, default_value_t = 0.5)]
    pub dropout: f64,
    /// Passes over the training sentences (at most).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Stop after the epoch during which this many minutes have passed.
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Sentences per step.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Inverse-time decay of the learning rate: epoch e trains at lr / (1 + decay (e - 1)).
    #[arg(long, default_value_t = 0.1)]
    pub lr_decay: f64,
    /// Seed of initialisation, dropout and shuffles.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the test predictions here (`word gold predicted` per line, CoNLL style).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Show a progress bar per epoch.
    #[arg(long)]
    pub progress: bool,
    /// A pretrained BERT encoder instead of the model trained from scratch.
    #[command(flatten)]
    pub bert: EncoderArgs,
    /// With --encoder: train on the first N training sentences only.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Training checkpoints and resuming.
    #[command(flatten)]
    pub resume: ResumeArgs,
}

/// Options of `tessera ner eval`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// The model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled sentences (CoNLL-2003 columns).
    #[arg(long, default_value = "../shared/data/conll2003/test.txt.gz")]
    pub data: PathBuf,
    /// Write the predictions here (`word gold predicted` per line).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Options of `tessera ner tag`.
#[derive(clap::Args, Debug, Clone)]
pub struct TagArgs {
    /// The model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// Text to tag (one sentence or more); without it, every line of standard input is tagged.
    #[arg(long)]
    pub text: Option<String>,
    /// Print one JSON object per input line: `{"text", "entities": [{"type", "text", "start", "end"}]}`.
    #[arg(long)]
    pub json: bool,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Runs a `ner` subcommand.
pub fn run(command: NerCommand) -> Result<(), CliError> {
    match command {
        NerCommand::Train(args) => train(&args).map(|_| ()),
        NerCommand::Eval(args) => eval(&args).map(|_| ()),
        NerCommand::Tag(args) => tag(&args),
    }
}

fn read(path: &Path) -> Result<Vec<Sentence>, CliError> {
    let sentences = read_conll(path)?;
    if sentences.is_empty() {
        return Err(CliError::Usage(format!("{}: no sentences", path.display())));
    }
    Ok(sentences)
}

/// Writes `word gold predicted` lines, a blank line after each sentence.
fn write_predictions(path: &Path, sentences: &[Sentence], predicted: &[Vec<String>]) -> Result<(), CliError> {
    nn_layers::checkpoint::write_atomically(path, |out| {
        for (sentence, tags) in sentences.iter().zip(predicted) {
            for ((word, gold), guess) in sentence.words.iter().zip(&sentence.tags).zip(tags) {
                writeln!(out, "{word} {gold} {guess}")?;
            }
            writeln!(out)?;
        }
        Ok(())
    })?;
    Ok(())
}

fn scores_json(scores: &EntityScores) -> serde_json::Value {
    let per_type: serde_json::Map<String, serde_json::Value> = scores
        .per_type
        .iter()
        .map(|(k, c)| (k.clone(), json!({"precision": c.precision(), "recall": c.recall(), "f1": c.f1()})))
        .collect();
    json!({"precision": scores.overall.precision(), "recall": scores.overall.recall(), "f1": scores.overall.f1(), "per_type": per_type})
}

/// Trains, keeps the best epoch, scores it on test; returns the test scores.
pub fn train(args: &TrainArgs) -> Result<EntityScores, CliError> {
    let device = args.device.open()?;
    let (train, valid, test) = (read(&args.train)?, read(&args.valid)?, read(&args.test)?);
    if let Some(encoder) = &args.bert.encoder {
        args.resume.refuse("--encoder")?;
        let schedule = Schedule {
            epochs: args.epochs,
            batch: args.batch_size,
            lr: args.lr,
            minutes: args.minutes,
            seed: args.seed,
        };
        let settings = crate::ner_bert::BertNerSettings {
            run: args.bert.run(encoder, schedule),
            dropout: args.dropout.min(0.1),
            limit: args.limit,
        };
        let (scores, predicted) = crate::ner_bert::train(&settings, (&train, &valid, &test), &args.out, &device)?;
        if let Some(path) = &args.predictions {
            write_predictions(path, &test, &predicted)?;
        }
        return Ok(scores);
    }
    if args.bert.freeze || args.limit.is_some() {
        return Err(CliError::Usage("--freeze and --limit need --encoder".into()));
    }
    let vectors = args.vectors.as_ref().map(|p| Embeddings::load(p, false)).transpose()?;
    let vocab = NerVocab::build(&train, vectors.as_ref(), &[&valid, &test]);
    let mut config = NerConfig::for_vocab(&vocab, Head::parse(&args.head)?);
    config.word_dim = vectors.as_ref().map_or(args.word_dim, Embeddings::dim);
    config.char_filters = args.char_filters;
    config.hidden = args.hidden;
    config.dropout = args.dropout;
    config.freeze_words = args.freeze_words;
    let tagger = NerTagger::new(&config, &mut TensorRng::new(args.seed), &device)?;
    if let Some(vectors) = &vectors {
        let copied = tagger.init_words(&vocab, vectors)?;
        println!(
            "word table: {copied} of {} words from {}",
            vocab.words.len(),
            args.vectors.as_ref().map_or(String::new(), |p| p.display().to_string())
        );
    }
    println!(
        "ner: {} train / {} valid / {} test sentences, {} words, {} chars, {} tags, head {}",
        train.len(),
        valid.len(),
        test.len(),
        vocab.words.len(),
        vocab.chars.len(),
        vocab.tags.len(),
        args.head
    );
    let settings = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        lr_decay: args.lr_decay,
        clip: 5.0,
        time_limit: args.minutes.map(|m| m * 60.0),
        seed: args.seed,
        progress: args.progress,
        checkpoint: args.resume.checkpoints(),
        resume: args.resume.resume.clone(),
    };
    let save_args = json!({"head": args.head, "vectors": args.vectors, "freeze_words": args.freeze_words,
        "lr": args.lr, "lr_decay": args.lr_decay, "batch_size": args.batch_size, "seed": args.seed});
    let mut on_epoch = |tagger: &NerTagger, epoch: &EpochReport, improved: bool| -> ner::Result<()> {
        println!(
            "epoch {:>2}  loss {:.4}  valid F1 {:.2}  {:.1} min",
            epoch.epoch,
            epoch.loss,
            100.0 * epoch.valid_f1,
            epoch.elapsed / 60.0
        );
        if !improved {
            return Ok(());
        }
        let report = json!({"settings": save_args, "epoch": epoch.epoch, "valid_f1": epoch.valid_f1});
        ner::folder::save(&args.out, tagger, &vocab, report)
    };
    let history = ner::train::train(&tagger, &vocab, &train, &valid, &settings, &device, &mut on_epoch)?;
    let (best, vocab, report) = ner::folder::load(&args.out, &device)?;
    let (scores, predicted) = evaluate(&best, &vocab, &test, &device)?;
    println!("test (epoch {}):\n{}", report["epoch"], scores.table());
    let mut report = report;
    report["test"] = scores_json(&scores);
    report["epochs"] = json!(
        history
            .iter()
            .map(|e| json!({"epoch": e.epoch, "loss": e.loss, "valid_f1": e.valid_f1, "minutes": e.elapsed / 60.0}))
            .collect::<Vec<_>>()
    );
    ner::folder::save(&args.out, &best, &vocab, report)?;
    if let Some(path) = &args.predictions {
        write_predictions(path, &test, &predicted)?;
    }
    Ok(scores)
}

/// Scores a model folder on a labelled file; returns the scores.
pub fn eval(args: &EvalArgs) -> Result<EntityScores, CliError> {
    let device = args.device.open()?;
    if crate::ner_bert::is_bert_tagger(&args.model) {
        let (tagger, tags) = crate::ner_bert::load(&args.model, &device)?;
        let sentences = read(&args.data)?;
        let (scores, predicted) = crate::ner_bert::evaluate(&tagger, &tags, &sentences)?;
        print!("{}", scores.table());
        if let Some(path) = &args.predictions {
            write_predictions(path, &sentences, &predicted)?;
        }
        return Ok(scores);
    }
    let (tagger, vocab, _) = ner::folder::load(&args.model, &device)?;
    let sentences = read(&args.data)?;
    let (scores, predicted) = evaluate(&tagger, &vocab, &sentences, &device)?;
    print!("{}", scores.table());
    if let Some(path) = &args.predictions {
        write_predictions(path, &sentences, &predicted)?;
    }
    Ok(scores)
}

/// A loaded tagger of either kind.
enum Loaded {
    Lstm(Box<(NerTagger, NerVocab)>),
    Bert(Box<(transfer::BertTagger, Vec<String>)>),
}

fn tag_line(tagger: &Loaded, line: &str, json: bool, device: &Arc<dyn Device>) -> Result<String, CliError> {
    let tokens = ner::text::tokenize(line);
    let spans = if tokens.is_empty() {
        Vec::new()
    } else {
        let words: Vec<Vec<&str>> = vec![tokens.iter().map(|t| t.text.as_str()).collect()];
        let tags = match tagger {
            Loaded::Lstm(lstm) => predict(&lstm.0, &lstm.1, &words, device)?,
            Loaded::Bert(bert) => {
                let words: Vec<Vec<String>> = vec![tokens.iter().map(|t| t.text.clone()).collect()];
                crate::ner_bert::predict(&bert.0, &bert.1, &words)?
            }
        };
        ner::text::spans(line, &tokens, &tags[0])
    };
    if json {
        let entities: Vec<_> =
            spans.iter().map(|s| json!({"type": s.kind, "text": s.text, "start": s.start, "end": s.end})).collect();
        return Ok(json!({"text": line, "entities": entities}).to_string());
    }
    Ok(spans.iter().map(|s| format!("{}\t{}\t{}\t{}", s.start, s.end, s.kind, s.text)).collect::<Vec<_>>().join("\n"))
}

/// Tags `--text` or every line of standard input.
pub fn tag(args: &TagArgs) -> Result<(), CliError> {
    let device = args.device.open()?;
    let tagger = if crate::ner_bert::is_bert_tagger(&args.model) {
        let (tagger, tags) = crate::ner_bert::load(&args.model, &device)?;
        Loaded::Bert(Box::new((tagger, tags)))
    } else {
        let (tagger, vocab, _) = ner::folder::load(&args.model, &device)?;
        Loaded::Lstm(Box::new((tagger, vocab)))
    };
    let lines: Vec<String> = match &args.text {
        Some(text) => vec![text.clone()],
        None => std::io::stdin()
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| CliError::Usage(format!("standard input: {e}")))?,
    };
    for line in lines {
        let out = tag_line(&tagger, &line, args.json, &device)?;
        if !out.is_empty() {
            println!("{out}");
        }
    }
    Ok(())
}
