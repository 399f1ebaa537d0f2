//! Errors from files the simulator reads: what was wrong and where.

use std::path::Path;

/// A config or topology file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TpuError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file's text does not parse.
    #[error("{path}:{line}: {msg}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What was wrong.
        msg: String,
    },
    /// A config value is missing or invalid.
    #[error("{origin}: {key}: {msg}")]
    Config {
        /// The file or preset.
        origin: String,
        /// The section and key.
        key: String,
        /// What was wrong.
        msg: String,
    },
}

impl TpuError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TpuError::Io { path: path.display().to_string(), source }
    }

    pub(crate) fn parse(path: &Path, line: usize, msg: impl Into<String>) -> Self {
        TpuError::Parse { path: path.display().to_string(), line, msg: msg.into() }
    }
}
