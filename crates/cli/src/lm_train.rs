//! `tessera lm train`: a recurrent language model (tanh RNN, GRU or LSTM), a GPT (see
//! `lm_train_gpt.rs`) or a BERT-style masked LM (see `lm_train_bert.rs`) on a text corpus, written as a model folder, with validation every epoch,
//! the best model kept, a perplexity curve, and `--resume` to continue an interrupted run
//! exactly.

use std::path::PathBuf;
use std::time::Instant;

use nlp::lm::train::{OptimizerKind, Schedule, TrainConfig, Windows, train as train_lm};
use nlp::lm::{
    BPE_END, BpeVocab, LanguageModel, NeuralLm, NeuralVocab, RnnLm, RnnLmConfig, TokenStream, Vocabulary, WordVocab,
    load_neural,
};
use nlp::tokenize::BpeTokenizer;
use nn_layers::ModuleExt;
use nn_layers::layers::CellKind;
use tensor_core::TensorRng;

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::job::Job;
use crate::lm::read_text_sentences;
use crate::ngram::TextArgs;

/// The network: a recurrent cell, or a transformer.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// Elman RNN with tanh.
    Rnn,
    /// Gated recurrent unit.
    Gru,
    /// Long short-term memory.
    Lstm,
    /// A decoder-only transformer (GPT-2's architecture; options --heads, --width, --context).
    Gpt,
    /// A BERT-style encoder pretrained as a masked LM (options --heads, --width, --context,
    /// --steps, --time-limit).
    Bert,
}

/// The update rule.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerArg {
    /// SGD; the rate stays at --lr for --decay-after epochs, then is multiplied by --decay per
    /// epoch (Zaremba et al.).
    Sgd,
    /// AdamW; linear warm-up over --warmup steps, then cosine decay to --min-lr.
    Adamw,
}

/// Options of `tessera lm train`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    /// The network.
    #[arg(long, value_enum)]
    pub arch: Arch,
    /// Training text (one sentence per line, or prose with --prose; plain or .gz).
    #[arg(long)]
    pub train: PathBuf,
    /// Validation text, scored after every epoch (a GPT without it validates on the end of
    /// --train, see --split).
    #[arg(long)]
    pub valid: Option<PathBuf>,
    /// Test text, scored with the best model at the end (as one stream).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Output folder: `best/` (a model folder), `checkpoint/`, `perplexity.svg`.
    #[arg(long, short, default_value = "lm-model")]
    pub out: PathBuf,
    /// A byte-level BPE `tokenizer.json` (with `<|endoftext|>`) instead of a word vocabulary.
    #[arg(long)]
    pub bpe: Option<PathBuf>,
    /// Keep at most this many words (the most frequent) besides `<unk>` and `<eos>`.
    #[arg(long)]
    pub vocab_size: Option<usize>,
    /// Words seen fewer times in the training text become `<unk>`.
    #[arg(long, default_value_t = 1)]
    pub min_count: u64,
    /// Embedding width.
    #[arg(long, default_value_t = 200)]
    pub embed: usize,
    /// Hidden units per layer.
    #[arg(long, default_value_t = 200)]
    pub hidden: usize,
    /// Stacked recurrent layers.
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Dropout on the non-recurrent connections.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Tie the softmax weights to the embedding (needs --embed = --hidden).
    #[arg(long)]
    pub tie: bool,
    /// Uniform initialisation range of every parameter (0: PyTorch's layer defaults).
    #[arg(long, default_value_t = 0.1)]
    pub init: f64,
    /// Passes over the training text.
    #[arg(long, default_value_t = 13)]
    pub epochs: usize,
    /// Parallel streams, or windows per step for a GPT (the batch size) [default: 20, GPT 12].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Steps of back-propagation through time per window.
    #[arg(long, default_value_t = 20)]
    pub bptt: usize,
    /// The update rule [default: sgd, GPT adamw].
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate (the peak rate for AdamW) [default: 1.0, GPT 1e-3].
    #[arg(long)]
    pub lr: Option<f64>,
    /// SGD: epochs at the initial rate.
    #[arg(long, default_value_t = 4)]
    pub decay_after: usize,
    /// SGD: factor per later epoch (per epoch without improvement with --plateau).
    #[arg(long, default_value_t = 0.5)]
    pub decay: f64,
    /// SGD: instead of --decay-after, multiply the rate by --decay after each epoch whose
    /// validation perplexity is no better than the best so far (PyTorch's word-language-model
    /// example: --lr 20 --decay 0.25 --mean-loss --clip 0.25).
    #[arg(long)]
    pub plateau: bool,
    /// AdamW: warm-up steps [default: 0, GPT 100].
    #[arg(long)]
    pub warmup: Option<usize>,
    /// AdamW: final rate of the cosine decay [default: 0, GPT 1e-4].
    #[arg(long)]
    pub min_lr: Option<f64>,
    /// AdamW: decoupled weight decay [default: 0.01, GPT 0.1 on matrices only].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// AdamW: decay rate of the second moment [default: 0.999, GPT 0.99].
    #[arg(long)]
    pub beta2: Option<f64>,
    /// Largest global gradient norm (0: no clipping) [default: 5, GPT 1].
    #[arg(long)]
    pub clip: Option<f64>,
    /// Average the loss over every token instead of summing it over the window's steps (the
    /// sum is Zaremba's loss, which his learning rate of 1 assumes).
    #[arg(long)]
    pub mean_loss: bool,
    /// Seed of initialisation and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue from `<out>/checkpoint/`, exactly where it stopped.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps in all (a checkpoint is written; --resume continues).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Also write a checkpoint every this many steps.
    #[arg(long, default_value_t = 0)]
    pub checkpoint_every: usize,
    /// Parallel streams when scoring the validation text.
    #[arg(long, default_value_t = 10)]
    pub eval_streams: usize,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    #[command(flatten)]
    pub text: TextArgs,
    #[command(flatten)]
    pub gpt: crate::lm_train_gpt::GptArgs,
    #[command(flatten)]
    pub bert: crate::lm_train_bert::BertArgs,
}

/// The vocabulary of `--bpe`, or the words of the training text.
pub(crate) fn vocabulary(args: &TrainArgs, train: &[String]) -> Result<NeuralVocab, CliError> {
    Ok(match &args.bpe {
        Some(path) => NeuralVocab::Bpe(Box::new(BpeVocab::new(BpeTokenizer::load(path)?, BPE_END)?)),
        None => NeuralVocab::Words(WordVocab::build(
            train.iter().flat_map(|s| s.split_whitespace()),
            args.min_count,
            args.vocab_size,
        )),
    })
}

/// The training settings of the flags, with each architecture's defaults for those not given
/// (Zaremba's SGD for a recurrent model, nanoGPT's AdamW recipe for a GPT).
pub(crate) fn train_config(args: &TrainArgs) -> TrainConfig {
    let gpt = args.arch == Arch::Gpt;
    let pick = |given: Option<f64>, rnn: f64, transformer: f64| given.unwrap_or(if gpt { transformer } else { rnn });
    let lr = pick(args.lr, 1.0, 1e-3);
    let (optimizer, schedule) =
        match args.optimizer.unwrap_or(if gpt { OptimizerArg::Adamw } else { OptimizerArg::Sgd }) {
            OptimizerArg::Sgd if args.plateau => {
                (OptimizerKind::Sgd, Schedule::Plateau { base: lr, factor: args.decay })
            }
            OptimizerArg::Sgd => {
                (OptimizerKind::Sgd, Schedule::Step { base: lr, decay_after: args.decay_after, factor: args.decay })
            }
            OptimizerArg::Adamw => (
                OptimizerKind::AdamW { weight_decay: pick(args.weight_decay, 0.01, 0.1) },
                Schedule::WarmupCosine {
                    base: lr,
                    warmup: args.warmup.unwrap_or(if gpt { 100 } else { 0 }),
                    min: pick(args.min_lr, 0.0, 1e-4),
                },
            ),
        };
    TrainConfig {
        epochs: args.epochs,
        streams: args.batch.unwrap_or(if gpt { 12 } else { 20 }),
        window: args.bptt,
        optimizer,
        schedule,
        clip: pick(args.clip, 5.0, 1.0),
        sum_over_time: !args.mean_loss && !gpt,
        seed: args.seed,
        max_steps: args.max_steps,
        checkpoint_every: args.checkpoint_every,
        eval_streams: args.eval_streams,
        progress: true,
        windows: Windows::Contiguous,
        accumulate: args.gpt.accumulate.max(1),
        eval_windows: None,
        decay_matrices_only: gpt,
        betas: (0.9, pick(args.beta2, 0.999, 0.99)),
    }
}

/// `tessera lm train`: prints a line per epoch and a summary with the valid and test
/// perplexity and the wall time (which `cargo xtask lm-ptb` reads).
/// [`nlp::lm::train::train`], data-parallel over the ranks when `job` is an MPI job (each rank
/// its shard of the streams; rank 0 writes the files).
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_in_job<M: nlp::lm::LmNetwork>(
    job: &Job,
    lm: &NeuralLm<M>,
    train: &TokenStream,
    valid: &TokenStream,
    config: &TrainConfig,
    out: &std::path::Path,
    resume: bool,
    on_epoch: &mut dyn FnMut(&nlp::lm::train::EpochReport),
) -> Result<nlp::lm::train::TrainOutcome, CliError> {
    #[cfg(feature = "mpi")]
    if let Some(mpi) = job.mpi() {
        let mut ddp = distributed::DataParallel::new(mpi, lm.model(), distributed::DdpConfig::default())
            .map_err(nn_layers::NnError::from)?;
        return Ok(nlp::lm::train::train_on(&mut ddp, lm, train, valid, config, out, resume, on_epoch)?);
    }
    let _ = job;
    Ok(train_lm(lm, train, valid, config, out, resume, on_epoch)?)
}

/// Runs `tessera lm train` (data-parallel under `mpirun` with the `mpi` feature, for the
/// recurrent models; rank 0 prints and writes).
pub fn train(args: &TrainArgs, job: &Job) -> Result<(), CliError> {
    let sgd = args.optimizer.unwrap_or(if args.arch == Arch::Gpt { OptimizerArg::Adamw } else { OptimizerArg::Sgd });
    if args.plateau && sgd != OptimizerArg::Sgd {
        return Err(CliError::Usage("--plateau anneals SGD; AdamW follows its warm-up and cosine".into()));
    }
    match args.arch {
        Arch::Gpt => return crate::lm_train_gpt::train_gpt(args, job),
        Arch::Bert if job.size() > 1 => {
            return Err(CliError::Usage(
                "lm train --arch bert does not train data-parallel yet: run it as one process".into(),
            ));
        }
        Arch::Bert => return crate::lm_train_bert::train_bert(args),
        Arch::Rnn | Arch::Gru | Arch::Lstm => {}
    }
    let Some(valid_path) = &args.valid else {
        return Err(CliError::Usage("a recurrent model needs --valid (validation text)".into()));
    };
    let started = Instant::now();
    let device = args.device.open()?;
    let train_text = read_text_sentences(&args.train, &args.text)?;
    let valid_text = read_text_sentences(valid_path, &args.text)?;
    let vocab = vocabulary(args, &train_text)?;
    let stream = |text: &[String]| {
        let ids: Vec<Vec<u32>> = text.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect()).collect();
        TokenStream::from_sentences(&ids, vocab.end_id())
    };
    let (train_stream, valid_stream) = (stream(&train_text), stream(&valid_text));
    let cell = match args.arch {
        Arch::Rnn => CellKind::RnnTanh,
        Arch::Gru => CellKind::Gru,
        Arch::Lstm | Arch::Gpt | Arch::Bert => CellKind::Lstm,
    };
    let model_config = RnnLmConfig {
        cell,
        vocab_size: vocab.size(),
        embed: args.embed,
        hidden: args.hidden,
        layers: args.layers,
        dropout: args.dropout,
        tie_weights: args.tie,
        init_range: args.init,
    };
    let model = RnnLm::new(model_config, &mut TensorRng::new(args.seed), &device)?;
    let weights = model.num_weights();
    let lm = NeuralLm::new(model, vocab)?;
    let config = train_config(args);
    let leads = job.leads();
    if leads {
        println!(
            "training {} ({weights} weights) on {} tokens ({} ids), validating on {}; {} streams x {} steps, {} epochs{}",
            lm.describe(),
            train_stream.predicted(),
            lm.vocab().size(),
            valid_stream.predicted(),
            config.streams,
            config.window,
            config.epochs,
            if args.resume { ", resumed" } else { "" }
        );
    }
    let outcome = train_in_job(job, &lm, &train_stream, &valid_stream, &config, &args.out, args.resume, &mut |e| {
        if !leads {
            return;
        }
        println!(
            "epoch {:>2}: train ppl {:>8.2}, valid ppl {:>8.2}, lr {:.4}, {:.1} s, {:.0} tokens/s{}",
            e.epoch,
            e.train_ppl,
            e.valid_ppl,
            e.lr,
            e.seconds,
            e.tokens_per_second,
            if e.best { "  (best)" } else { "" }
        );
    })?;
    if !leads {
        return Ok(());
    }
    let best_valid = outcome.history.iter().map(|e| e.valid_ppl).reduce(f64::min);
    if !outcome.finished {
        println!("stopped after {} steps; continue with --resume", outcome.steps);
    }
    let best = args.out.join("best");
    let test = match (&args.test, best.is_dir()) {
        (Some(path), true) => {
            let model = load_neural(&best, &device)?;
            let sentences = read_text_sentences(path, &args.text)?;
            Some(model.perplexity(&sentences.iter().map(String::as_str).collect::<Vec<_>>())?.perplexity())
        }
        _ => None,
    };
    let seconds = started.elapsed().as_secs_f64();
    let train_seconds = outcome.history.iter().fold(0.0, |total, e| total + e.seconds);
    let shown = |value: Option<f64>| value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
    println!(
        "summary: valid perplexity {}, test perplexity {}, wall time {seconds:.1} s (epochs {train_seconds:.1} s); model folder {}, curve {}",
        shown(best_valid),
        shown(test),
        best.display(),
        args.out.join("perplexity.svg").display()
    );
    Ok(())
}
