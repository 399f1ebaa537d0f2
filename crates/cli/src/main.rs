//! `tessera`: the command line of the Tessera deep-learning and NLP stack.

#![warn(missing_docs)]

mod demo;
mod devices;
mod error;
mod inspect;
mod picture;
mod tagger;
mod train;

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
    /// Train a model.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Evaluate a checkpoint written by `train mlp|cnn` on a dataset's test split.
    Eval(train::EvalArgs),
    /// Look inside a trained model.
    #[command(subcommand)]
    Inspect(InspectCommand),
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
    /// An MLP classifier (Adam, cosine schedule) on MNIST or the 8x8 digits.
    Mlp(train::TrainArgs),
    /// A LeNet-style CNN classifier (Adam, cosine schedule) on MNIST or the 8x8 digits.
    Cnn(train::TrainArgs),
    /// A part-of-speech tagger (word and suffix embeddings, a bidirectional LSTM) on Brown.
    Tagger(tagger::TaggerArgs),
}

#[derive(Subcommand)]
enum InspectCommand {
    /// A CNN's first-layer kernels and one test image's feature maps, as a PNG grid.
    Cnn(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { device } => demo::run(device),
        Command::Devices => devices::list(),
        Command::Train(TrainCommand::Mlp(args)) => train::train(&args, train::Arch::Mlp).map(|_| ()),
        Command::Train(TrainCommand::Cnn(args)) => train::train(&args, train::Arch::Cnn).map(|_| ()),
        Command::Train(TrainCommand::Tagger(args)) => tagger::train(&args).map(|_| ()),
        Command::Eval(args) => train::eval(&args).map(|_| ()),
        Command::Inspect(InspectCommand::Cnn(args)) => inspect::cnn(&args).map(|_| ()),
        Command::Conformance { device, verbose } => demo::conformance(device, verbose),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tessera: {error}");
            ExitCode::FAILURE
        }
    }
}
