//! `tessera`: the command line of the Tessera deep-learning and NLP stack.

#![warn(missing_docs)]

mod demo;
mod devices;
mod error;
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
    /// Evaluate a checkpoint written by `train mlp` on a dataset's test split.
    Eval(train::EvalArgs),
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { device } => demo::run(device),
        Command::Devices => devices::list(),
        Command::Train(TrainCommand::Mlp(args)) => train::train(&args).map(|_| ()),
        Command::Eval(args) => train::eval(&args).map(|_| ()),
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
