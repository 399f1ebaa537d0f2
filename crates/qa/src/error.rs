//! Errors of the QA crate: each names the file and, for a SQuAD record, the question or
//! paragraph at fault.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, QaError>;

/// What can go wrong reading SQuAD, training or loading a reader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QaError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not valid JSON, or lacks the structure SQuAD (or a model folder) needs.
    #[error("{path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected and found.
        msg: String,
    },
    /// One SQuAD record is wrong: an `answer_start` that does not point at its text, an empty
    /// context or question.
    #[error("{path}: {place}: {msg}")]
    Record {
        /// The file.
        path: PathBuf,
        /// Where: `question <id>` or `article <i> paragraph <j>`.
        place: String,
        /// What is wrong.
        msg: String,
    },
    /// A predictions file (id → answer text) is malformed.
    #[error("{path}: predictions: {msg}")]
    Predictions {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// An argument or setting makes no sense (an empty question, a zero batch size).
    #[error("{0}")]
    Invalid(String),
    /// A tensor operation or a device failed.
    #[error(transparent)]
    Tensor(#[from] tensor_core::TensorError),
    /// A checkpoint or training step failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
    /// Reading vectors or a vocabulary failed.
    #[error(transparent)]
    Nlp(#[from] nlp::NlpError),
}

impl QaError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        QaError::Io { path: path.into(), source }
    }

    /// A format error on `path`.
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        QaError::Format { path: path.into(), msg: msg.into() }
    }

    /// A bad record in `path` at `place`.
    pub fn record(path: impl Into<PathBuf>, place: impl Into<String>, msg: impl Into<String>) -> Self {
        QaError::Record { path: path.into(), place: place.into(), msg: msg.into() }
    }
}
