//! The job this process is part of: alone, or one rank of an MPI job when the binary is built
//! with `--features mpi` and started by `mpirun` (then training is data-parallel, rank 0
//! alone prints and writes files, and an error on any rank aborts the whole job).

use crate::error::CliError;

/// This process's place in a (possibly one-process) training job.
pub struct Job {
    #[cfg(feature = "mpi")]
    mpi: Option<distributed::Mpi>,
}

impl Job {
    /// Joins the MPI job when started by an MPI launcher (with the `mpi` feature); otherwise
    /// a job of one. A launcher whose processes would each be a world of one is refused.
    pub fn start() -> Result<Job, CliError> {
        #[cfg(feature = "mpi")]
        {
            let mpi = if distributed::launch::under_launcher() {
                Some(distributed::Mpi::init().map_err(|e| CliError::Usage(e.to_string()))?)
            } else {
                None
            };
            Ok(Job { mpi })
        }
        #[cfg(not(feature = "mpi"))]
        Ok(Job {})
    }

    /// This process's rank (0 when alone).
    pub fn rank(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return mpi.rank();
        }
        0
    }

    /// The number of processes (1 when alone).
    pub fn size(&self) -> usize {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return mpi.size();
        }
        1
    }

    /// Whether this process prints the report and writes the files (rank 0).
    pub fn leads(&self) -> bool {
        self.rank() == 0
    }

    /// The MPI job, when there is one.
    #[cfg(feature = "mpi")]
    pub fn mpi(&self) -> Option<&distributed::Mpi> {
        self.mpi.as_ref()
    }

    /// Reports `error` for this rank; in an MPI job it also ends every other rank
    /// (`MPI_Abort`), so none waits forever for this one.
    pub fn fail(&self, error: &CliError) {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            mpi.abort(&error.to_string());
        }
        eprintln!("tessera: {error}");
    }

    /// A job of one process, whatever launched it (the demo's own training runs).
    pub fn alone() -> Job {
        Job {
            #[cfg(feature = "mpi")]
            mpi: None,
        }
    }

    /// One line for `tessera devices` in an MPI job: this rank and the world size.
    pub fn describe(&self) -> Option<String> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = &self.mpi {
            return Some(format!("MPI rank {} of world size {}", mpi.rank(), mpi.size()));
        }
        None
    }
}
