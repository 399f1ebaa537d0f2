//! Fuzzing for every reader of outside input, on stable Rust.
//!
//! Each reader of a file format (IDX, the digits CSV, safetensors, model folders, ARPA, word2vec
//! vectors, vocabularies, `tokenizer.json`, the Brown JSONL, the VADER ratings, SCALE-Sim and
//! TPU configs and topologies) is a [`targets::Target`]. The [`runner`] mutates valid seed
//! files ([`mutate`]: truncation, bit flips, splices, duplicated sections, hostile numbers,
//! invalid UTF-8, very long lines) and runs the reader on each, in-process, under
//! `catch_unwind`, a per-run time limit and an allocation cap ([`alloc`]). Built with
//! SanitizerCoverage's 8-bit counters (what `cargo xtask fuzz` does; the flags are stable), the
//! loop keeps inputs that reach new edges ([`coverage`]).
//!
//! The rule each reader must meet: for any input it returns a value or a typed error that names
//! the file; it never panics, aborts or hangs, and never allocates more than 100 MiB at once or
//! in total for one run. Inputs that once broke the rule are kept in `fuzz/regressions/<target>/`
//! and replayed by this crate's tests.

pub mod alloc;
pub mod coverage;
pub mod mutate;
pub mod runner;
pub mod targets;

/// Every allocation of a program that links this crate is counted and capped.
#[global_allocator]
static ALLOCATOR: alloc::CappedAllocator = alloc::CappedAllocator;
