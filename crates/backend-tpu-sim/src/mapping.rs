//! How a layer becomes folds on the array: GEMMs and convolutions as operand matrices, and the
//! tiling of those matrices onto `rows x cols` processing elements for each dataflow.

use crate::Dataflow;

/// A matrix product `[m, k] x [k, n] -> [m, n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Gemm {
    /// Rows of the input (and output).
    pub m: usize,
    /// Columns of the output: filters, or output features.
    pub n: usize,
    /// The reduction length.
    pub k: usize,
}

impl Gemm {
    /// Multiply-accumulates the product needs.
    pub fn macs(&self) -> u64 {
        (self.m * self.n * self.k) as u64
    }
}

/// A convolution layer in SCALE-Sim's topology form (no padding; `stride` on both axes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvLayer {
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Filter height.
    pub filter_height: usize,
    /// Filter width.
    pub filter_width: usize,
    /// Input channels.
    pub channels: usize,
    /// Output channels (filters).
    pub filters: usize,
    /// Stride on both axes.
    pub stride: usize,
}

impl ConvLayer {
    /// The convolution as the GEMM the array runs: one row per output pixel (im2col), one
    /// column per filter, reduced over `filter_height · filter_width · channels`.
    pub fn as_gemm(&self) -> Gemm {
        let out = |input: usize, filter: usize| (input.saturating_sub(filter)) / self.stride.max(1) + 1;
        Gemm {
            m: out(self.height, self.filter_height) * out(self.width, self.filter_width),
            n: self.filters,
            k: self.filter_height * self.filter_width * self.channels,
        }
    }
}

/// The tiling of a GEMM onto the array for one dataflow, in SCALE-Sim's terms: the operand
/// that stays in the PEs is `spatial_rows x spatial_cols` (split into row and column folds), and
/// `temporal` vectors stream through each fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoldPlan {
    /// The GEMM.
    pub gemm: Gemm,
    /// The dataflow.
    pub dataflow: Dataflow,
    /// Array rows.
    pub rows: usize,
    /// Array columns.
    pub cols: usize,
    /// Extent mapped onto array rows (WS, IS: k; OS: m).
    pub spatial_rows: usize,
    /// Extent mapped onto array columns (WS: n; IS: m; OS: n).
    pub spatial_cols: usize,
    /// Vectors streamed per fold (WS: m; IS: n; OS: k).
    pub temporal: usize,
}

impl FoldPlan {
    /// The plan of `gemm` on a `rows x cols` array.
    pub fn new(gemm: Gemm, dataflow: Dataflow, rows: usize, cols: usize) -> Self {
        let (spatial_rows, spatial_cols, temporal) = match dataflow {
            Dataflow::WeightStationary => (gemm.k, gemm.n, gemm.m),
            Dataflow::InputStationary => (gemm.k, gemm.m, gemm.n),
            Dataflow::OutputStationary => (gemm.m, gemm.n, gemm.k),
        };
        FoldPlan { gemm, dataflow, rows, cols, spatial_rows, spatial_cols, temporal }
    }

    /// Row folds: tiles of `rows` along the spatial rows.
    pub fn row_folds(&self) -> usize {
        self.spatial_rows.div_ceil(self.rows)
    }

    /// Column folds: tiles of `cols` along the spatial columns.
    pub fn col_folds(&self) -> usize {
        self.spatial_cols.div_ceil(self.cols)
    }

    /// Every fold, in SCALE-Sim's order (column folds outer, row folds inner).
    pub fn folds(&self) -> impl Iterator<Item = Fold> + '_ {
        (0..self.col_folds()).flat_map(move |fc| {
            (0..self.row_folds()).map(move |fr| {
                let row_start = fr * self.rows;
                let col_start = fc * self.cols;
                Fold {
                    row_start,
                    rows_used: self.rows.min(self.spatial_rows - row_start),
                    col_start,
                    cols_used: self.cols.min(self.spatial_cols - col_start),
                }
            })
        })
    }
}

/// One tile of the stationary operand on the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    /// First spatial row of the tile.
    pub row_start: usize,
    /// Array rows the tile occupies.
    pub rows_used: usize,
    /// First spatial column of the tile.
    pub col_start: usize,
    /// Array columns the tile occupies.
    pub cols_used: usize,
}
