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
use std::sync::atomic::AtomicU32;

use super::atomic_f32::{as_shared, load, merge};

/// A matrix the workers share, borrowed for as long as they train on it. Its rows are atomic
/// floats ([`super::atomic_f32`]) that every thread reads and writes without locks: two threads
/// may update one row at once and one's update of a float may be lost, which stochastic
/// gradient descent tolerates (Hogwild!, Recht et al. 2011) and which the C tool and gensim
/// accept too. With one worker there is no sharing and runs are reproducible.
#[derive(Clone, Copy)]
pub(crate) struct HogwildRows<'a> {
    values: &'a [AtomicU32],
    cols: usize,
    rows: usize,
}

impl<'a> HogwildRows<'a> {
    /// `data`, rows of `cols` floats, shared until the borrow ends.
    pub(crate) fn new(data: &'a mut [f32], cols: usize) -> HogwildRows<'a> {
        HogwildRows { rows: data.len() / cols.max(1), values: as_shared(data), cols }
    }

    /// Number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Row `i`.
    #[inline(always)]
    pub(crate) fn row(&self, i: usize) -> &'a [AtomicU32] {
        &self.values[i * self.cols..][..self.cols]
    }

    /// Where row `i` starts, for a kernel that moves its `cols` floats itself: one bounds check
    /// where slicing the row makes two, in the innermost loop.
    #[inline(always)]
    pub(crate) fn row_start(&self, i: usize) -> *const AtomicU32 {
        assert!(i < self.rows, "row {i} of {}", self.rows);
        self.values.as_ptr().wrapping_add(i * self.cols)
    }
}

/// A worker's own copy of a range of a shared matrix's rows (see the module documentation).
///
/// Each row of the copy starts on a cache line ([`CACHE_LINE_FLOATS`] floats apart, padded):
/// the top of the Huffman tree is read and written by every prediction, and a 100-float row at
/// a 400-byte stride starts mid-line three times in four, when six of its seven vector loads
/// straddle two lines. Padded so, two-thread skip-gram with hierarchical softmax went from
/// 0.89-0.93x to 0.97x of the speed of the non-atomic version (alternating runs), whose copies
/// were unpadded.
pub(crate) struct HotRows {
    range: Range<usize>,
    cols: usize,
    /// Floats from one row of the copy to the next: `cols` rounded up to whole cache lines.
    stride: usize,
    /// Where the first row starts in `local`, so that it starts on a cache line.
    first: usize,
    /// The worker's copy, which its predictions update.
    local: Vec<f32>,
    /// The shared rows as they were at the last publish, unpadded.
    base: Vec<f32>,
}

/// Floats in a 64-byte cache line.
const CACHE_LINE_FLOATS: usize = 16;

impl HotRows {
    /// Copies rows `range` of `shared`.
    pub(crate) fn new(shared: HogwildRows<'_>, range: Range<usize>) -> HotRows {
        let (cols, stride) = (shared.cols, shared.cols.next_multiple_of(CACHE_LINE_FLOATS));
        let local = vec![0.0; range.len() * stride + CACHE_LINE_FLOATS];
        let first = local.as_ptr().align_offset(4 * CACHE_LINE_FLOATS).min(CACHE_LINE_FLOATS);
        let mut base = vec![0.0; range.len() * cols];
        for (i, base) in range.clone().zip(base.chunks_exact_mut(cols.max(1))) {
            load(shared.row(i), base);
        }
        let mut hot = HotRows { range, cols, stride, first, local, base };
        for (r, base) in hot.base.chunks_exact(cols.max(1)).enumerate() {
            hot.local[first + r * stride..][..cols].copy_from_slice(base);
        }
        hot
    }

    /// Adds this worker's change since the last publish to the shared rows, then continues
    /// from the shared values.
    pub(crate) fn publish(&mut self, shared: HogwildRows<'_>) {
        let (cols, stride) = (self.cols, self.stride);
        let copies = self.local[self.first..].chunks_mut(stride);
        for ((i, copy), base) in self.range.clone().zip(copies).zip(self.base.chunks_exact_mut(cols.max(1))) {
            merge(shared.row(i), &mut copy[..cols], base);
        }
    }
}

/// The output rows a worker's predictions read and write: the shared matrix, except for the
/// rows it holds a private copy of.
#[derive(Clone, Copy)]
pub(crate) struct OutputRows<'a> {
    shared: HogwildRows<'a>,
    hot_first: usize,
    hot_rows: usize,
    hot_stride: usize,
    /// The private copy, borrowed from its [`HotRows`] for the view's lifetime: atomic like the
    /// shared rows so that the kernels treat every row alike, though one thread alone uses it.
    hot: &'a [AtomicU32],
}

impl<'a> OutputRows<'a> {
    /// `shared`, with the rows `hot` holds (if any) taken from it.
    pub(crate) fn new(shared: HogwildRows<'a>, hot: Option<&'a mut HotRows>) -> OutputRows<'a> {
        match hot {
            Some(hot) => OutputRows {
                shared,
                hot_first: hot.range.start,
                hot_rows: hot.range.len(),
                hot_stride: hot.stride,
                hot: as_shared(&mut hot.local[hot.first..]),
            },
            None => OutputRows { shared, hot_first: 0, hot_rows: 0, hot_stride: 0, hot: &[] },
        }
    }

    /// Floats per row.
    pub(crate) fn cols(&self) -> usize {
        self.shared.cols
    }

    /// Where row `i` starts (see [`HogwildRows::row_start`]); it holds [`Self::cols`] floats.
    #[inline(always)]
    pub(crate) fn row_start(&self, i: usize) -> *const AtomicU32 {
        let hot = i.wrapping_sub(self.hot_first);
        if hot < self.hot_rows {
            self.hot.as_ptr().wrapping_add(hot * self.hot_stride)
        } else {
            self.shared.row_start(i)
        }
    }

    /// Row `i`.
    #[inline(always)]
    pub(crate) fn row(&self, i: usize) -> &'a [AtomicU32] {
        let hot = i.wrapping_sub(self.hot_first);
        if hot < self.hot_rows { &self.hot[hot * self.hot_stride..][..self.shared.cols] } else { self.shared.row(i) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::word2vec::atomic_f32::add;

    /// Row `i` of `rows` as plain floats.
    fn row(rows: OutputRows<'_>, i: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows.cols()];
        load(rows.row(i), &mut out);
        out
    }

    /// Adds `by` to float `col` of row `i`.
    fn bump(rows: OutputRows<'_>, i: usize, col: usize, by: f32) {
        let mut delta = vec![0.0; rows.cols()];
        delta[col] = by;
        add(rows.row(i), &delta);
    }

    #[test]
    fn publishing_merges_every_workers_change() {
        let mut data: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let shared = HogwildRows::new(&mut data, 3);
        let plain = OutputRows::new(shared, None);
        let (mut a, mut b) = (HotRows::new(shared, 1..3), HotRows::new(shared, 1..3));
        bump(OutputRows::new(shared, Some(&mut a)), 1, 0, 10.0);
        bump(OutputRows::new(shared, Some(&mut b)), 1, 0, 100.0);
        bump(OutputRows::new(shared, Some(&mut b)), 2, 2, -1.0);
        // Rows outside the copy are the shared ones.
        bump(OutputRows::new(shared, Some(&mut a)), 3, 1, -15.0);
        assert_eq!(row(plain, 1), [3.0, 4.0, 5.0], "nothing published yet");
        a.publish(shared);
        b.publish(shared);
        assert_eq!(row(plain, 1), [113.0, 4.0, 5.0]);
        assert_eq!(row(plain, 2), [6.0, 7.0, 7.0]);
        assert_eq!(row(plain, 3), [9.0, -5.0, 11.0]);
        // `a` continues from the shared rows, `b`'s change included, after its next publish.
        assert_eq!(row(OutputRows::new(shared, Some(&mut a)), 1)[0], 13.0);
        a.publish(shared);
        assert_eq!(row(OutputRows::new(shared, Some(&mut a)), 1)[0], 113.0);
        assert_eq!(data[3..9], [113.0, 4.0, 5.0, 6.0, 7.0, 7.0], "the borrow over, the floats are plain again");
    }
}
