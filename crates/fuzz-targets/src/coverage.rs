//! Edge coverage on stable Rust, from LLVM's SanitizerCoverage.
//!
//! Built with `-C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=3
//! -C llvm-args=-sanitizer-coverage-inline-8bit-counters` (stable rustc flags; `cargo xtask
//! fuzz` sets them for the workspace's crates), every edge of the instrumented code bumps a
//! byte counter, and each module hands its counter table to
//! [`__sanitizer_cov_8bit_counters_init`] before `main`. The fuzz loop clears the counters,
//! runs an input, and keeps the input when it reached an edge, or a bucket of hit counts on an
//! edge, that no earlier input did. Built without those flags nothing registers, [`edges`] is
//! 0 and the loop mutates without guidance.

use std::sync::Mutex;

/// The registered counter tables, as (start address, length).
static TABLES: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// Called by the instrumented modules' constructors with their table of 8-bit counters.
///
/// # Safety
///
/// `start..stop` must be a counter table that stays valid for the life of the process, as the
/// SanitizerCoverage runtime contract promises.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __sanitizer_cov_8bit_counters_init(start: *mut u8, stop: *mut u8) {
    let len = (stop as usize).saturating_sub(start as usize);
    if len > 0 {
        tensor_core::locks::lock(&TABLES).push((start as usize, len));
    }
}

/// Calls `each` with every counter table.
fn for_each_table(mut each: impl FnMut(&mut [u8])) {
    for &(start, len) in tensor_core::locks::lock(&TABLES).iter() {
        // SAFETY: registered tables live for the whole process (see the init hook). The
        // instrumented code bumps them without synchronisation; the fuzz loop reads and clears
        // them only between runs, on the one thread that runs targets.
        each(unsafe { std::slice::from_raw_parts_mut(start as *mut u8, len) });
    }
}

/// How many edges are instrumented (0 when built without coverage).
pub fn edges() -> usize {
    tensor_core::locks::lock(&TABLES).iter().map(|t| t.1).sum()
}

/// Zeroes every counter.
pub fn clear() {
    for_each_table(|table| table.fill(0));
}

/// The bucket of a hit count, as AFL classes them: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+.
fn bucket(hits: u8) -> u8 {
    match hits {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 4,
        4..=7 => 8,
        8..=15 => 16,
        16..=31 => 32,
        32..=127 => 64,
        128..=255 => 128,
    }
}

/// What every kept input reached: per edge, the union of hit-count buckets seen.
#[derive(Default)]
pub struct Seen {
    buckets: Vec<u8>,
}

impl Seen {
    /// Folds the counters of the last run in; true when they reached something new.
    pub fn absorb(&mut self) -> bool {
        let mut new = false;
        let mut at = 0;
        let buckets = &mut self.buckets;
        for_each_table(|table| {
            if buckets.len() < at + table.len() {
                buckets.resize(at + table.len(), 0);
            }
            for (seen, &hits) in buckets[at..at + table.len()].iter_mut().zip(table.iter()) {
                let b = bucket(hits);
                if b & !*seen != 0 {
                    *seen |= b;
                    new = true;
                }
            }
            at += table.len();
        });
        new
    }

    /// Edges reached at least once.
    pub fn covered(&self) -> usize {
        self.buckets.iter().filter(|&&b| b != 0).count()
    }
}
