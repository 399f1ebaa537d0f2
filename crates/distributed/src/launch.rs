//! What the launcher told this process: whether it runs under an MPI launcher at all, and how
//! many processes that launcher started (to catch ranks that do not see each other).

use crate::{DistError, Result};

/// The variables launchers set to the number of processes they started: Open MPI's `mpirun`,
/// MPICH's and Intel MPI's Hydra (`PMI_SIZE`), MVAPICH2.
pub const SIZE_VARIABLES: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"];

/// The first launcher variable set in `lookup` and the process count it holds.
pub fn launcher_size(lookup: impl Fn(&str) -> Option<String>) -> Option<(&'static str, usize)> {
    SIZE_VARIABLES.iter().find_map(|&name| lookup(name).and_then(|v| v.trim().parse().ok()).map(|n| (name, n)))
}

/// Whether this process was started by an MPI launcher (one of [`SIZE_VARIABLES`] is set).
pub fn under_launcher() -> bool {
    launcher_size(|name| std::env::var(name).ok()).is_some()
}

/// Refuses a world smaller than the launcher's count: N processes that each initialised MPI
/// alone would otherwise train N unrelated models while looking like one job.
pub fn check_world(launcher: Option<(&'static str, usize)>, world: usize) -> Result<()> {
    match launcher {
        Some((variable, count)) if count != world => {
            Err(DistError::LauncherMismatch { variable, launcher: count, world })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separate_one_rank_jobs_are_refused() {
        let env = |name: &str| (name == "PMI_SIZE").then(|| "4".to_string());
        let launcher = launcher_size(env);
        assert_eq!(launcher, Some(("PMI_SIZE", 4)));
        let error = check_world(launcher, 1).unwrap_err();
        assert!(error.to_string().contains("PMI_SIZE=4") && error.to_string().contains("world has 1"), "{error}");
        check_world(launcher, 4).unwrap();
        check_world(None, 1).unwrap();
        assert_eq!(launcher_size(|_| None), None);
    }
}
