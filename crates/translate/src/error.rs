//! The error type of the translation crate.

/// The result type of the translation crate.
pub type Result<T> = std::result::Result<T, TranslateError>;

/// What can go wrong while reading parallel data, training or decoding.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a parallel text file is malformed (a missing column, an empty field).
    #[error("{path}:{line}: {message}")]
    Data {
        /// The file.
        path: std::path::PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected and found.
        message: String,
    },
    /// Arguments that do not fit together (shapes, lengths, configuration).
    #[error("{0}")]
    Invalid(String),
    /// From the NLP crate (tokenizers, vocabularies).
    #[error(transparent)]
    Nlp(#[from] nlp::NlpError),
    /// From a layer.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
    /// From a tensor operation.
    #[error(transparent)]
    Tensor(#[from] tensor_core::TensorError),
}
