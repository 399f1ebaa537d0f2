//! Errors of the library half: each names the file (and line, where there is one) and what is
//! wrong with it.

use std::path::PathBuf;

/// Result alias of the `tessera` library.
pub type Result<T> = std::result::Result<T, UseError>;

/// What loading a model folder, reading a user's images or text, or predicting can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UseError {
    /// An image file that cannot be read or decoded (missing, truncated, not PNG or JPEG).
    #[error("{path}: unreadable image: {msg}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What the decoder said.
        msg: String,
    },
    /// A data file or folder that does not have the expected layout or content.
    #[error("{path}{}: {msg}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Data {
        /// The file or folder.
        path: PathBuf,
        /// 1-based line, where the problem is on one.
        line: Option<usize>,
        /// What was expected and found.
        msg: String,
    },
    /// A model folder with a missing file, or files that do not agree with each other.
    #[error("{path}: {msg}")]
    Folder {
        /// The folder, or the file of it that is wrong.
        path: PathBuf,
        /// What is missing or mismatched.
        msg: String,
    },
    /// Checkpoints, datasets or layers failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
    /// Text reading or a text model failed.
    #[error(transparent)]
    Nlp(#[from] nlp::NlpError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] tensor_core::TensorError),
}

impl UseError {
    /// A problem with the data file or folder `path` (at `line`, if given).
    pub fn data(path: impl Into<PathBuf>, line: Option<usize>, msg: impl Into<String>) -> Self {
        UseError::Data { path: path.into(), line, msg: msg.into() }
    }

    /// A problem with the model folder (or one of its files) `path`.
    pub fn folder(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        UseError::Folder { path: path.into(), msg: msg.into() }
    }
}
