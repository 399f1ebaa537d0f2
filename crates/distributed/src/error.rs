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
    /// The node's shared-memory window could not be set up, or an earlier all-reduce over it
    /// failed (after which the ranks no longer agree where they are).
    #[error("shared-memory all-reduce: {0}")]
    SharedMemory(String),
    /// An all-reduce's input and output differ in length.
    #[error("all-reduce of {input} elements into {output}")]
    Lengths {
        /// The input's length.
        input: usize,
        /// The output's.
        output: usize,
    },
    /// The ranks called an all-reduce with different lengths or element types.
    #[error("all-reduce mismatch: this rank sums {ours} elements, rank {rank} {theirs} (or another element type)")]
    Mismatch {
        /// The other rank.
        rank: usize,
        /// This rank's element count.
        ours: u64,
        /// The other rank's.
        theirs: u64,
    },
    /// A rank this one waits for in a shared-memory all-reduce has exited.
    #[error("rank {rank} exited while this rank waited for it in an all-reduce")]
    RankGone {
        /// The rank that exited.
        rank: usize,
    },
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
