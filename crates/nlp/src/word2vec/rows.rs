//! The weight matrices the workers share, and each worker's private copies of the few output
//! rows that every thread updates all the time.
//!
//! With hierarchical softmax every prediction updates the rows of the inner nodes at the top of
//! the Huffman tree, and with negative sampling the most frequent words are drawn as noise again
//! and again. Shared, those rows are written by both threads a few hundred nanoseconds apart, so
//! nearly every access waits for the cache line to come back from the other core. A worker
//! therefore trains its own copy of them ([`HotRows`]) and publishes what it learnt every few
//! dozen words: it adds its change since the last publish to the shared rows and starts again
//! from the result, which holds every thread's changes (the scheme of local-update SGD; with a
//! short period it stays close to the Hogwild updates it replaces).

use std::ops::Range;

/// A matrix shared by the workers. Rows are handed out without locks: two threads may update
/// one row at once and an update may be lost or mixed, which stochastic gradient descent
/// tolerates (Hogwild!, Recht et al. 2011) and which the C tool and gensim accept too. With one
/// worker there is no sharing and runs are reproducible.
pub(crate) struct HogwildRows {
    ptr: *mut f32,
    cols: usize,
    rows: usize,
}

// SAFETY: see the type's documentation; the buffer outlives the scoped worker threads.
unsafe impl Sync for HogwildRows {}
unsafe impl Send for HogwildRows {}

impl HogwildRows {
    pub(crate) fn new(data: &mut [f32], cols: usize) -> HogwildRows {
        HogwildRows { ptr: data.as_mut_ptr(), cols, rows: data.len() / cols.max(1) }
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Row `i` for reading and writing.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub(crate) fn row(&self, i: usize) -> &mut [f32] {
        self.span(i..i + 1)
    }

    /// Rows `range`, contiguous, for reading and writing.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    fn span(&self, range: Range<usize>) -> &mut [f32] {
        assert!(range.start <= range.end && range.end <= self.rows, "rows {range:?} of {}", self.rows);
        // SAFETY: in bounds; concurrent access is the Hogwild race described above.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start * self.cols), range.len() * self.cols) }
    }
}

/// A worker's own copy of a range of a shared matrix's rows (see the module documentation).
pub(crate) struct HotRows {
    range: Range<usize>,
    /// The worker's copy, which its predictions update.
    local: Vec<f32>,
    /// The shared rows as they were at the last publish.
    base: Vec<f32>,
}

impl HotRows {
    /// Copies rows `range` of `shared`.
    pub(crate) fn new(shared: &HogwildRows, range: Range<usize>) -> HotRows {
        let local = shared.span(range.clone()).to_vec();
        HotRows { range, base: local.clone(), local }
    }

    /// Adds this worker's change since the last publish to the shared rows, then continues
    /// from the shared values.
    pub(crate) fn publish(&mut self, shared: &HogwildRows) {
        let rows = shared.span(self.range.clone());
        for ((shared, local), base) in rows.iter_mut().zip(&mut self.local).zip(&mut self.base) {
            let merged = *shared + (*local - *base);
            *shared = merged;
            *local = merged;
            *base = merged;
        }
    }
}

/// The output rows a worker's predictions read and write: the shared matrix, except for the
/// rows it holds a private copy of.
#[derive(Clone, Copy)]
pub(crate) struct OutputRows<'a> {
    shared: &'a HogwildRows,
    hot_first: usize,
    hot_len: usize,
    hot: *mut f32,
}

impl<'a> OutputRows<'a> {
    /// `shared`, with the rows `hot` holds (if any) taken from it.
    pub(crate) fn new(shared: &'a HogwildRows, hot: Option<&'a mut HotRows>) -> OutputRows<'a> {
        match hot {
            Some(hot) => {
                OutputRows { shared, hot_first: hot.range.start, hot_len: hot.range.len(), hot: hot.local.as_mut_ptr() }
            }
            None => OutputRows { shared, hot_first: 0, hot_len: 0, hot: std::ptr::null_mut() },
        }
    }

    /// Floats per row.
    pub(crate) fn cols(&self) -> usize {
        self.shared.cols
    }

    /// Row `i` for reading and writing.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    pub(crate) fn row(&self, i: usize) -> &mut [f32] {
        let hot = i.wrapping_sub(self.hot_first);
        if hot < self.hot_len {
            // SAFETY: `hot` points at `hot_len` rows of `cols` floats, borrowed mutably for 'a
            // by this worker alone.
            unsafe { std::slice::from_raw_parts_mut(self.hot.add(hot * self.shared.cols), self.shared.cols) }
        } else {
            self.shared.row(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_merges_every_workers_change() {
        let mut data: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let shared = HogwildRows::new(&mut data, 3);
        let (mut a, mut b) = (HotRows::new(&shared, 1..3), HotRows::new(&shared, 1..3));
        OutputRows::new(&shared, Some(&mut a)).row(1)[0] += 10.0;
        OutputRows::new(&shared, Some(&mut b)).row(1)[0] += 100.0;
        OutputRows::new(&shared, Some(&mut b)).row(2)[2] -= 1.0;
        // Rows outside the copy are the shared ones.
        OutputRows::new(&shared, Some(&mut a)).row(3)[1] = -5.0;
        assert_eq!(shared.row(1), &[3.0, 4.0, 5.0], "nothing published yet");
        a.publish(&shared);
        b.publish(&shared);
        assert_eq!(shared.row(1), &[113.0, 4.0, 5.0]);
        assert_eq!(shared.row(2), &[6.0, 7.0, 7.0]);
        assert_eq!(shared.row(3), &[9.0, -5.0, 11.0]);
        // `a` continues from the shared rows, `b`'s change included, after its next publish.
        assert_eq!(OutputRows::new(&shared, Some(&mut a)).row(1)[0], 13.0);
        a.publish(&shared);
        assert_eq!(OutputRows::new(&shared, Some(&mut a)).row(1)[0], 113.0);
    }
}
