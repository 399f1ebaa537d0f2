//! `tessera qa`: extractive question answering on SQuAD v1.1 with the attentive reader of the
//! `qa` crate. `train` fits a reader and keeps the epoch best on dev F1 as a model folder,
//! `eval` scores a folder with the official v1.1 metric (and writes its predictions), `answer`
//! answers one question about a passage file.

use std::path::PathBuf;
use std::time::Instant;

use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use nn_layers::train::{EpochStats, Mean, TrainPosition, load_training, save_training};
use qa::features::{build_vocab, examples};
use qa::squad::SquadSet;
use qa::train::{EpochOptions, answer, predict_set, train_epoch_from};
use qa::{QaError, Reader, ReaderConfig, folder, metric};
use serde_json::json;
use tensor_core::TensorRng;

use crate::bert_task::{EncoderArgs, Schedule};
use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::train::ResumeArgs;

/// `tessera qa` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum QaCommand {
    /// Train the attentive reader on SQuAD train; keeps the epoch best on dev F1.
    Train(Box<TrainArgs>),
    /// Exact match and F1 (official v1.1 evaluation) of a reader's folder on a SQuAD file.
    Eval(EvalArgs),
    /// Answer a question about a passage: prints the answer and its character span.
    Answer(AnswerArgs),
}

/// Options of `tessera qa train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// SQuAD v1.1 training file (JSON, plain or gzip).
    #[arg(long, default_value = "../shared/data/squad/train-v1.1.json.gz")]
    pub train: PathBuf,
    /// SQuAD v1.1 dev file, scored after every epoch.
    #[arg(long, default_value = "../shared/data/squad/dev-v1.1.json.gz")]
    pub dev: PathBuf,
    /// The model folder to write (the epoch best on dev F1).
    #[arg(long, default_value = "qa-reader")]
    pub out: PathBuf,
    /// Train on the first N questions only (whole paragraphs).
    #[arg(long)]
    pub train_questions: Option<usize>,
    /// Score on the first N dev questions only (whole paragraphs).
    #[arg(long)]
    pub dev_questions: Option<usize>,
    /// Passes over the training questions.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Questions per step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Word embedding width (the vectors' width when --vectors is given).
    #[arg(long, default_value_t = 100)]
    pub embedding: usize,
    /// LSTM units per direction (128 reaches dev F1 60.5 in two epochs; see docs/ner-and-qa.md).
    #[arg(long, default_value_t = 128)]
    pub hidden: usize,
    /// Stacked BiLSTM layers per encoder.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Dropout on embeddings and encoder outputs.
    #[arg(long, default_value_t = 0.3)]
    pub dropout: f64,
    /// Vocabulary size (most frequent lower-cased tokens of the training file).
    #[arg(long, default_value_t = 40_000)]
    pub max_words: usize,
    /// Training passages are cut to this many tokens (questions answered past it are skipped).
    #[arg(long, default_value_t = 300)]
    pub max_passage: usize,
    /// Initialise the embeddings from word2vec vectors (`tessera word2vec train` output).
    #[arg(long)]
    pub vectors: Option<PathBuf>,
    /// The vectors file is binary (the C tool's `-binary 1`).
    #[arg(long)]
    pub binary_vectors: bool,
    /// Keep the embeddings fixed during training.
    #[arg(long)]
    pub freeze_embeddings: bool,
    /// Stop training after this many minutes (the epoch under way ends early, is scored and
    /// counts); no limit by default.
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Seed of the initialisation and shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// A pretrained BERT encoder instead of the model trained from scratch.
    #[command(flatten)]
    pub bert: EncoderArgs,
    /// With --encoder: pieces shared by consecutive windows of a long context.
    #[arg(long, default_value_t = 32)]
    pub doc_stride: usize,
    /// With --encoder: the longest answer, in pieces.
    #[arg(long, default_value_t = 30)]
    pub max_answer: usize,
    /// Training checkpoints and resuming.
    #[command(flatten)]
    pub resume: ResumeArgs,
}

/// Options of `tessera qa eval`.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// The reader's model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// The SQuAD v1.1 file to answer and score.
    #[arg(long, default_value = "../shared/data/squad/dev-v1.1.json.gz")]
    pub data: PathBuf,
    /// Score the first N questions only (whole paragraphs).
    #[arg(long)]
    pub questions: Option<usize>,
    /// Write the predictions (question id → answer) as JSON here, the official format.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Options of `tessera qa answer`.
#[derive(clap::Args, Debug, Clone)]
pub struct AnswerArgs {
    /// The reader's model folder.
    #[arg(long)]
    pub model: PathBuf,
    /// A text file holding the passage.
    #[arg(long)]
    pub context: PathBuf,
    /// The question.
    #[arg(long)]
    pub question: String,
    /// Print a JSON object (answer, start, end, score) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Runs a `tessera qa` subcommand.
pub fn run(command: QaCommand) -> Result<(), CliError> {
    match command {
        QaCommand::Train(args) => train(&args).map(|_| ()),
        QaCommand::Eval(args) => eval(&args).map(|_| ()),
        QaCommand::Answer(args) => answer_one(&args),
    }
}

/// Trains, prints a line per epoch, saves the best epoch; returns its (EM, F1).
pub fn train(args: &TrainArgs) -> Result<(f64, f64), CliError> {
    if args.epochs == 0 || args.batch_size == 0 {
        return Err(CliError::Usage("--epochs and --batch-size must be at least 1".into()));
    }
    let device = args.device.open()?;
    let clock = Instant::now();
    let mut train_set = SquadSet::read(&args.train, true)?;
    let mut dev = SquadSet::read(&args.dev, false)?;
    if let Some(n) = args.train_questions {
        train_set = train_set.truncated(n);
    }
    if let Some(n) = args.dev_questions {
        dev = dev.truncated(n);
    }
    if let Some(encoder) = &args.bert.encoder {
        args.resume.refuse("--encoder")?;
        let schedule = Schedule {
            epochs: args.epochs,
            batch: args.batch_size,
            lr: args.lr,
            minutes: args.minutes,
            seed: args.seed,
        };
        let settings = crate::qa_bert::BertQaSettings {
            run: args.bert.run(encoder, schedule),
            span: transfer::SpanConfig { max_question: 32, doc_stride: args.doc_stride, max_answer: args.max_answer },
        };
        let score = crate::qa_bert::train(&settings, &train_set, &dev, &args.out, &device)?;
        return Ok((score.exact_match, score.f1));
    }
    let vocab = build_vocab(&train_set, args.max_words);
    let items = examples(&train_set, &vocab, Some(args.max_passage));
    println!(
        "read {} training questions ({} with an answer inside {} tokens), {} dev questions, {} words, in {:.1} s",
        train_set.len(),
        items.len(),
        args.max_passage,
        dev.len(),
        vocab.len(),
        clock.elapsed().as_secs_f64()
    );
    let config = ReaderConfig {
        words: vocab.len(),
        embedding: args.embedding,
        hidden: args.hidden,
        layers: args.layers,
        dropout: args.dropout,
    };
    let reader = Reader::new(config, &mut TensorRng::new(args.seed), &device)?;
    if let Some(path) = &args.vectors {
        let vectors = nlp::word2vec::Embeddings::load(path, args.binary_vectors)?;
        let found = reader.init_embeddings(&vectors, &vocab)?;
        println!("embeddings: {found} of {} words from {}", vocab.len(), path.display());
    }
    if args.freeze_embeddings {
        reader.freeze("words.*");
    }
    let mut adam = Adam::new(reader.parameters(), AdamConfig::adam(args.lr));
    let mut position = match &args.resume.resume {
        Some(dir) => load_training(dir, &reader, &mut adam)?,
        None => TrainPosition { epoch: 1, ..TrainPosition::default() },
    };
    let checkpoints = args.resume.checkpoints();
    // The epochs a resumed run did before, from its checkpoint: loss, questions (kept as the
    // "accuracy"), dev EM and F1, seconds.
    let mut epochs: Vec<serde_json::Value> = position.history.iter().map(epoch_json).collect();
    let mut best =
        position.history.iter().filter_map(|e| e.eval).fold((-1.0, -1.0), |b, s| if s.1 > b.1 { s } else { b });
    let deadline = args.minutes.map(|m| clock + std::time::Duration::from_secs_f64(m.max(0.0) * 60.0));
    for epoch in position.epoch..=args.epochs {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            println!("time limit reached before epoch {epoch}");
            break;
        }
        let options = EpochOptions {
            progress: !args.no_progress,
            deadline,
            ..EpochOptions::new(args.batch_size, args.seed + epoch as u64)
        };
        let start = if epoch == position.epoch { (position.batches_done, position.loss) } else { Default::default() };
        let mut save = |optimizer: &dyn Optimizer, done: usize, loss: Mean| -> qa::Result<()> {
            let Some((dir, every)) = &checkpoints else { return Ok(()) };
            position.step += 1;
            if position.step.is_multiple_of(*every) {
                (position.epoch, position.batches_done, position.loss) = (epoch, done, loss);
                save_training(dir, &reader, optimizer, &position)?;
            }
            Ok(())
        };
        let stats = train_epoch_from(&reader, &mut adam, &items, &options, &device, start, &mut save)?;
        let eval_clock = Instant::now();
        let score = metric::evaluate(&dev, &predict_set(&reader, &vocab, &dev, 64, &device)?);
        println!(
            "epoch {epoch}: {} questions, loss {:.4}, {:.1} questions/s ({:.0} s); dev EM {:.2}, F1 {:.2} ({:.0} s)",
            stats.questions,
            stats.loss,
            stats.questions_per_second(),
            stats.seconds,
            score.exact_match,
            score.f1,
            eval_clock.elapsed().as_secs_f64()
        );
        let done = EpochStats {
            epoch,
            train_loss: stats.loss,
            train_accuracy: stats.questions as f64,
            eval: Some((score.exact_match, score.f1)),
            seconds: stats.seconds,
            skipped_steps: 0,
        };
        epochs.push(epoch_json(&done));
        if score.f1 > best.1 {
            best = (score.exact_match, score.f1);
            let training = json!({
                "train": args.train, "dev": args.dev, "train_questions": items.len(), "dev_questions": dev.len(),
                "epochs": args.epochs, "best_epoch": epoch, "batch_size": args.batch_size, "lr": args.lr,
                "max_passage": args.max_passage, "seed": args.seed, "vectors": args.vectors,
                "freeze_embeddings": args.freeze_embeddings, "per_epoch": epochs,
            });
            folder::save(&args.out, &reader, &vocab, training)?;
        }
        position.history.push(done);
        (position.epoch, position.batches_done, position.loss) = (epoch + 1, 0, Mean::default());
        if let Some((dir, _)) = &checkpoints {
            save_training(dir, &reader, &adam, &position)?;
        }
    }
    println!(
        "best dev EM {:.2}, F1 {:.2}; model folder {} ({:.0} s in all)",
        best.0,
        best.1,
        args.out.display(),
        clock.elapsed().as_secs_f64()
    );
    Ok(best)
}

/// An epoch's line in the folder's `per_epoch` record.
fn epoch_json(e: &EpochStats) -> serde_json::Value {
    let (em, f1) = e.eval.unwrap_or((f64::NAN, f64::NAN));
    let questions = e.train_accuracy as usize;
    json!({
        "epoch": e.epoch, "questions": questions, "loss": e.train_loss,
        "questions_per_second": questions as f64 / e.seconds.max(1e-9),
        "seconds": e.seconds, "dev_exact_match": em, "dev_f1": f1,
    })
}

/// Scores a folder on a SQuAD file; returns (EM, F1).
pub fn eval(args: &EvalArgs) -> Result<(f64, f64), CliError> {
    let device = args.device.open()?;
    enum Loaded {
        Bert(Box<transfer::BertSpanReader>),
        Attentive(Box<(Reader, nlp::vocab::Vocab)>),
    }
    let model = if crate::qa_bert::is_bert_reader(&args.model) {
        Loaded::Bert(Box::new(crate::qa_bert::load(&args.model, &device)?))
    } else {
        let (reader, vocab, _) = folder::load(&args.model, &device)?;
        Loaded::Attentive(Box::new((reader, vocab)))
    };
    let mut set = SquadSet::read(&args.data, false)?;
    if let Some(n) = args.questions {
        set = set.truncated(n);
    }
    let predictions = match &model {
        Loaded::Bert(reader) => crate::qa_bert::predict_set(reader, &set)?,
        Loaded::Attentive(attentive) => predict_set(&attentive.0, &attentive.1, &set, 64, &device)?,
    };
    let score = metric::evaluate(&set, &predictions);
    if let Some(path) = &args.predictions {
        let text = serde_json::to_vec_pretty(&predictions).map_err(|e| QaError::format(path, e.to_string()))?;
        std::fs::write(path, text).map_err(|e| QaError::io(path, e))?;
    }
    println!("{} questions: exact match {:.4}, F1 {:.4}", score.questions, score.exact_match, score.f1);
    Ok((score.exact_match, score.f1))
}

fn answer_one(args: &AnswerArgs) -> Result<(), CliError> {
    let device = args.device.open()?;
    let context = std::fs::read_to_string(&args.context).map_err(|e| QaError::io(&args.context, e))?;
    if context.trim().is_empty() {
        return Err(QaError::format(&args.context, "the context file is empty").into());
    }
    if args.question.trim().is_empty() {
        return Err(CliError::Usage("--question is empty".into()));
    }
    let (text, start, end, score) = if crate::qa_bert::is_bert_reader(&args.model) {
        let found = crate::qa_bert::answer(&crate::qa_bert::load(&args.model, &device)?, &args.question, &context)?;
        (found.text, found.start, found.end, f64::from(found.score))
    } else {
        let (reader, vocab, _) = folder::load(&args.model, &device)?;
        let found = answer(&reader, &vocab, &context, &args.question, &device)?;
        (found.text, found.start, found.end, f64::from(found.score))
    };
    if args.json {
        println!("{}", json!({"answer": text, "start": start, "end": end, "score": score}));
    } else {
        println!("{text}\t[{start}, {end})");
    }
    Ok(())
}
