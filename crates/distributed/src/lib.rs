//! Data-parallel training over MPI, as PyTorch's DistributedDataParallel does it: every rank
//! holds the whole model, rank 0's initial parameters and buffers are broadcast to the others,
//! each rank trains on its own shard of every global batch, and the gradients are averaged
//! with all-reduce in size-bounded buckets, started during backward, in a fixed order, so that
//! every rank applies bit-identical updates. See `docs/distributed.md`.
//!
//! The parts that need no MPI are always built: the launcher check ([`launch`]) and the bucket
//! plan ([`buckets`]); the sampler is [`nn_layers::train::Replicas::shard`] over the shared
//! shuffled batches. The `mpi` feature adds [`Mpi`] (the job, its collectives, the panic hook
//! and error path that abort every rank) and [`DataParallel`] (a
//! [`nn_layers::train::Replicas`] that the training loops take). When every rank runs on one
//! machine, the all-reduces go through a shared-memory window (the private `shm` module, the
//! crate's only `unsafe` code) instead of MPI's collectives.

#![warn(missing_docs)]

pub mod buckets;
#[cfg(feature = "mpi")]
mod comm;
#[cfg(feature = "mpi")]
mod ddp;
mod error;
pub mod launch;
#[cfg(feature = "mpi")]
mod shm;

pub use buckets::{BucketPlan, Slot};
#[cfg(feature = "mpi")]
pub use comm::{Mpi, PIECE_VARIABLE, SHM_VARIABLE};
#[cfg(feature = "mpi")]
pub use ddp::{CommStats, DataParallel, DdpConfig, broadcast_module};
pub use error::{DistError, Result};
