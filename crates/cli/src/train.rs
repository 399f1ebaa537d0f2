//! `tessera train mlp` and `tessera eval`: an MLP classifier on MNIST or the digits set, with
//! progress, a summary, a checkpoint and a loss curve.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nn_layers::checkpoint::{self, load_tensors};
use nn_layers::data::{Dataset, read_digits_csv, read_mnist};
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::optim::{Adam, AdamConfig, Cosine};
use nn_layers::train::{EpochStats, FitConfig, evaluate_classifier, fit_classifier, write_loss_svg};
use nn_layers::{ModuleExt, NnError};
use tensor_core::{Device, TensorRng};

use crate::devices::DeviceKind;
use crate::error::CliError;

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

/// Options of `tessera train mlp`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Data and device.
    #[command(flatten)]
    pub data: DataArgs,
    /// Hidden units.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
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
    /// Where to write the checkpoint (a loss curve `.svg` is written beside it).
    #[arg(long, default_value = "mlp.safetensors")]
    pub out: PathBuf,
}

/// Options of `tessera eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Checkpoint written by `tessera train mlp`.
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

/// Trains and returns the per-epoch history; prints a summary line per epoch.
pub fn train(args: &TrainArgs) -> Result<Vec<EpochStats>, CliError> {
    let device = args.data.device.open()?;
    let (train_set, test_set) = load_dataset(args.data.dataset, args.data.data_dir.as_deref())?;
    let inputs = train_set.feature_dims().iter().product::<usize>();
    let classes = 1 + train_set.labels().iter().copied().max().unwrap_or(0) as usize;
    let model = mlp(&[inputs, args.hidden, classes], &mut TensorRng::new(args.seed), &device)?;
    println!(
        "training MLP {inputs}-{}-{classes} ({} weights) on {:?}: {} train / {} test examples, {} epochs, batch {}",
        args.hidden,
        model.num_weights(),
        args.data.dataset,
        train_set.len(),
        test_set.len(),
        args.epochs,
        args.batch_size
    );
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(args.lr));
    let steps = args.epochs * train_set.len().div_ceil(args.batch_size);
    let config = FitConfig {
        progress: true,
        schedule: Some(Arc::new(Cosine { base: args.lr, min: 0.0, total: steps })),
        ..FitConfig::new(args.epochs, args.batch_size, args.seed)
    };
    let history = fit_classifier(&model, &mut optimizer, &train_set, Some(&test_set), config, &device, |e| {
        let (loss, acc) = e.eval.unwrap_or((f64::NAN, f64::NAN));
        println!(
            "epoch {:>2}: train loss {:.4}, train acc {:.2}%, test loss {loss:.4}, test acc {:.2}% ({:.1} s)",
            e.epoch,
            e.train_loss,
            100.0 * e.train_accuracy,
            100.0 * acc,
            e.seconds
        );
    })?;
    checkpoint::save(&args.out, &model, Some(&optimizer))?;
    let curve = args.out.with_extension("svg");
    let train_losses: Vec<f64> = history.iter().map(|e| e.train_loss).collect();
    let test_losses: Vec<f64> = history.iter().filter_map(|e| e.eval.map(|(l, _)| l)).collect();
    write_loss_svg(&curve, "MLP cross-entropy per epoch", &[("train", &train_losses), ("test", &test_losses)])?;
    if let Some(last) = history.last() {
        let total: f64 = history.iter().map(|e| e.seconds).sum();
        println!(
            "summary: test accuracy {:.2}% after {} epochs in {total:.1} s; checkpoint {}, loss curve {}",
            100.0 * last.eval.map_or(f64::NAN, |(_, a)| a),
            history.len(),
            args.out.display(),
            curve.display()
        );
    }
    Ok(history)
}

/// Reloads a checkpoint (its layer sizes come from the stored shapes) and evaluates it.
pub fn eval(args: &EvalArgs) -> Result<(f64, f64), CliError> {
    let device = args.data.device.open()?;
    let stored = load_tensors(&args.checkpoint, &device)?;
    let mut sizes = Vec::new();
    for layer in (0..).step_by(2) {
        let Some((_, w)) = stored.iter().find(|(n, _)| *n == format!("{layer}.weight")) else { break };
        if sizes.is_empty() {
            sizes.push(w.dims()[1]);
        }
        sizes.push(w.dims()[0]);
    }
    if sizes.len() < 2 {
        return Err(NnError::format(
            &args.checkpoint,
            "no `0.weight` tensor: not an MLP checkpoint from `tessera train mlp`",
        )
        .into());
    }
    let model = mlp(&sizes, &mut TensorRng::new(0), &device)?;
    let report = checkpoint::load(&args.checkpoint, &model, None)?;
    if !report.missing.is_empty() {
        return Err(NnError::format(&args.checkpoint, format!("missing tensors {:?}", report.missing)).into());
    }
    let (_, test_set) = load_dataset(args.data.dataset, args.data.data_dir.as_deref())?;
    let (loss, accuracy) = evaluate_classifier(&model, &test_set, 1000, &device)?;
    println!(
        "{}: MLP {:?} on {:?} test ({} examples): loss {loss:.4}, accuracy {:.2}%",
        args.checkpoint.display(),
        sizes,
        args.data.dataset,
        test_set.len(),
        100.0 * accuracy
    );
    Ok((loss, accuracy))
}
