//! Errors of text input: each names the file and, where it applies, the line.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, NlpError>;

/// What can go wrong reading text or building text models.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NlpError {
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of a file is malformed.
    #[error("{path}:{line}: {msg}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What was expected and found.
        msg: String,
    },
    /// An invalid configuration or argument.
    #[error("{0}")]
    Invalid(String),
    /// A transformer was given more tokens than it has positions for.
    #[error("{tokens} tokens do not fit the model's context of {context} positions")]
    ContextTooLong {
        /// Tokens in the window (cached ones included).
        tokens: usize,
        /// Positions the model has.
        context: usize,
    },
    /// Decoding was asked to start from no token at all.
    #[error("the prompt is empty: decoding needs at least one token to start from")]
    EmptyPrompt,
    /// A layer, dataset or tensor operation failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
    /// A sampling option is out of range, or no next token could be drawn.
    #[error(transparent)]
    Sampling(#[from] crate::lm::sampling::SamplingError),
    /// Every word of a prompt is outside the model's vocabulary, so the model would be
    /// conditioned on nothing but unknown tokens.
    #[error("every word of the prompt `{prompt}` is outside the model's vocabulary of {vocab} ids")]
    UnknownPrompt {
        /// The prompt as given.
        prompt: String,
        /// Number of ids of the vocabulary.
        vocab: usize,
    },
}

impl From<tensor_core::TensorError> for NlpError {
    fn from(e: tensor_core::TensorError) -> Self {
        NlpError::Nn(e.into())
    }
}
