//! What can go wrong when starting or running data-parallel training.

use thiserror::Error;

/// An error of the `distributed` crate.
#[derive(Debug, Error)]
pub enum DistError {
    /// The launcher started `launcher` processes but this one's MPI world holds only `world`:
    /// the ranks do not see each other (N separate one-rank jobs, typically a binary linked
    /// against another MPI than the launcher's).
    #[error(
        "the launcher says {launcher} processes ({variable}={launcher}) but MPI's world has {world}: the ranks do not \
         see each other (separate one-rank jobs); launch with the mpirun of the MPI this binary was built against"
    )]
    LauncherMismatch {
        /// The environment variable the launcher set.
        variable: &'static str,
        /// The process count it holds.
        launcher: usize,
        /// The size of MPI's world communicator.
        world: usize,
    },
    /// `MPI_Init` did not succeed (or MPI was already initialised).
    #[error("MPI could not be initialised (was it initialised already?)")]
    Init,
    /// A parameter whose dtype the all-reduce does not carry.
    #[error("data-parallel training needs f32 parameters; `{name}` is {dtype:?}")]
    DType {
        /// The parameter's name.
        name: String,
        /// Its dtype.
        dtype: tensor_core::DType,
    },
    /// The replicas' parameters differ after an update (they must stay bit-identical).
    #[error("the ranks' parameters differ: hashes range over {0:?}")]
    OutOfSync(Vec<u64>),
    /// A tensor op failed.
    #[error(transparent)]
    Tensor(#[from] tensor_core::TensorError),
    /// A layer or checkpoint operation failed.
    #[error(transparent)]
    Nn(#[from] nn_layers::NnError),
}

impl From<DistError> for nn_layers::NnError {
    fn from(error: DistError) -> Self {
        match error {
            DistError::Nn(inner) => inner,
            DistError::Tensor(inner) => nn_layers::NnError::Tensor(inner),
            other => nn_layers::NnError::Invalid(other.to_string()),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = DistError> = std::result::Result<T, E>;
