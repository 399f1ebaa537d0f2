//! The semantics of each elementwise, reduction and window op, defined once.
//!
//! Backends must compute exactly these functions; the CPU backend calls [`UnaryOp::apply`] and
//! [`BinaryOp::apply`] itself, other backends translate them (the GPU into WGSL). The
//! conformance reference computes each formula independently (in `conformance/formulas`), so a
//! wrong formula here fails conformance.

use crate::{DType, Float, Result, TensorError};

/// Elementwise functions of one float operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    /// -x.
    Neg,
    /// e^x.
    Exp,
    /// ln x.
    Log,
    /// sqrt x.
    Sqrt,
    /// |x|.
    Abs,
    /// 1 / x.
    Recip,
    /// x².
    Square,
    /// 1 / (1 + e^-x), evaluated stably for large |x|.
    Sigmoid,
    /// tanh x.
    Tanh,
    /// max(x, 0).
    Relu,
    /// x · Φ(x) with the exact normal CDF (PyTorch's default `gelu`).
    Gelu,
    /// x · Φ(x) with the tanh approximation (PyTorch's `gelu(approximate="tanh")`).
    GeluTanh,
    /// sin x.
    Sin,
    /// cos x.
    Cos,
    /// The error function erf x.
    Erf,
    /// -1, 0 or 1.
    Sign,
    /// ln(1 + e^x), evaluated stably.
    Softplus,
    /// x if x > 0 else slope · x.
    LeakyRelu(f64),
    /// mul · x + add.
    Affine {
        /// Scale.
        mul: f64,
        /// Shift.
        add: f64,
    },
    /// x^p for a constant p.
    Powf(f64),
    /// x clamped into [min, max].
    Clamp {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

impl UnaryOp {
    /// Applies the op to one float. Always inlined: with a constant `self`, the match folds
    /// away and loops over it vectorise.
    #[inline(always)]
    pub fn apply<F: Float>(self, x: F) -> F {
        let half = F::from_f64(0.5);
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Recip => F::ONE / x,
            UnaryOp::Square => x * x,
            UnaryOp::Sigmoid => {
                if x >= F::ZERO {
                    F::ONE / (F::ONE + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (F::ONE + e)
                }
            }
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Relu => {
                if x > F::ZERO || x.is_nan() {
                    x
                } else {
                    F::ZERO
                }
            }
            UnaryOp::Gelu => half * x * (F::ONE + (x * F::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf()),
            UnaryOp::GeluTanh => {
                let c = F::from_f64((2.0 / std::f64::consts::PI).sqrt());
                half * x * (F::ONE + (c * (x + F::from_f64(0.044715) * x * x * x)).tanh())
            }
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Erf => x.erf(),
            UnaryOp::Sign => {
                if x > F::ZERO {
                    F::ONE
                } else if x < F::ZERO {
                    -F::ONE
                } else {
                    x
                }
            }
            UnaryOp::Softplus => x.max_nan(F::ZERO) + (F::ONE + (-x.abs()).exp()).ln(),
            UnaryOp::LeakyRelu(slope) => {
                if x > F::ZERO {
                    x
                } else {
                    F::from_f64(slope) * x
                }
            }
            UnaryOp::Affine { mul, add } => F::from_f64(mul) * x + F::from_f64(add),
            UnaryOp::Powf(p) => x.powf(F::from_f64(p)),
            UnaryOp::Clamp { min, max } => x.max_nan(F::from_f64(min)).min_nan(F::from_f64(max)),
        }
    }

    /// Applies the op to an integer, for the ops that are defined on integers.
    pub fn apply_i64(self, x: i64) -> Option<i64> {
        Some(match self {
            UnaryOp::Neg => x.wrapping_neg(),
            UnaryOp::Abs => x.wrapping_abs(),
            UnaryOp::Square => x.wrapping_mul(x),
            UnaryOp::Sign => x.signum(),
            UnaryOp::Relu => x.max(0),
            _ => return None,
        })
    }

    /// Checks that the op is defined for `dtype`.
    pub fn check_dtype(self, dtype: DType) -> Result<()> {
        if dtype.is_float() || self.apply_i64(1).is_some() {
            Ok(())
        } else {
            Err(TensorError::UnsupportedDType {
                op: "unary",
                dtype,
                reason: "integers support neg, abs, square, sign and relu only",
            })
        }
    }
}

/// Elementwise functions of two operands of the same dtype. Comparisons return 1 or 0 in
/// the operands' dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// a + b.
    Add,
    /// a - b.
    Sub,
    /// a · b.
    Mul,
    /// a / b (integer division truncates; division by zero gives 0 for integers).
    Div,
    /// a^b (floats only).
    Pow,
    /// max(a, b), NaN-propagating.
    Maximum,
    /// min(a, b), NaN-propagating.
    Minimum,
    /// a == b.
    Eq,
    /// a != b.
    Ne,
    /// a < b.
    Lt,
    /// a <= b.
    Le,
    /// a > b.
    Gt,
    /// a >= b.
    Ge,
}

impl BinaryOp {
    /// Applies the op to two floats. Always inlined (see [`UnaryOp::apply`]).
    #[inline(always)]
    pub fn apply<F: Float>(self, a: F, b: F) -> F {
        let flag = |c: bool| if c { F::ONE } else { F::ZERO };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Maximum => a.max_nan(b),
            BinaryOp::Minimum => a.min_nan(b),
            BinaryOp::Eq => flag(a == b),
            BinaryOp::Ne => flag(a != b),
            BinaryOp::Lt => flag(a < b),
            BinaryOp::Le => flag(a <= b),
            BinaryOp::Gt => flag(a > b),
            BinaryOp::Ge => flag(a >= b),
        }
    }

    /// Applies the op to two integers; `None` for `Pow`.
    #[inline]
    pub fn apply_i64(self, a: i64, b: i64) -> Option<i64> {
        Some(match self {
            BinaryOp::Add => a.wrapping_add(b),
            BinaryOp::Sub => a.wrapping_sub(b),
            BinaryOp::Mul => a.wrapping_mul(b),
            BinaryOp::Div => a.checked_div(b).unwrap_or(0),
            BinaryOp::Pow => return None,
            BinaryOp::Maximum => a.max(b),
            BinaryOp::Minimum => a.min(b),
            BinaryOp::Eq => (a == b) as i64,
            BinaryOp::Ne => (a != b) as i64,
            BinaryOp::Lt => (a < b) as i64,
            BinaryOp::Le => (a <= b) as i64,
            BinaryOp::Gt => (a > b) as i64,
            BinaryOp::Ge => (a >= b) as i64,
        })
    }

    /// Checks that the op is defined for `dtype`.
    pub fn check_dtype(self, dtype: DType) -> Result<()> {
        if dtype.is_float() || self != BinaryOp::Pow {
            Ok(())
        } else {
            Err(TensorError::UnsupportedDType { op: "pow", dtype, reason: "pow needs floats" })
        }
    }
}

/// Reductions that combine all elements along the reduced axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum (0 for an empty reduction).
    Sum,
    /// Maximum, NaN-propagating (-inf for an empty reduction of floats).
    Max,
    /// Minimum, NaN-propagating (+inf for an empty reduction of floats).
    Min,
}

impl ReduceOp {
    /// The identity the reduction starts from.
    pub fn identity<F: Float>(self) -> F {
        match self {
            ReduceOp::Sum => F::ZERO,
            ReduceOp::Max => F::NEG_INFINITY,
            ReduceOp::Min => F::INFINITY,
        }
    }

    /// Combines an accumulator with one element.
    #[inline]
    pub fn combine<F: Float>(self, acc: F, x: F) -> F {
        match self {
            ReduceOp::Sum => acc + x,
            ReduceOp::Max => acc.max_nan(x),
            ReduceOp::Min => acc.min_nan(x),
        }
    }

    /// The identity for integers.
    pub fn identity_i64(self) -> i64 {
        match self {
            ReduceOp::Sum => 0,
            ReduceOp::Max => i64::MIN,
            ReduceOp::Min => i64::MAX,
        }
    }

    /// Combines an integer accumulator with one element.
    #[inline]
    pub fn combine_i64(self, acc: i64, x: i64) -> i64 {
        match self {
            ReduceOp::Sum => acc.wrapping_add(x),
            ReduceOp::Max => acc.max(x),
            ReduceOp::Min => acc.min(x),
        }
    }
}

/// Reductions that return the position of the extreme element along one axis, as i64.
/// Ties resolve to the first position; a NaN counts as the extreme (as in NumPy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgReduceOp {
    /// Position of the maximum.
    ArgMax,
    /// Position of the minimum.
    ArgMin,
}

impl ArgReduceOp {
    /// Whether `candidate` replaces `best` (strictly better, or NaN where `best` is not).
    #[inline]
    pub fn better<F: Float>(self, candidate: F, best: F) -> bool {
        if best.is_nan() {
            return false;
        }
        candidate.is_nan()
            || match self {
                ArgReduceOp::ArgMax => candidate > best,
                ArgReduceOp::ArgMin => candidate < best,
            }
    }

    /// Integer version of [`ArgReduceOp::better`].
    #[inline]
    pub fn better_i64(self, candidate: i64, best: i64) -> bool {
        match self {
            ArgReduceOp::ArgMax => candidate > best,
            ArgReduceOp::ArgMin => candidate < best,
        }
    }
}

/// The geometry of a 2-D sliding window (convolution, unfold, pooling), as in PyTorch.
/// 1-D windows are 2-D windows of height 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window2d {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Step between windows, per axis.
    pub stride: [usize; 2],
    /// Implicit padding added on both sides, per axis.
    pub padding: [usize; 2],
    /// Spacing between kernel taps, per axis.
    pub dilation: [usize; 2],
}

impl Window2d {
    /// A square window with stride 1, no padding and no dilation.
    pub fn new(kernel: [usize; 2]) -> Self {
        Window2d { kernel, stride: [1, 1], padding: [0, 0], dilation: [1, 1] }
    }

    /// Sets the stride.
    pub fn stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self
    }

    /// Sets the dilation.
    pub fn dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// Number of kernel taps, kh · kw.
    pub fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    /// Output height and width for an input of `input` = [height, width].
    pub fn output_size(&self, op: &'static str, input: [usize; 2]) -> Result<[usize; 2]> {
        let mut out = [0; 2];
        for a in 0..2 {
            if self.kernel[a] == 0 || self.stride[a] == 0 || self.dilation[a] == 0 {
                return Err(TensorError::invalid(
                    op,
                    format!("kernel, stride and dilation must be positive: {self:?}"),
                ));
            }
            let span = self.dilation[a] * (self.kernel[a] - 1) + 1;
            let padded = input[a] + 2 * self.padding[a];
            if padded < span {
                return Err(TensorError::invalid(
                    op,
                    format!(
                        "input {input:?} with padding {:?} is smaller than the window span {span} on axis {a}",
                        self.padding
                    ),
                ));
            }
            out[a] = (padded - span) / self.stride[a] + 1;
        }
        Ok(out)
    }

    /// Calls `visit(tap, position, y, x)` for every kernel tap (row-major over the kernel) of
    /// every output position (row-major over `out`), tap-major, with the input coordinates the
    /// tap reads; they are negative or past the input inside the padding.
    pub fn for_each_tap(&self, out: [usize; 2], mut visit: impl FnMut(usize, usize, isize, isize)) {
        for ky in 0..self.kernel[0] {
            for kx in 0..self.kernel[1] {
                let tap = ky * self.kernel[1] + kx;
                for oy in 0..out[0] {
                    let y = self.input_coord(0, oy, ky);
                    for ox in 0..out[1] {
                        visit(tap, oy * out[1] + ox, y, self.input_coord(1, ox, kx));
                    }
                }
            }
        }
    }

    /// Input coordinate (may be outside `0..input`, i.e. in the padding) read by output
    /// position `o` at kernel tap `k` on axis `axis`.
    #[inline]
    pub fn input_coord(&self, axis: usize, o: usize, k: usize) -> isize {
        (o * self.stride[axis] + k * self.dilation[axis]) as isize - self.padding[axis] as isize
    }
}

/// The geometry of a 1-D sliding window over the last axis of `[N, C, L]`; it runs as a
/// [`Window2d`] of height 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window1d {
    /// Kernel length.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Implicit padding added on both ends.
    pub padding: usize,
    /// Spacing between kernel taps.
    pub dilation: usize,
}

impl Window1d {
    /// A window with stride 1, no padding and no dilation.
    pub fn new(kernel: usize) -> Self {
        Window1d { kernel, stride: 1, padding: 0, dilation: 1 }
    }

    /// Sets the stride.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }

    /// Sets the dilation.
    pub fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = dilation;
        self
    }

    /// The same window as a 2-D window of height 1.
    pub fn as_2d(&self) -> Window2d {
        Window2d {
            kernel: [1, self.kernel],
            stride: [1, self.stride],
            padding: [0, self.padding],
            dilation: [1, self.dilation],
        }
    }

    /// Output length for an input of length `input`.
    pub fn output_size(&self, op: &'static str, input: usize) -> Result<usize> {
        Ok(self.as_2d().output_size(op, [1, input])?[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unary_values() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-7;
        assert!(close(UnaryOp::Gelu.apply(1.0), 0.841_344_746_068_542_9));
        assert!(close(UnaryOp::GeluTanh.apply(1.0), 0.841_191_990_608_276_7));
        assert!(close(UnaryOp::Sigmoid.apply(-800.0f64), 0.0));
        assert!(close(UnaryOp::Sigmoid.apply(0.0f64), 0.5));
        assert!(close(UnaryOp::Softplus.apply(800.0f64), 800.0));
        assert!(close(UnaryOp::Softplus.apply(0.0f64), 2f64.ln()));
        assert_eq!(UnaryOp::Exp.apply_i64(1), None);
    }

    #[test]
    fn window_sizes_match_pytorch() {
        let w = Window2d::new([3, 3]).padding([1, 1]).stride([2, 2]);
        assert_eq!(w.output_size("t", [7, 8]).unwrap(), [4, 4]);
        let d = Window2d::new([3, 2]).dilation([2, 1]);
        assert_eq!(d.output_size("t", [5, 5]).unwrap(), [1, 4]);
        assert!(Window2d::new([3, 3]).output_size("conv", [2, 2]).is_err());
    }
}
