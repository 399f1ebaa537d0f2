//! A GLUE-style benchmark over the data Tessera ships with: tasks defined by spec files (a data
//! file, its fields, a task kind, metrics and a leakage-safe split rule), GLUE's metrics
//! implemented once, baselines from a majority class to a BiLSTM behind one [`models::Model`]
//! trait, run records and a leaderboard.
//!
//! The crate never names a backend: a run takes the device as a value, and the CLI
//! (`tessera glue run --device cpu|gpu|tpu-sim`) picks it.
//!
//! ```
//! use glue::metrics::{Metric, mcc, spearman};
//!
//! assert_eq!(mcc(&[0, 1, 1, 0], &[1, 1, 1, 1], 2), 0.0); // constant predictions
//! assert!((spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]) - 0.9487).abs() < 1e-4);
//! let spec = glue::registry::builtin().unwrap();
//! assert_eq!(spec[0].name, "movie-sst");
//! assert_eq!(spec[0].metrics, [Metric::Accuracy]);
//! ```
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod board;
pub mod data;
pub mod error;
pub mod metrics;
pub mod models;
pub mod record;
pub mod registry;
pub mod run;
pub mod spec;

pub use error::{GlueError, Result};
