//! Errors of NER input and models: each names the file and, where it applies, the line.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, NerError>;

/// What can go wrong reading CoNLL files, building, training, saving or loading a tagger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NerError {
    /// A line of a CoNLL file is malformed (wrong column count, a tag outside IOB2).
    #[error("{path}:{line}: {msg}")]
    Data {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected and found.
        msg: String,
    },
    /// A model folder is incomplete or inconsistent.
    #[error("{path}: {msg}")]
    Folder {
        /// The file or folder.
        path: PathBuf,
        /// What was expected and found.
        msg: String,
    },
    /// An invalid configuration or argument.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Word vectors or vocabularies could not be read.
    #[error(transparent)]
    Nlp(#[from] nlp::NlpError),
    /// A layer, checkpoint or training step failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] tensor_core::TensorError),
}
