//! The image datasets `train mlp|cnn`, `eval` and `inspect` read: MNIST's IDX files, the
//! built-in 8x8 digits, or the user's own images in the ImageFolder layout; each with the input
//! format a model folder records for it.

use std::path::{Path, PathBuf};

use nn_layers::NnError;
use nn_layers::data::{Dataset, read_digits_csv, read_mnist};
use tessera::images::{ImageFolder, ImageInput};

use crate::devices::DeviceKind;
use crate::error::CliError;

/// The datasets `train` and `eval` know by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetKind {
    /// MNIST, 28x28 digits, 60k train / 10k test (IDX files).
    Mnist,
    /// scikit-learn's 8x8 digits, 1,797 examples (built in), split 80/20.
    Digits,
}

/// Where the data is and where to run: shared by `train`, `eval` and `inspect`.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Dataset (`eval` uses its test split); ignored with `--images`.
    #[arg(long, value_enum, default_value_t = DatasetKind::Digits)]
    pub dataset: DatasetKind,
    /// Folder of the dataset (MNIST: the four IDX files; digits: digits.csv.gz; default: the
    /// built-in copy for digits, ../shared/data/mnist for MNIST).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Your own images instead: an ImageFolder (one subfolder of PNG/JPEG files per class).
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// A separate ImageFolder for testing (the same classes); without it, `--test-fraction` of
    /// `--images` is held out (seeded).
    #[arg(long, requires = "images")]
    pub test_images: Option<PathBuf>,
    /// Share of `--images` held out for testing when there is no `--test-images`.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Resize every image to HEIGHTxWIDTH (default: the first image's size).
    #[arg(long, value_parser = parse_size)]
    pub image_size: Option<[usize; 2]>,
    /// 1 (grey) or 3 (RGB) channels (default: grey when the images are).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub channels: Option<u8>,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

fn parse_size(text: &str) -> Result<[usize; 2], String> {
    let parse = |s: &str| s.trim().parse::<usize>().ok().filter(|&n| n > 0);
    match text.split_once(['x', 'X']) {
        Some((h, w)) => match (parse(h), parse(w)) {
            (Some(h), Some(w)) => Ok([h, w]),
            _ => Err(format!("`{text}` is not HEIGHTxWIDTH with positive numbers")),
        },
        None => parse(text).map(|n| [n, n]).ok_or_else(|| format!("`{text}` is not HEIGHTxWIDTH")),
    }
}

/// A dataset's splits with the input format and class names a model folder records.
pub struct ImageData {
    /// Training split, `[C * H * W]` per example.
    pub train: Dataset,
    /// Test split.
    pub test: Dataset,
    /// How the pixels were made (and how `predict` must make them).
    pub input: ImageInput,
    /// Class names by label.
    pub labels: Vec<String>,
    /// The data's name for messages and the folder's record.
    pub name: String,
}

fn digit_labels() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

/// Loads the data `args` names. `input`, when given (a trained model's), fixes how the user's
/// images are read; otherwise the flags and the images decide.
pub fn load(args: &DataArgs, seed: u64, input: Option<&ImageInput>) -> Result<ImageData, CliError> {
    if let Some(root) = &args.images {
        return load_folder(args, root, seed, input);
    }
    let dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => match args.dataset {
            DatasetKind::Mnist => PathBuf::from("../shared/data/mnist"),
            DatasetKind::Digits => tessera::builtin::folder("sklearn-digits")?,
        },
    };
    if !dir.exists() {
        return Err(
            NnError::Invalid(format!("dataset folder {} does not exist; pass --data-dir", dir.display())).into()
        );
    }
    let (train, test, side) = match args.dataset {
        DatasetKind::Mnist => {
            let (train, test) = read_mnist(&dir)?;
            (train, test, 28)
        }
        DatasetKind::Digits => {
            let (train, test) = read_digits_csv(&dir.join("digits.csv.gz"))?.split(0.8, 0);
            (train, test, 8)
        }
    };
    Ok(ImageData {
        train,
        test,
        input: ImageInput::unit(side, side, 1),
        labels: digit_labels(),
        name: format!("{:?}", args.dataset),
    })
}

fn load_folder(args: &DataArgs, root: &Path, seed: u64, input: Option<&ImageInput>) -> Result<ImageData, CliError> {
    let folder = ImageFolder::scan(root)?;
    let input = match input {
        Some(input) => input.clone(),
        None => {
            let mut suggested = folder.suggested_input()?;
            if let Some([h, w]) = args.image_size {
                (suggested.height, suggested.width) = (h, w);
            }
            if let Some(c) = args.channels {
                if c == 2 {
                    return Err(CliError::Usage("--channels must be 1 (grey) or 3 (RGB)".into()));
                }
                suggested = ImageInput::unit(suggested.height, suggested.width, c as usize);
            }
            suggested
        }
    };
    let all = folder.dataset(&input)?;
    let (train, test) = match &args.test_images {
        Some(test_root) => {
            let test_folder = ImageFolder::scan(test_root)?;
            folder.check_same_classes(&test_folder)?;
            (all, test_folder.dataset(&input)?)
        }
        None => {
            if !(0.0..1.0).contains(&args.test_fraction) {
                return Err(CliError::Usage(format!("--test-fraction {} is not in [0, 1)", args.test_fraction)));
            }
            all.split(1.0 - args.test_fraction, seed)
        }
    };
    Ok(ImageData { train, test, input, labels: folder.classes, name: format!("images {}", root.display()) })
}

/// The dataset shaped for a network: flat vectors for the MLP, `[C, H, W]` for the CNN.
pub fn shaped(cnn: bool, data: Dataset, input: &ImageInput) -> Result<Dataset, CliError> {
    Ok(if cnn { data.with_feature_dims(vec![input.channels, input.height, input.width])? } else { data })
}
