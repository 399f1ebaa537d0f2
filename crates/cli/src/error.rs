//! Errors the command line reports (never panics on them).

use tensor_core::TensorError;

/// Everything a `tessera` command can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A tensor operation or a device failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Training, checkpoints or datasets failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
    /// Reading or modelling text failed.
    #[error(transparent)]
    Nlp(#[from] nlp::NlpError),
    /// Named-entity recognition input or a NER model folder failed.
    #[error(transparent)]
    Ner(#[from] ner::NerError),
    /// A model folder, a user's image or data file, or a prediction failed.
    #[error(transparent)]
    Use(#[from] tessera::UseError),
    /// The GLUE-style benchmark failed (a spec, a task's data, a run record).
    #[error(transparent)]
    Glue(#[from] glue::GlueError),
    /// Question answering failed (a SQuAD file, a reader's folder, a prediction).
    #[error(transparent)]
    Qa(#[from] qa::QaError),
    /// The GPU backend could not start.
    #[error(transparent)]
    Gpu(#[from] backend_gpu::GpuError),
    /// A simulated-TPU config or topology file could not be used.
    #[error(transparent)]
    Tpu(#[from] backend_tpu_sim::TpuError),
    /// Machine translation failed (parallel data, a model, decoding).
    #[error(transparent)]
    Mt(#[from] translate::TranslateError),
    /// A pretrained encoder could not be used for a task (wrong architecture, unreadable text).
    #[error(transparent)]
    Transfer(#[from] transfer::TransferError),
    /// The command's arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// A check that the command runs did not pass.
    #[error("check failed: {0}")]
    Check(String),
}
