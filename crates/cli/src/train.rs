//! `tessera train mlp|cnn` and `tessera eval`: an MLP or a LeNet-style CNN classifier on MNIST
//! or the digits set, with progress, a summary, a checkpoint and a loss curve.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nn_layers::checkpoint::{self, load_tensors};
use nn_layers::data::{Dataset, read_digits_csv, read_mnist};
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::models::{LeNetConfig, lenet};
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{EpochStats, FitConfig, evaluate_classifier, fit_classifier, write_loss_svg};
use nn_layers::{ModuleExt, NnError};
use tensor_core::{Device, TensorRng};

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::job::Job;

/// The datasets `train` and `eval` know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetKind {
    /// MNIST, 28x28 digits, 60k train / 10k test (IDX files).
    Mnist,
    /// scikit-learn's 8x8 digits, 1,797 examples (shipped in `data/`), split 80/20.
    Digits,
}

/// Where the data is and where to run: shared by `train` and `eval`.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Dataset (`eval` uses its test split).
    #[arg(long, value_enum, default_value_t = DatasetKind::Digits)]
    pub dataset: DatasetKind,
    /// Folder of the dataset (MNIST: the four IDX files; digits: digits.csv.gz).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

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
    /// Seed of initialisation and shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the checkpoint, a loss curve `.svg` beside it (default: `mlp.safetensors`
    /// or `cnn.safetensors`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Options of `tessera eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Checkpoint written by `tessera train mlp` or `tessera train cnn`.
    #[arg(long, default_value = "mlp.safetensors")]
    pub checkpoint: PathBuf,
    /// Data and device.
    #[command(flatten)]
    pub data: DataArgs,
}

fn default_dir(kind: DatasetKind) -> PathBuf {
    match kind {
        DatasetKind::Mnist => PathBuf::from("../shared/data/mnist"),
        DatasetKind::Digits => PathBuf::from("data/sklearn-digits"),
    }
}

/// (train, test) splits of a dataset.
pub fn load_dataset(kind: DatasetKind, dir: Option<&Path>) -> Result<(Dataset, Dataset), CliError> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| default_dir(kind));
    if !dir.exists() {
        return Err(
            NnError::Invalid(format!("dataset folder {} does not exist; pass --data-dir", dir.display())).into()
        );
    }
    Ok(match kind {
        DatasetKind::Mnist => read_mnist(&dir)?,
        DatasetKind::Digits => read_digits_csv(&dir.join("digits.csv.gz"))?.split(0.8, 0),
    })
}

/// An MLP `in -> hidden -> ReLU -> ... -> classes`, named like PyTorch's `nn.Sequential`.
pub fn mlp(sizes: &[usize], rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Sequential, CliError> {
    let mut model = Sequential::new();
    for (i, pair) in sizes.windows(2).enumerate() {
        if i > 0 {
            model = model.push(Activation::Relu);
        }
        model = model.push(Linear::new(pair[0], pair[1], rng, device)?);
    }
    Ok(model)
}

/// Side of the square single-channel images in `data` (8 for the digits, 28 for MNIST).
fn image_side(data: &Dataset) -> usize {
    (data.feature_dims().iter().product::<usize>() as f64).sqrt().round() as usize
}

/// The dataset shaped for `arch`: flat vectors for the MLP, `[1, side, side]` images for the CNN.
fn shaped(arch: Arch, data: Dataset) -> Result<Dataset, CliError> {
    Ok(match arch {
        Arch::Mlp => data,
        Arch::Cnn => {
            let side = image_side(&data);
            data.with_feature_dims(vec![1, side, side])?
        }
    })
}

/// A LeNet for `side`-pixel digits with the given widths.
fn cnn(
    side: usize,
    channels: [usize; 2],
    hidden: usize,
    classes: usize,
    device: &Arc<dyn Device>,
    seed: u64,
) -> Result<(Sequential, LeNetConfig), CliError> {
    let config = LeNetConfig { channels, hidden, ..LeNetConfig::for_digits([side, side], classes) };
    Ok((lenet(&config, &mut TensorRng::new(seed), device)?, config))
}

/// Trains and returns the per-epoch history; prints a summary line per epoch. In an MPI job
/// every rank trains data-parallel on its shard of each global batch of `--batch-size`, and
/// rank 0 alone prints and writes the checkpoint and curve.
pub fn train(args: &TrainArgs, arch: Arch, job: &Job) -> Result<Vec<EpochStats>, CliError> {
    let device = args.data.device.open()?;
    let (train_set, test_set) = load_dataset(args.data.dataset, args.data.data_dir.as_deref())?;
    let (train_set, test_set) = (shaped(arch, train_set)?, shaped(arch, test_set)?);
    let classes = 1 + train_set.labels().iter().copied().max().unwrap_or(0) as usize;
    let (model, description) = match arch {
        Arch::Mlp => {
            let inputs = train_set.feature_dims().iter().product::<usize>();
            let hidden = args.hidden.unwrap_or(256);
            (
                mlp(&[inputs, hidden, classes], &mut TensorRng::new(args.seed), &device)?,
                format!("MLP {inputs}-{hidden}-{classes}"),
            )
        }
        Arch::Cnn => {
            let side = image_side(&train_set);
            let (model, c) = cnn(side, [16, 32], args.hidden.unwrap_or(128), classes, &device, args.seed)?;
            let text = format!(
                "LeNet CNN {side}x{side} -> conv{k}x{k}({}) -> pool -> conv{k}x{k}({}) -> pool -> {} -> {} -> {classes}",
                c.channels[0],
                c.channels[1],
                c.flat_features()?,
                c.hidden,
                k = c.kernel
            );
            (model, text)
        }
    };
    let ranks = if job.size() > 1 { format!(" over {} ranks", job.size()) } else { String::new() };
    if job.leads() {
        println!(
            "training {description} ({} weights) on {:?}: {} train / {} test examples, {} epochs, batch {}{ranks}",
            model.num_weights(),
            args.data.dataset,
            train_set.len(),
            test_set.len(),
            args.epochs,
            args.batch_size
        );
    }
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(args.lr));
    let config = FitConfig {
        progress: true,
        ..FitConfig::new(args.epochs, args.batch_size, args.seed).with_cosine(args.lr, train_set.len())
    };
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
    };
    let eval = Some(&test_set as &dyn nn_layers::data::Examples);
    #[cfg(feature = "mpi")]
    let history = match job.mpi() {
        Some(mpi) => {
            let mut ddp = distributed::DataParallel::new(mpi, &model, distributed::DdpConfig::default())
                .map_err(nn_layers::NnError::from)?;
            nn_layers::train::fit_classifier_on(
                &mut ddp,
                &model,
                &mut optimizer,
                &train_set,
                eval,
                config,
                &device,
                report,
            )?
        }
        None => fit_classifier(&model, &mut optimizer, &train_set, eval, config, &device, report)?,
    };
    #[cfg(not(feature = "mpi"))]
    let history = fit_classifier(&model, &mut optimizer, &train_set, eval, config, &device, report)?;
    if !job.leads() {
        return Ok(history);
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("{}.safetensors", arch.name())));
    checkpoint::save(&out, &model, Some(&optimizer))?;
    let curve = out.with_extension("svg");
    let train_losses: Vec<f64> = history.iter().map(|e| e.train_loss).collect();
    let test_losses: Vec<f64> = history.iter().filter_map(|e| e.eval.map(|(l, _)| l)).collect();
    let title = format!("{} cross-entropy per epoch", arch.name().to_uppercase());
    write_loss_svg(&curve, &title, &[("train", &train_losses), ("test", &test_losses)])?;
    if let Some(last) = history.last() {
        let total: f64 = history.iter().map(|e| e.seconds).sum();
        println!(
            "summary: test accuracy {:.2}% after {} epochs in {total:.1} s; checkpoint {}, loss curve {}",
            100.0 * last.eval.map_or(f64::NAN, |(_, a)| a),
            history.len(),
            out.display(),
            curve.display()
        );
    }
    Ok(history)
}

/// Rebuilds the model a checkpoint of `train mlp|cnn` holds, from its stored shapes.
pub fn model_from_checkpoint(
    path: &Path,
    stored: &[(String, tensor_core::Tensor)],
    test_set: &Dataset,
    device: &Arc<dyn Device>,
) -> Result<(Sequential, Arch, String), CliError> {
    let shape = |name: &str| stored.iter().find(|(n, _)| n == name).map(|(_, t)| t.dims().to_vec());
    let not_ours = || NnError::format(path, "no `0.weight` tensor: not a checkpoint from `tessera train mlp|cnn`");
    let first = shape("0.weight").ok_or_else(not_ours)?;
    if first.len() == 4 {
        let (Some(second), Some(hidden), Some(head)) = (shape("3.weight"), shape("7.weight"), shape("9.weight")) else {
            return Err(NnError::format(path, "a CNN checkpoint needs `3.weight`, `7.weight` and `9.weight`").into());
        };
        let (model, config) = cnn(image_side(test_set), [first[0], second[0]], hidden[0], head[0], device, 0)?;
        return Ok((model, Arch::Cnn, format!("CNN {config:?}")));
    }
    let mut sizes = Vec::new();
    for layer in (0..).step_by(2) {
        let Some(w) = shape(&format!("{layer}.weight")) else { break };
        if sizes.is_empty() {
            sizes.push(w[1]);
        }
        sizes.push(w[0]);
    }
    Ok((mlp(&sizes, &mut TensorRng::new(0), device)?, Arch::Mlp, format!("MLP {sizes:?}")))
}

/// Reloads a checkpoint (its layer sizes come from the stored shapes) and evaluates it.
pub fn eval(args: &EvalArgs) -> Result<(f64, f64), CliError> {
    let device = args.data.device.open()?;
    let stored = load_tensors(&args.checkpoint, &device)?;
    let (_, test_set) = load_dataset(args.data.dataset, args.data.data_dir.as_deref())?;
    let (model, arch, description) = model_from_checkpoint(&args.checkpoint, &stored, &test_set, &device)?;
    let report = checkpoint::load(&args.checkpoint, &model, None)?;
    if !report.missing.is_empty() {
        return Err(NnError::format(&args.checkpoint, format!("missing tensors {:?}", report.missing)).into());
    }
    let test_set = shaped(arch, test_set)?;
    let (loss, accuracy) = evaluate_classifier(&model, &test_set, 1000, &device)?;
    println!(
        "{}: {description} on {:?} test ({} examples): loss {loss:.4}, accuracy {:.2}%",
        args.checkpoint.display(),
        args.data.dataset,
        test_set.len(),
        100.0 * accuracy
    );
    Ok((loss, accuracy))
}
