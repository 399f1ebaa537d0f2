//! Errors of transfer learning: each says what was expected and what was found.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, TransferError>;

/// What can go wrong loading a pretrained body, preparing a task or training on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The pretrained path holds a model of a kind the mode or task cannot use.
    #[error("{path}: {found} cannot be used here: {expected}")]
    WrongKind {
        /// The pretrained folder or file.
        path: PathBuf,
        /// What it holds.
        found: String,
        /// What the mode or task needs.
        expected: String,
    },
    /// The labels of a classification task name a single class.
    #[error("the labels hold one class ({class}) in {examples} examples: classification needs at least two")]
    OneClass {
        /// The only class seen.
        class: i64,
        /// How many examples carry it.
        examples: usize,
    },
    /// A parameter-name pattern (freezing, LoRA targets) matched no parameter.
    #[error("the pattern `{pattern}` matches no {what}; the model's names look like {examples}")]
    NoMatch {
        /// The pattern as given.
        pattern: String,
        /// What it was matched against ("parameter", "weight matrix").
        what: &'static str,
        /// A few of the names it could have matched.
        examples: String,
    },
    /// A text the encoder's vocabulary cannot read: every piece of it is `[UNK]` (or it has
    /// none), so a model would see nothing but unknowns.
    #[error("{what} has no piece the encoder's vocabulary knows ({pieces} pieces, all [UNK]): {text:?}")]
    AllUnknown {
        /// Which text ("the context of question q17").
        what: String,
        /// Its pieces.
        pieces: usize,
        /// Its first characters.
        text: String,
    },
    /// An invalid configuration, argument or data set.
    #[error("{0}")]
    Invalid(String),
    /// Reading text or a model folder failed.
    #[error(transparent)]
    Nlp(#[from] nlp::NlpError),
    /// A layer, checkpoint or tensor operation failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
}

impl From<tensor_core::TensorError> for TransferError {
    fn from(e: tensor_core::TensorError) -> Self {
        TransferError::Nn(e.into())
    }
}
