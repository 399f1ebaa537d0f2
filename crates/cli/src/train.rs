//! `tessera train mlp|cnn` and `tessera eval`: an MLP or a LeNet-style CNN classifier on MNIST,
//! the built-in digits or the user's ImageFolder, with progress, a summary and a model folder
//! (`tessera::folder`): weights, config (architecture, input format, labels), loss curve.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use autograd::Var;
use nn_layers::checkpoint::{self, load_tensors};
use nn_layers::data::Dataset;
use nn_layers::layers::Sequential;
use nn_layers::models::{LeNetConfig, lenet};
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{EpochStats, FitConfig, NonFinitePolicy, evaluate_classifier, fit_classifier, load_training};
use nn_layers::{Module, ModuleExt, NnError};
use serde_json::json;
use tensor_core::{ArgReduceOp, Device, Tensor, TensorRng};
use tessera::folder::{self, Architecture, FolderConfig, InputFormat, LossCurve};
use tessera::images::ImageInput;
use tessera::pipeline::mlp;

use crate::error::CliError;
use crate::image_data::{self, shaped};
pub use crate::image_data::{DataArgs, DatasetKind};
use crate::job::Job;

/// The classifier architectures `train` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// Fully connected: `in -> hidden -> ReLU -> classes`.
    Mlp,
    /// LeNet-style: two conv + ReLU + max-pool stages, `hidden` units, classes.
    Cnn,
}

impl Arch {
    fn name(self) -> &'static str {
        match self {
            Arch::Mlp => "mlp",
            Arch::Cnn => "cnn",
        }
    }
}

/// Options of `tessera train mlp|cnn`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Data and device.
    #[command(flatten)]
    pub data: DataArgs,
    /// Hidden units of the fully connected layer (default: 256 for the MLP, 128 for the CNN).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Passes over the training set.
    #[arg(long, default_value_t = 6)]
    pub epochs: usize,
    /// Examples per step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Peak learning rate (Adam, cosine decay to 0).
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Seed of initialisation, shuffles and the `--images` split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The model folder to write (default: `mlp` or `cnn`): weights.safetensors, config.json,
    /// loss.svg.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip (and count) steps whose loss or gradient holds a NaN or an infinity, instead of
    /// stopping with an error that names the step and the parameter.
    #[arg(long)]
    pub skip_nonfinite: bool,
    /// On a non-finite step, re-run it checking every op and name the first that produced a
    /// NaN or an infinity (with its input shapes) in the error.
    #[arg(long)]
    pub detect_anomaly: bool,
    /// Training checkpoints and resuming.
    #[command(flatten)]
    pub resume: ResumeArgs,
}

/// The training-checkpoint flags every `tessera train` command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ResumeArgs {
    /// Write a training checkpoint (model, optimizer, schedule and data position) into this
    /// folder every `--checkpoint-every` steps and at each epoch's end, atomically.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Steps between training checkpoints.
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: usize,
    /// Continue the run whose training checkpoint is in DIR (give the same data, model and
    /// flags); checkpoints go on being written there unless --checkpoint-dir says elsewhere.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

impl ResumeArgs {
    /// Where checkpoints go and how often: `--checkpoint-dir`, else the `--resume` folder.
    pub fn checkpoints(&self) -> Option<(PathBuf, usize)> {
        self.checkpoint_dir.clone().or_else(|| self.resume.clone()).map(|d| (d, self.checkpoint_every.max(1)))
    }

    /// A usage error when checkpoints or resuming were asked of a trainer that has neither
    /// (`what` names it, e.g. "--encoder").
    pub fn refuse(&self, what: &str) -> Result<(), CliError> {
        match self.checkpoint_dir.is_some() || self.resume.is_some() {
            true => Err(CliError::Usage(format!("--checkpoint-dir and --resume are not supported with {what}"))),
            false => Ok(()),
        }
    }
}

/// Options of `tessera eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// A model folder written by `tessera train mlp|cnn`, or a single-file checkpoint of an
    /// older `train`.
    #[arg(long, default_value = "mlp")]
    pub checkpoint: PathBuf,
    /// Data and device.
    #[command(flatten)]
    pub data: DataArgs,
    /// Evaluate only the first N test examples.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Also write each test example's predicted class as JSON Lines here.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
}

/// A LeNet for `input` with the given widths.
fn cnn_config(input: &ImageInput, channels: [usize; 2], hidden: usize, classes: usize) -> LeNetConfig {
    LeNetConfig {
        in_channels: input.channels,
        channels,
        hidden,
        ..LeNetConfig::for_digits([input.height, input.width], classes)
    }
}

/// Trains and returns the per-epoch history; prints a summary line per epoch and writes the
/// model folder. In an MPI job every rank trains data-parallel on its shard of each global
/// batch of `--batch-size`, and rank 0 alone prints and writes the folder and checkpoints.
pub fn train(args: &TrainArgs, arch: Arch, job: &Job) -> Result<Vec<EpochStats>, CliError> {
    let device = args.data.device.open()?;
    let data = image_data::load(&args.data, args.seed, None)?;
    let input = data.input.clone();
    let (train_set, test_set) =
        (shaped(arch == Arch::Cnn, data.train, &input)?, shaped(arch == Arch::Cnn, data.test, &input)?);
    let classes = data.labels.len();
    let mut rng = TensorRng::new(args.seed);
    let (model, architecture, description) = match arch {
        Arch::Mlp => {
            let hidden = args.hidden.unwrap_or(256);
            let sizes = vec![input.len(), hidden, classes];
            (
                mlp(&sizes, &mut rng, &device)?,
                Architecture::Mlp { sizes },
                format!("MLP {}-{hidden}-{classes}", input.len()),
            )
        }
        Arch::Cnn => {
            let c = cnn_config(&input, [16, 32], args.hidden.unwrap_or(128), classes);
            let text = format!(
                "LeNet CNN {}x{}{} -> conv{k}x{k}({}) -> pool -> conv{k}x{k}({}) -> pool -> {} -> {} -> {classes}",
                input.height,
                input.width,
                if input.channels == 3 { " RGB" } else { "" },
                c.channels[0],
                c.channels[1],
                c.flat_features()?,
                c.hidden,
                k = c.kernel
            );
            (lenet(&c, &mut rng, &device)?, Architecture::LeNet(c), text)
        }
    };
    let ranks = if job.size() > 1 { format!(" over {} ranks", job.size()) } else { String::new() };
    if job.leads() {
        println!(
            "training {description} ({} weights) on {}: {} train / {} test examples, {} epochs, batch {}{ranks}",
            model.num_weights(),
            data.name,
            train_set.len(),
            test_set.len(),
            args.epochs,
            args.batch_size
        );
    }
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(args.lr));
    let nonfinite = if args.skip_nonfinite { NonFinitePolicy::Skip } else { NonFinitePolicy::Stop };
    let resume = args.resume.resume.as_ref().map(|dir| load_training(dir, &model, &mut optimizer)).transpose()?;
    let checkpoint = args.resume.checkpoints();
    let config = FitConfig {
        progress: true,
        nonfinite,
        detect_anomaly: args.detect_anomaly,
        checkpoint,
        resume,
        ..FitConfig::new(args.epochs, args.batch_size, args.seed).with_cosine(args.lr, train_set.len())
    };
    let test: Option<&dyn nn_layers::data::Examples> = (!test_set.is_empty()).then_some(&test_set);
    let report = |e: &EpochStats| {
        if !job.leads() {
            return;
        }
        let (loss, acc) = e.eval.unwrap_or((f64::NAN, f64::NAN));
        println!(
            "epoch {:>2}: train loss {:.4}, train acc {:.2}%, test loss {loss:.4}, test acc {:.2}% ({:.1} s)",
            e.epoch,
            e.train_loss,
            100.0 * e.train_accuracy,
            100.0 * acc,
            e.seconds
        );
        if e.skipped_steps > 0 {
            println!("epoch {:>2}: skipped {} steps with a non-finite loss or gradient", e.epoch, e.skipped_steps);
        }
    };
    #[cfg(feature = "mpi")]
    let history = match job.mpi() {
        Some(mpi) => {
            let mut ddp = distributed::DataParallel::new(mpi, &model, distributed::DdpConfig::default())
                .map_err(NnError::from)?;
            nn_layers::train::fit_classifier_on(
                &mut ddp,
                &model,
                &mut optimizer,
                &train_set,
                test,
                config,
                &device,
                report,
            )?
        }
        None => fit_classifier(&model, &mut optimizer, &train_set, test, config, &device, report)?,
    };
    #[cfg(not(feature = "mpi"))]
    let history = fit_classifier(&model, &mut optimizer, &train_set, test, config, &device, report)?;
    if !job.leads() {
        return Ok(history);
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(arch.name()));
    let accuracy = history.last().and_then(|e| e.eval).map_or(f64::NAN, |(_, a)| a);
    let folder_config = FolderConfig {
        architecture,
        input: InputFormat::Image(input),
        labels: data.labels,
        training: json!({
            "command": format!("train {}", arch.name()), "data": data.name, "epochs": args.epochs,
            "batch_size": args.batch_size, "lr": args.lr, "optimizer": "adam, cosine schedule", "seed": args.seed,
            "train_examples": train_set.len(), "test_examples": test_set.len(), "test_accuracy": accuracy,
        }),
        loss: LossCurve {
            train: history.iter().map(|e| e.train_loss).collect(),
            test: history.iter().filter_map(|e| e.eval.map(|(l, _)| l)).collect(),
        },
    };
    folder::save(&out, &folder_config, &model, &[])?;
    let total: f64 = history.iter().map(|e| e.seconds).sum();
    println!(
        "summary: test accuracy {:.2}% after {} epochs in {total:.1} s; model folder {}",
        100.0 * accuracy,
        history.len(),
        out.display()
    );
    Ok(history)
}

/// A trained image classifier: the network, how it reads images, its class names, and what
/// to call it in messages.
pub struct LoadedClassifier {
    /// The network (`Sequential` of `train mlp|cnn`).
    pub model: Sequential,
    /// Whether it is the CNN.
    pub arch: Arch,
    /// How it reads images (a guess from the data for an old single-file checkpoint).
    pub input: Option<ImageInput>,
    /// Class names (digits for an old checkpoint).
    pub labels: Vec<String>,
    /// Architecture in words.
    pub description: String,
}

/// Loads a model folder of `train mlp|cnn`, or a single-file checkpoint written before folders
/// (its layer sizes come from the stored shapes, its image size from `data`).
pub fn load_classifier(path: &Path, data: &DataArgs, device: &Arc<dyn Device>) -> Result<LoadedClassifier, CliError> {
    if folder::is_folder(path) {
        let config = FolderConfig::read(path)?;
        let InputFormat::Image(input) = &config.input else {
            return Err(tessera::UseError::folder(
                path,
                "not an image classifier: use `tessera predict` for text models",
            )
            .into());
        };
        let mut rng = TensorRng::new(0);
        let (model, arch, description) = match &config.architecture {
            Architecture::Mlp { sizes } => (mlp(sizes, &mut rng, device)?, Arch::Mlp, format!("MLP {sizes:?}")),
            Architecture::LeNet(c) => (lenet(c, &mut rng, device)?, Arch::Cnn, format!("CNN {c:?}")),
            other => {
                return Err(tessera::UseError::folder(
                    path,
                    format!("a {} folder, not an image classifier", other.name()),
                )
                .into());
            }
        };
        folder::load_weights(path, &model)?;
        return Ok(LoadedClassifier { model, arch, input: Some(input.clone()), labels: config.labels, description });
    }
    let device_tensors = load_tensors(path, device)?;
    let shape = |name: &str| device_tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t.dims().to_vec());
    let not_ours = || NnError::format(path, "no `0.weight` tensor: not a checkpoint from `tessera train mlp|cnn`");
    let first = shape("0.weight").ok_or_else(not_ours)?;
    let labels = (0..10).map(|d| d.to_string()).collect();
    let (model, arch, description) = if first.len() == 4 {
        let (Some(second), Some(hidden), Some(head)) = (shape("3.weight"), shape("7.weight"), shape("9.weight")) else {
            return Err(NnError::format(path, "a CNN checkpoint needs `3.weight`, `7.weight` and `9.weight`").into());
        };
        let side = image_data::load(data, 0, None)?.input.height;
        let config = cnn_config(&ImageInput::unit(side, side, first[1]), [first[0], second[0]], hidden[0], head[0]);
        (lenet(&config, &mut TensorRng::new(0), device)?, Arch::Cnn, format!("CNN {config:?}"))
    } else {
        let mut sizes = Vec::new();
        for layer in (0..).step_by(2) {
            let Some(w) = shape(&format!("{layer}.weight")) else { break };
            if sizes.is_empty() {
                sizes.push(w[1]);
            }
            sizes.push(w[0]);
        }
        (mlp(&sizes, &mut TensorRng::new(0), device)?, Arch::Mlp, format!("MLP {sizes:?}"))
    };
    let report = checkpoint::load(path, &model, None)?;
    if !report.missing.is_empty() {
        return Err(NnError::format(path, format!("missing tensors {:?}", report.missing)).into());
    }
    Ok(LoadedClassifier { model, arch, input: None, labels, description })
}

/// Reloads a model folder (or an old checkpoint) and evaluates it on the test split.
pub fn eval(args: &EvalArgs) -> Result<(f64, f64), CliError> {
    let device = args.data.device.open()?;
    let loaded = load_classifier(&args.checkpoint, &args.data, &device)?;
    let data = image_data::load(&args.data, 0, loaded.input.as_ref())?;
    if let Some(input) = &loaded.input
        && (input.len() != data.input.len() || data.labels.len() != loaded.labels.len())
    {
        return Err(CliError::Usage(format!(
            "{} reads {}x{}x{} images into {} classes but {} has {}x{}x{} images in {} classes",
            args.checkpoint.display(),
            input.channels,
            input.height,
            input.width,
            loaded.labels.len(),
            data.name,
            data.input.channels,
            data.input.height,
            data.input.width,
            data.labels.len()
        )));
    }
    let mut test_set = shaped(loaded.arch == Arch::Cnn, data.test, &data.input)?;
    if let Some(limit) = args.limit {
        test_set = test_set.subset(&(0..limit.min(test_set.len())).collect::<Vec<_>>());
    }
    let (loss, accuracy) = evaluate_classifier(&loaded.model, &test_set, 1000, &device)?;
    if let Some(path) = &args.predictions {
        write_predictions(path, &loaded, &test_set, &device)?;
    }
    println!(
        "{}: {} on {} test ({} examples): loss {loss:.4}, accuracy {:.2}%",
        args.checkpoint.display(),
        loaded.description,
        data.name,
        test_set.len(),
        100.0 * accuracy
    );
    Ok((loss, accuracy))
}

/// One JSON line per test example: its index, true label and predicted label (by name).
fn write_predictions(
    path: &Path,
    loaded: &LoadedClassifier,
    test_set: &Dataset,
    device: &Arc<dyn Device>,
) -> Result<(), CliError> {
    let mut lines = Vec::new();
    for start in (0..test_set.len()).step_by(1000) {
        let indices: Vec<usize> = (start..(start + 1000).min(test_set.len())).collect();
        let (x, y) = test_set.batch(&indices, device)?;
        let logits = autograd::no_grad(|| loaded.model.forward(&Var::constant(x)))?.value();
        let best = logits.try_arg_reduce(ArgReduceOp::ArgMax, -1, false)?.to_vec::<i64>()?;
        let name = |i: i64| loaded.labels.get(i as usize).cloned().unwrap_or_else(|| i.to_string());
        for ((&i, label), predicted) in indices.iter().zip(Tensor::to_vec::<i64>(&y)?).zip(best) {
            lines.push(json!({"index": i, "label": name(label), "predicted": name(predicted)}).to_string());
        }
    }
    nn_layers::checkpoint::write_atomically(path, |out| {
        for line in &lines {
            writeln!(out, "{line}")?;
        }
        Ok(())
    })?;
    Ok(())
}
