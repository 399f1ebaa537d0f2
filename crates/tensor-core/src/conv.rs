//! The geometry of a grouped 2-D convolution, shared by the tensor API, the default device
//! bodies and the backends' native kernels.

use crate::{Result, Shape, TensorError, Window2d};

/// A convolution's window and channel groups (PyTorch's `stride`, `padding`, `dilation` and
/// `groups`; the kernel size comes from the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvSpec {
    /// Kernel, stride, padding and dilation.
    pub window: Window2d,
    /// Channel groups: input and output channels split into this many independent blocks.
    pub groups: usize,
}

/// The sizes of one convolution of an `[N, C, H, W]` input with an `[O, C/groups, kh, kw]`
/// weight, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvPlan {
    /// Batch size N.
    pub batch: usize,
    /// Channel groups.
    pub groups: usize,
    /// Input channels per group, C / groups.
    pub in_per_group: usize,
    /// Output channels per group, O / groups.
    pub out_per_group: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Output height and width.
    pub output: [usize; 2],
    /// Kernel taps, kh · kw.
    pub taps: usize,
}

impl ConvSpec {
    /// A convolution with `window` over `groups` channel groups.
    pub fn new(window: Window2d, groups: usize) -> Self {
        ConvSpec { window, groups }
    }

    /// Checks an input shape `[N, C, H, W]` against a weight shape `[O, C/groups, kh, kw]`.
    pub fn plan(&self, op: &'static str, x: &Shape, w: &Shape) -> Result<ConvPlan> {
        let mismatch = |detail: String| TensorError::ShapeMismatch { op, lhs: x.clone(), rhs: w.clone(), detail };
        if x.rank() != 4 || w.rank() != 4 {
            return Err(mismatch(" (input must be [N, C, H, W] and weight [O, C/groups, kh, kw])".into()));
        }
        let (xd, wd, groups) = (x.dims(), w.dims(), self.groups);
        if groups == 0 || !xd[1].is_multiple_of(groups) || !wd[0].is_multiple_of(groups) {
            return Err(mismatch(format!(
                " ({groups} groups must divide both the {} input and the {} output channels)",
                xd[1], wd[0]
            )));
        }
        if wd[1] != xd[1] / groups || [wd[2], wd[3]] != self.window.kernel {
            return Err(mismatch(format!(
                " (weight must be [O, {}, {}, {}] for {} input channels in {groups} groups)",
                xd[1] / groups,
                self.window.kernel[0],
                self.window.kernel[1],
                xd[1]
            )));
        }
        let output = self.window.output_size(op, [xd[2], xd[3]])?;
        Ok(ConvPlan {
            batch: xd[0],
            groups,
            in_per_group: wd[1],
            out_per_group: wd[0] / groups,
            input: [xd[2], xd[3]],
            output,
            taps: self.window.taps(),
        })
    }
}

impl ConvPlan {
    /// Output positions per plane, OH · OW.
    pub fn positions(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Input channels C.
    pub fn in_channels(&self) -> usize {
        self.groups * self.in_per_group
    }

    /// Output channels O.
    pub fn out_channels(&self) -> usize {
        self.groups * self.out_per_group
    }

    /// Rows of one group's im2col matrix, C/groups · kh · kw.
    pub fn group_rows(&self) -> usize {
        self.in_per_group * self.taps
    }

    /// The input shape `[N, C, H, W]`.
    pub fn input_shape(&self) -> Shape {
        Shape::from([self.batch, self.in_channels(), self.input[0], self.input[1]])
    }

    /// The output shape `[N, O, OH, OW]`.
    pub fn output_shape(&self) -> Shape {
        Shape::from([self.batch, self.out_channels(), self.output[0], self.output[1]])
    }

    /// The weight shape `[O, C/groups, kh, kw]` for a window `kernel`.
    pub fn weight_shape(&self, kernel: [usize; 2]) -> Shape {
        Shape::from([self.out_channels(), self.in_per_group, kernel[0], kernel[1]])
    }
}
