//! What SCALE-Sim's array asks of its memories: the address each PE edge reads or writes in
//! every cycle of every fold (its *demand matrices*), and the order in which each read SRAM is
//! filled from DRAM (its *prefetch matrices*), for the three dataflows.
//!
//! Addresses are those of SCALE-Sim's operand matrices, without its per-operand offsets (each
//! SRAM only ever sees its own operand):
//!
//! - ifmap `[P, W]` (`P` output pixels, `W = R·S·C` the window): pixel `p` at output row
//!   `p / E_w`, column `p % E_w`; window element `w` at filter row `w / (S·C)`, column
//!   `(w / C) % S`, channel `w % C`; the address is `((row·stride + r)·width + col·stride + s)·C + c`,
//!   so convolution windows share addresses (im2col duplicates);
//! - filter `[W, F]`: `f·W + w`;
//! - ofmap `[P, F]`: only the number of writes per cycle matters to the write buffer.
//!
//! A GEMM `M x N x K` is SCALE-Sim's convolution of an `M x K` input with `N` filters of
//! `1 x K` and one channel.

use crate::Dataflow;
use crate::mapping::{ConvLayer, FoldPlan, Gemm};

/// A layer as SCALE-Sim's operand matrices see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operands {
    /// Input width (columns of the input map).
    width: usize,
    /// Filter width.
    filter_width: usize,
    /// Channels.
    channels: usize,
    /// Stride (both axes).
    stride: usize,
    /// Output width, `E_w`.
    out_width: usize,
    /// Output pixels, `P`.
    pub pixels: usize,
    /// Window size, `W = R·S·C`.
    pub window: usize,
    /// Filters, `F`.
    pub filters: usize,
}

impl Operands {
    /// A convolution (no padding, one stride for both axes).
    pub fn conv(c: ConvLayer) -> Operands {
        let stride = c.stride.max(1);
        let out = |input: usize, filter: usize| input.saturating_sub(filter) / stride + 1;
        let out_width = out(c.width, c.filter_width);
        Operands {
            width: c.width,
            filter_width: c.filter_width,
            channels: c.channels,
            stride,
            out_width,
            pixels: out(c.height, c.filter_height) * out_width,
            window: c.filter_height * c.filter_width * c.channels,
            filters: c.filters,
        }
    }

    /// A GEMM in SCALE-Sim's form: an `m x k` input, `n` filters of `1 x k`, one channel.
    pub fn gemm(g: Gemm) -> Operands {
        Operands::conv(ConvLayer {
            height: g.m,
            width: g.k,
            filter_height: 1,
            filter_width: g.k,
            channels: 1,
            filters: g.n,
            stride: 1,
        })
    }

    /// The address of input element `w` of output pixel `p`.
    pub fn ifmap(&self, p: usize, w: usize) -> u32 {
        let (row, col) = (p / self.out_width, p % self.out_width);
        let span = self.filter_width * self.channels;
        let (r, s, c) = (w / span, (w % span) / self.channels, w % self.channels);
        (((row * self.stride + r) * self.width + col * self.stride + s) * self.channels + c) as u32
    }

    /// The address of weight `w` of filter `f`.
    pub fn filter(&self, w: usize, f: usize) -> u32 {
        (f * self.window + w) as u32
    }

    /// One more than the largest ifmap address.
    pub fn ifmap_space(&self) -> usize {
        if self.pixels == 0 || self.window == 0 { 0 } else { self.ifmap(self.pixels - 1, self.window - 1) as usize + 1 }
    }

    /// One more than the largest filter address.
    pub fn filter_space(&self) -> usize {
        self.window * self.filters
    }
}

/// The layer tiled on a `rows x cols` array in one dataflow, as SCALE-Sim tiles it: folds in
/// column-fold-major order, each `fold_rows` cycles long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Demand {
    /// The operands.
    pub ops: Operands,
    /// The dataflow.
    pub dataflow: Dataflow,
    /// Array rows, `R`.
    pub rows: usize,
    /// Array columns, `C`.
    pub cols: usize,
    /// Spatial rows `S_r`, spatial columns `S_c` and temporal length `T` of the mapping.
    sr: usize,
    sc: usize,
    t: usize,
}

impl Demand {
    /// `ops` on a `rows x cols` array in `dataflow`.
    pub fn new(ops: Operands, dataflow: Dataflow, rows: usize, cols: usize) -> Demand {
        // The layer is the GEMM [pixels, window] x [window, filters]; its fold plan says which
        // extents each dataflow maps onto the array.
        let gemm = Gemm { m: ops.pixels, n: ops.filters, k: ops.window };
        let plan = FoldPlan::new(gemm, dataflow, rows, cols);
        Demand { ops, dataflow, rows, cols, sr: plan.spatial_rows, sc: plan.spatial_cols, t: plan.temporal }
    }

    /// Row folds and column folds.
    pub fn folds(&self) -> (usize, usize) {
        (self.sr.div_ceil(self.rows), self.sc.div_ceil(self.cols))
    }

    /// Cycles (demand rows) of one fold: `2R + C + T - 2` in WS and IS, `R + C + T - 2` in OS.
    pub fn fold_rows(&self) -> usize {
        let (r, c, t) = (self.rows, self.cols, self.t);
        match self.dataflow {
            Dataflow::OutputStationary => t + r + c - 2,
            _ => 2 * r + c + t - 2,
        }
    }

    /// The ifmap and filter addresses read, and the number of ofmap elements written, in cycle
    /// `x` of fold `(fr, fc)`, each read in SCALE-Sim's column order.
    pub fn cycle(&self, fr: usize, fc: usize, x: usize, ifmap: &mut Vec<u32>, filter: &mut Vec<u32>) -> usize {
        let (r, c, t, ops) = (self.rows, self.cols, self.t as isize, &self.ops);
        let (x, rows) = (x as isize, r as isize);
        ifmap.clear();
        filter.clear();
        // Columns `col < used` whose skewed index `x - col - lead` falls in `0..t`.
        let skewed = |used: usize, lead: isize| {
            let hi = (x - lead).min(used as isize - 1);
            let lo = (x - lead - t + 1).max(0);
            (lo..=hi).map(move |col| (col as usize, (x - lead - col) as usize))
        };
        match self.dataflow {
            Dataflow::WeightStationary => {
                let w0 = fr * r;
                for (col, p) in skewed(r.min(self.sr - w0), rows) {
                    ifmap.push(ops.ifmap(p, w0 + col));
                }
                if x < rows && w0 + r - 1 - (x as usize) < self.sr {
                    let w = w0 + r - 1 - x as usize;
                    filter.extend((fc * c..self.sc.min(fc * c + c)).map(|f| ops.filter(w, f)));
                }
                skewed(c.min(self.sc - fc * c), 2 * rows - 1).count()
            }
            Dataflow::OutputStationary => {
                let (p0, f0) = (fr * r, fc * c);
                for (col, w) in skewed(r.min(self.sr - p0), 0) {
                    ifmap.push(ops.ifmap(p0 + col, w));
                }
                for (col, w) in skewed(c.min(self.sc - f0), 0) {
                    filter.push(ops.filter(w, f0 + col));
                }
                // The fold's `R x C` outputs, rows flipped, skewed after `T - 1` idle cycles.
                let (rows_used, cols_used) = (r.min(self.sr - p0) as isize, c.min(self.sc - f0) as isize);
                (0..cols_used).filter(|&col| (0..rows_used).contains(&(rows - 1 - (x - col - (t - 1))))).count()
            }
            Dataflow::InputStationary => {
                let (w0, p0) = (fr * r, fc * c);
                if x < rows && w0 + r - 1 - (x as usize) < self.sr {
                    let w = w0 + r - 1 - x as usize;
                    ifmap.extend((p0..self.sc.min(p0 + c)).map(|p| ops.ifmap(p, w)));
                }
                for (col, f) in skewed(r.min(self.sr - w0), rows) {
                    filter.push(ops.filter(w0 + col, f));
                }
                skewed(c.min(self.sc - p0), 2 * rows - 1).count()
            }
        }
    }

    /// The order in which the ifmap SRAM is filled, and the prefetch matrix's element count
    /// (padding included, which sets its DRAM lines).
    pub fn ifmap_prefetch(&self) -> (Vec<u32>, usize) {
        let (r, c, ops) = (self.rows, self.cols, self.ops);
        let (row_folds, col_folds) = self.folds();
        match self.dataflow {
            // Each row fold's `[P, R]` block of inputs, stacked, read by anti-diagonals.
            Dataflow::WeightStationary => diagonal(ops.pixels * row_folds, r, |i, j| {
                let w = (i / ops.pixels) * r + j;
                (w < ops.window).then(|| ops.ifmap(i % ops.pixels, w))
            }),
            Dataflow::OutputStationary => diagonal(ops.window * row_folds, r, |i, j| {
                let p = (i / ops.window) * r + j;
                (p < ops.pixels).then(|| ops.ifmap(p, i % ops.window))
            }),
            // Each column fold's `[W, C]` block of the transposed inputs, row by row.
            Dataflow::InputStationary => row_major(ops.window * col_folds, c, |i, j| {
                let p = (i / ops.window) * c + j;
                (p < ops.pixels).then(|| ops.ifmap(p, i % ops.window))
            }),
        }
    }

    /// The order in which the filter SRAM is filled, and the prefetch matrix's element count.
    pub fn filter_prefetch(&self) -> (Vec<u32>, usize) {
        let (r, c, ops) = (self.rows, self.cols, self.ops);
        let (row_folds, col_folds) = self.folds();
        match self.dataflow {
            Dataflow::WeightStationary => row_major(ops.window * col_folds, c, |i, j| {
                let f = (i / ops.window) * c + j;
                (f < ops.filters).then(|| ops.filter(i % ops.window, f))
            }),
            Dataflow::OutputStationary => diagonal(ops.window * col_folds, c, |i, j| {
                let f = (i / ops.window) * c + j;
                (f < ops.filters).then(|| ops.filter(i % ops.window, f))
            }),
            Dataflow::InputStationary => diagonal(ops.filters * row_folds, r, |i, j| {
                let w = (i / ops.filters) * r + j;
                (w < ops.window).then(|| ops.filter(w, i % ops.filters))
            }),
        }
    }
}

/// The real elements of an `m x n` matrix row by row, and `m·n`.
fn row_major(m: usize, n: usize, at: impl Fn(usize, usize) -> Option<u32>) -> (Vec<u32>, usize) {
    ((0..m).flat_map(|i| (0..n).map(move |j| (i, j))).filter_map(|(i, j)| at(i, j)).collect(), m * n)
}

/// The real elements of an `m x n` matrix by anti-diagonals (`i + j` rising), each from its
/// bottom row up, and `m·n`.
fn diagonal(m: usize, n: usize, at: impl Fn(usize, usize) -> Option<u32>) -> (Vec<u32>, usize) {
    let mut out = Vec::with_capacity(m * n);
    for d in 0..(m + n).saturating_sub(1) {
        let (hi, lo) = (d.min(m - 1), (d + 1).saturating_sub(n));
        for i in (lo..=hi).rev() {
            out.extend(at(i, d - i));
        }
    }
    (out, m * n)
}
