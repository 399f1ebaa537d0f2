//! Errors of layers, checkpoints and datasets: each names the file and what was wrong.

use std::path::PathBuf;

use tensor_core::{Shape, TensorError};

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, NnError>;

/// What can go wrong outside pure tensor math.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NnError {
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file does not have the expected format.
    #[error("{path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected and found.
        msg: String,
    },
    /// A data file's record (at `line`, where the problem is on one) is not what was expected.
    #[error("{path}{}: {msg}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Data {
        /// The data file.
        path: PathBuf,
        /// 1-based line, where the problem is on one.
        line: Option<usize>,
        /// What was expected and found.
        msg: String,
    },
    /// A checkpoint entry has another shape than the model's parameter.
    #[error("{path}: tensor `{key}` has shape {found} in the checkpoint but the model expects {expected}")]
    ShapeMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Parameter name.
        key: String,
        /// The model's shape.
        expected: Shape,
        /// The checkpoint's shape.
        found: Shape,
    },
    /// An invalid configuration or argument.
    #[error("{0}")]
    Invalid(String),
    /// A training step's loss or a gradient holds a NaN or an infinity.
    #[error(
        "step {step}: {what} is not finite (NaN or inf); lower the learning rate, clip gradients, or pass \
         --skip-nonfinite to skip such steps"
    )]
    NonFinite {
        /// The 1-based optimizer step.
        step: usize,
        /// What was not finite: the loss, or the gradient of a named parameter.
        what: String,
    },
}

impl NnError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NnError::Io { path: path.into(), source }
    }

    /// A format error on `path`.
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        NnError::Format { path: path.into(), msg: msg.into() }
    }
}
