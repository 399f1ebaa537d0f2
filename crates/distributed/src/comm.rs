//! The MPI job this process belongs to: initialisation with the launcher check, the panic hook
//! and error path that abort the whole job, and the collectives training uses.

use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::launch::{check_world, launcher_size};
use crate::{DistError, Result};

/// This process's place in an MPI job: the world communicator, its rank and size. MPI is
/// finalised when it is dropped. Create one per process, with [`Mpi::init`].
pub struct Mpi {
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
        let mpi = Mpi { world, rank, size, _universe: universe };
        if let Err(error) = check_world(launcher_size(|name| std::env::var(name).ok()), size) {
            mpi.abort(&error.to_string());
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

    /// Adds `values` up over every rank, in place.
    pub fn sum_f64(&self, values: &mut [f64]) {
        let send = values.to_vec();
        self.world.all_reduce_into(&send[..], values, SystemOperation::sum());
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
