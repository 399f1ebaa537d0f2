//! Errors of the benchmark: each names the file and, for a spec, the key at fault.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, GlueError>;

/// What can go wrong loading a task, training a baseline or reading a run record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GlueError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A spec file is not valid JSON.
    #[error("{file}: malformed spec: {msg}")]
    MalformedSpec {
        /// The spec file.
        file: String,
        /// The parser's message (with line and column).
        msg: String,
    },
    /// A spec lacks a key it needs.
    #[error("{file}: missing key `{key}`: {why}")]
    MissingKey {
        /// The spec file.
        file: String,
        /// Dotted path of the key (`split.fractions`).
        key: String,
        /// What the key is for.
        why: String,
    },
    /// A spec key has a value of the wrong type or out of range.
    #[error("{file}: key `{key}`: {msg}")]
    BadKey {
        /// The spec file.
        file: String,
        /// Dotted path of the key.
        key: String,
        /// What was expected and found.
        msg: String,
    },
    /// A spec names a metric this crate does not compute.
    #[error("{file}: key `{key}`: unknown metric `{metric}` (known: {known})")]
    UnknownMetric {
        /// The spec file.
        file: String,
        /// Dotted path of the key (`metrics[1]`).
        key: String,
        /// The name given.
        metric: String,
        /// The names that exist.
        known: String,
    },
    /// A data row lacks a field the spec names, or a value cannot be read.
    #[error("{path}:{line}: {msg}")]
    Data {
        /// The data file.
        path: PathBuf,
        /// 1-based line (or record) number.
        line: usize,
        /// What was expected and found.
        msg: String,
    },
    /// A task or model name that is not registered, or an invalid argument.
    #[error("{0}")]
    Invalid(String),
    /// Text processing failed.
    #[error(transparent)]
    Nlp(#[from] nlp::NlpError),
    /// A layer, dataset or optimizer failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] tensor_core::TensorError),
    /// A pretrained model failed to load or train.
    #[error(transparent)]
    Transfer(#[from] transfer::TransferError),
}

impl GlueError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        GlueError::Io { path: path.into(), source }
    }
}
