//! The MPI job this process belongs to: initialisation with the launcher check, the panic hook
//! and error path that abort the whole job, and the collectives training uses.

use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::launch::{check_world, launcher_size};
use crate::shm::{Element, NodeReducer};
use crate::{DistError, Result};

/// Environment variable: `off` (or `0`) on any rank makes every rank use MPI's all-reduce
/// instead of the shared-memory one.
pub const SHM_VARIABLE: &str = "TESSERA_SHM_ALLREDUCE";
/// Environment variable: the shared-memory all-reduce's piece (one buffer), in KiB (default
/// 512, clamped to 4 KiB-64 MiB); the ranks use the smallest they are given.
pub const PIECE_VARIABLE: &str = "TESSERA_SHM_PIECE_KB";
const DEFAULT_PIECE_KB: u64 = 512;
/// The largest piece a rank may ask for, in KiB (each rank maps two).
const MAX_PIECE_KB: u64 = 64 << 10;

/// This process's place in an MPI job: the world communicator, its rank and size. MPI is
/// finalised when it is dropped. Create one per process, with [`Mpi::init`].
pub struct Mpi {
    // Declared first so the shared window is freed (collectively) before the rest.
    node: Option<NodeReducer>,
    world: SimpleCommunicator,
    rank: usize,
    size: usize,
    // Declared last so it is dropped (MPI_Finalize) after the communicator.
    _universe: Universe,
}

impl Mpi {
    /// Initialises MPI, refuses a world that does not match the launcher's process count (see
    /// [`check_world`]), and installs a panic hook that prints the panic with this rank and
    /// then aborts every rank of the job (`MPI_Abort`), so a panic never leaves the others
    /// waiting in a collective.
    pub fn init() -> Result<Mpi> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled).ok_or(DistError::Init)?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        let mut mpi = Mpi { node: None, world, rank, size, _universe: universe };
        if let Err(error) = check_world(launcher_size(|name| std::env::var(name).ok()), size) {
            mpi.abort(&error.to_string());
        }
        // Every rank must take the same decision: the smallest of the ranks' settings.
        let variable = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_ascii_lowercase());
        let wanted = u64::from(!matches!(variable(SHM_VARIABLE).as_deref(), Some("off" | "0" | "false")));
        let piece_kb =
            variable(PIECE_VARIABLE).and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_PIECE_KB).clamp(4, MAX_PIECE_KB);
        let mut agreed = [0u64; 2];
        mpi.world.all_reduce_into(&[wanted, piece_kb][..], &mut agreed[..], SystemOperation::min());
        if agreed[0] == 1 && size > 1 {
            match NodeReducer::new(&mpi.world, agreed[1] as usize * 1024) {
                Ok(node) => mpi.node = node,
                Err(error) => mpi.abort(&error.to_string()),
            }
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            eprintln!("rank {rank} of {size} panicked; aborting the job");
            previous(info);
            abort_world(101);
        }));
        Ok(mpi)
    }

    /// This process's rank, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes in the job.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The world communicator (for collectives of one's own).
    pub fn world(&self) -> &SimpleCommunicator {
        &self.world
    }

    /// Prints `message` with this rank and ends every process of the job (`MPI_Abort`, exit
    /// status 1): the error path, so that the other ranks never wait for this one.
    pub fn abort(&self, message: &str) -> ! {
        eprintln!("tessera: rank {} of {}: {message}", self.rank, self.size);
        abort_world(1)
    }

    /// Whether the all-reduces ([`Mpi::sum_f32`], [`Mpi::sum_f64`]) run over shared memory
    /// (every rank on this machine, and not turned off with [`SHM_VARIABLE`]).
    pub fn shared_memory(&self) -> bool {
        self.node.is_some()
    }

    /// Adds `values` up over every rank, in place; every rank gets the same bits. Every rank
    /// must call it with the same length ([`DistError::Mismatch`] otherwise, over shared
    /// memory).
    pub fn sum_f32(&self, values: &mut [f32]) -> Result<()> {
        self.sum_in_place(values)
    }

    /// Writes into `output` the sum over every rank of `input` (of `output`'s length; as
    /// [`Mpi::sum_f32`], without copying `input` first).
    pub fn sum_f32_into(&self, input: &[f32], output: &mut [f32]) -> Result<()> {
        match &self.node {
            Some(node) => node.all_reduce_sum(Some(input), output),
            None => {
                if input.len() != output.len() {
                    return Err(DistError::Lengths { input: input.len(), output: output.len() });
                }
                self.world.all_reduce_into(input, output, SystemOperation::sum());
                Ok(())
            }
        }
    }

    /// Adds `values` up over every rank, in place (as [`Mpi::sum_f32`]).
    pub fn sum_f64(&self, values: &mut [f64]) -> Result<()> {
        self.sum_in_place(values)
    }

    /// The in-place sum behind [`Mpi::sum_f32`] and [`Mpi::sum_f64`]: over shared memory when
    /// the node has a window, else `MPI_Allreduce` from a copy.
    fn sum_in_place<T: Element + Equivalence>(&self, values: &mut [T]) -> Result<()> {
        match &self.node {
            Some(node) => node.all_reduce_sum(None, values),
            None => {
                let send = values.to_vec();
                self.world.all_reduce_into(&send[..], values, SystemOperation::sum());
                Ok(())
            }
        }
    }

    /// Replaces `values` on every rank by rank 0's.
    pub fn broadcast_f32(&self, values: &mut [f32]) {
        self.world.process_at_rank(0).broadcast_into(values);
    }

    /// Every rank's `value`, in rank order.
    pub fn all_gather_u64(&self, value: u64) -> Vec<u64> {
        let mut out = vec![0u64; self.size];
        self.world.all_gather_into(&value, &mut out[..]);
        out
    }

    /// Waits until every rank gets here.
    pub fn barrier(&self) {
        self.world.barrier();
    }
}

/// `MPI_Abort` on the world communicator with `code`; never returns.
fn abort_world(code: i32) -> ! {
    use mpi::topology::Communicator as _;
    SimpleCommunicator::world().abort(code)
}
