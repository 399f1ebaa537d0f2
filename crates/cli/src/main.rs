//! `tessera`: the command line of the Tessera deep-learning and NLP stack.

#![warn(missing_docs)]
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod bert_task;
mod demo;
mod devices;
mod error;
mod glue;
mod image_data;
mod inspect;
mod job;
mod language_model;
mod lm;
mod lm_demo;
mod lm_generate;
mod lm_tpu;
mod lm_train;
mod lm_train_bert;
mod lm_train_gpt;
mod memory;
mod mt;
mod mt_model;
mod mt_train;
mod ner;
mod ner_bert;
mod ngram;
mod picture;
mod predict;
mod qa;
mod qa_bert;
mod tagger;
mod textcnn;
mod tokenizer;
mod tpu_sim;
mod train;
mod transfer;
mod word2vec;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use devices::DeviceKind;

/// Tessera: tensors to language models on CPU, GPU and a simulated TPU.
#[derive(Parser)]
#[command(name = "tessera", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Tessera's main job on built-in data: every capability that exists, end to end.
    Demo {
        /// Device to run on.
        #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
        device: DeviceKind,
    },
    /// List the devices this build can run on.
    Devices,
    /// The GLUE-style benchmark: tasks, runs, leaderboard (see docs/benchmark.md).
    #[command(subcommand)]
    Glue(glue::GlueCommand),
    /// Train a model.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Evaluate a model folder written by `train mlp|cnn` on a dataset's test split.
    Eval(train::EvalArgs),
    /// Predict with a model folder of any `train` command: image files to classes, sentences
    /// to a class or to tags.
    Predict(predict::PredictArgs),
    /// Look inside a trained model.
    #[command(subcommand)]
    Inspect(InspectCommand),
    /// N-gram language models: build, perplexity, sentence scores, next words.
    #[command(subcommand)]
    Ngram(NgramCommand),
    /// Language models of every kind (neural folders, ARPA files, mixtures): train, ppl,
    /// score, next, generate.
    #[command(subcommand)]
    Lm(lm::LmCommand),
    /// Named-entity recognition (CoNLL-2003): train, eval, tag (see docs/ner-and-qa.md).
    #[command(subcommand)]
    Ner(ner::NerCommand),
    /// Machine translation: train an encoder-decoder, translate, score BLEU and chrF.
    #[command(subcommand)]
    Mt(mt::MtCommand),
    /// Byte-level BPE tokenizers: train, encode, decode.
    #[command(subcommand)]
    Tokenizer(TokenizerCommand),
    /// word2vec: train word vectors, evaluate them, query neighbours and analogies.
    #[command(subcommand)]
    Word2vec(Word2vecCommand),
    /// Extractive question answering on SQuAD v1.1: train, eval, answer.
    #[command(subcommand)]
    Qa(qa::QaCommand),
    /// Transfer learning: a pretrained body with a task head, as features, fine-tuned, with
    /// LoRA or with domain adaptation; `transfer curve` sweeps label budgets and seeds.
    Transfer(Box<transfer::TransferArgs>),
    /// The simulated TPU's cycle report for GEMMs or a SCALE-Sim topology.
    TpuSim(tpu_sim::TpuSimArgs),
    /// Run the op conformance suite against the f64 reference on a device.
    Conformance {
        /// Device to check.
        #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
        device: DeviceKind,
        /// Print every op, not only the summary.
        #[arg(long)]
        verbose: bool,
    },
}

#[derive(Subcommand)]
enum TrainCommand {
    /// An MLP classifier (Adam, cosine schedule) on MNIST, the 8x8 digits or your images.
    Mlp(train::TrainArgs),
    /// A LeNet-style CNN classifier (Adam, cosine schedule) on MNIST, the 8x8 digits or your
    /// images.
    Cnn(train::TrainArgs),
    /// A part-of-speech tagger (word and suffix embeddings, a bidirectional LSTM) on Brown or
    /// your CoNLL file.
    Tagger(tagger::TaggerArgs),
    /// A TextCNN sentence classifier on VADER's movie reviews or your labelled CSV/TSV/JSONL.
    Textcnn(textcnn::TextCnnArgs),
}

#[derive(Subcommand)]
enum NgramCommand {
    /// Count a corpus and write an ARPA model (Kneser-Ney or Katz).
    Train(ngram::TrainArgs),
    /// Perplexity of text files (`</s>` predicted and counted, OOVs scored as `<unk>`).
    Ppl(ngram::PplArgs),
    /// Log-probability of sentences token by token, and their ranking by fluency.
    Score(ngram::ScoreArgs),
    /// The most probable next words after a context.
    Next(ngram::NextArgs),
}

#[derive(Subcommand)]
enum TokenizerCommand {
    /// Learn a byte-level BPE tokenizer and save it as tokenizer.json.
    Train(tokenizer::TrainArgs),
    /// Text to token ids (or tokens).
    Encode(tokenizer::EncodeArgs),
    /// Token ids to text.
    Decode(tokenizer::DecodeArgs),
}

#[derive(Subcommand)]
enum Word2vecCommand {
    /// Train skip-gram or CBOW vectors (the C tool's flags).
    Train(word2vec::TrainArgs),
    /// Analogy accuracy and word-similarity correlation.
    Eval(word2vec::EvalArgs),
    /// Nearest neighbours by cosine similarity.
    Similar(word2vec::SimilarArgs),
    /// a is to b as c is to ?
    Analogy(word2vec::AnalogyArgs),
}

#[derive(Subcommand)]
enum InspectCommand {
    /// A CNN's first-layer kernels and one test image's feature maps, as a PNG grid.
    Cnn(inspect::InspectArgs),
}

/// Large tensors on transparent huge pages (see [`backend_cpu::HugePageAllocator`]).
#[global_allocator]
static ALLOCATOR: backend_cpu::HugePageAllocator = backend_cpu::HugePageAllocator;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Training frees and reallocates the same large tensors every step: keep them for reuse.
    backend_cpu::keep_freed_memory();
    let job = match job::Job::start() {
        Ok(job) => job,
        Err(error) => {
            eprintln!("tessera: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Demo { device } => demo::run(device),
        Command::Devices => devices::list(&job),
        Command::Glue(command) => glue::run(command),
        Command::Train(TrainCommand::Mlp(args)) => train::train(&args, train::Arch::Mlp, &job).map(|_| ()),
        Command::Train(TrainCommand::Cnn(args)) => train::train(&args, train::Arch::Cnn, &job).map(|_| ()),
        Command::Train(TrainCommand::Tagger(args)) => tagger::train(&args).map(|_| ()),
        Command::Train(TrainCommand::Textcnn(args)) => textcnn::train(&args).map(|_| ()),
        Command::Eval(args) => train::eval(&args).map(|_| ()),
        Command::Predict(args) => predict::run(&args).map(|_| ()),
        Command::Inspect(InspectCommand::Cnn(args)) => inspect::cnn(&args).map(|_| ()),
        Command::Ngram(NgramCommand::Train(args)) => ngram::train(&args),
        Command::Ngram(NgramCommand::Ppl(args)) => ngram::ppl(&args),
        Command::Ngram(NgramCommand::Score(args)) => ngram::score(&args),
        Command::Ngram(NgramCommand::Next(args)) => ngram::next(&args),
        Command::Lm(command) => lm::run(command, &job),
        Command::Ner(command) => ner::run(command),
        Command::Mt(command) => mt::run(command),
        Command::Tokenizer(TokenizerCommand::Train(args)) => tokenizer::train(&args),
        Command::Tokenizer(TokenizerCommand::Encode(args)) => tokenizer::encode(&args),
        Command::Tokenizer(TokenizerCommand::Decode(args)) => tokenizer::decode(&args),
        Command::Word2vec(Word2vecCommand::Train(args)) => word2vec::train(&args),
        Command::Word2vec(Word2vecCommand::Eval(args)) => word2vec::eval(&args),
        Command::Word2vec(Word2vecCommand::Similar(args)) => word2vec::similar(&args),
        Command::Word2vec(Word2vecCommand::Analogy(args)) => word2vec::analogy(&args),
        Command::Qa(command) => qa::run(command),
        Command::Transfer(args) => transfer::transfer(&args),
        Command::TpuSim(args) => tpu_sim::run(&args),
        Command::Conformance { device, verbose } => demo::conformance(device, verbose),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            job.fail(&error);
            ExitCode::FAILURE
        }
    }
}
