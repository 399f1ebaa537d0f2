//! The mathematics behind the reference, written from the definitions in f64.
//!
//! Nothing here calls [`UnaryOp::apply`], [`BinaryOp::apply`], [`ReduceOp::combine`],
//! [`ArgReduceOp::better`] or [`Window2d`]'s geometry: the enums are only matched on. So a wrong
//! formula in `ops.rs` (which backend-cpu runs) disagrees with this file and fails conformance,
//! and the tests next to this file pin these formulas to values known independently of both.
//!
//! Where a definition overflows in f64 for the suite's inputs (|x| up to 1000), it is rewritten
//! by an exact identity, said at the formula.

use crate::{ArgReduceOp, BinaryOp, ReduceOp, UnaryOp, Window2d};

#[cfg(test)]
mod tests;

/// The GELU tanh approximation's cubic coefficient (Hendrycks & Gimpel, 2016).
const GELU_TANH_CUBIC: f64 = 0.044715;

/// The logistic function 1 / (1 + e^-x). Exact in its limits: e^-x overflows to +inf for
/// x < -709, giving 0, and underflows to 0 for large x, giving 1.
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// tanh x = (1 - e^-2|x|) / (1 + e^-2|x|) with the sign of x; with t = e^-2|x| - 1 (`exp_m1`,
/// exact near 0) that is -t / (2 + t).
pub fn tanh(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let t = (-2.0 * x.abs()).exp_m1();
    (-t / (2.0 + t)).copysign(x)
}

/// The standard normal CDF Φ(x) = erfc(-x / √2) / 2 (erfc keeps the left tail accurate).
fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// ln(1 + e^x). For x > 0 it is x + ln(1 + e^-x), so e^x never overflows.
fn softplus(x: f64) -> f64 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

/// The larger of two values; NaN when either is NaN.
fn maximum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a >= b {
        a
    } else {
        b
    }
}

/// The smaller of two values; NaN when either is NaN.
fn minimum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a <= b {
        a
    } else {
        b
    }
}

/// 1 or 0.
fn flag(condition: bool) -> f64 {
    if condition { 1.0 } else { 0.0 }
}

/// The value of `op` at `x`.
pub fn unary(op: UnaryOp, x: f64) -> f64 {
    match op {
        UnaryOp::Neg => -x,
        UnaryOp::Exp => x.exp(),
        UnaryOp::Log => x.ln(),
        UnaryOp::Sqrt => x.sqrt(),
        UnaryOp::Abs => x.abs(),
        UnaryOp::Recip => 1.0 / x,
        UnaryOp::Square => x * x,
        UnaryOp::Sigmoid => sigmoid(x),
        UnaryOp::Tanh => tanh(x),
        UnaryOp::Relu => {
            if x.is_nan() || x > 0.0 {
                x
            } else {
                0.0
            }
        }
        // GELU(x) = x Φ(x), the exact form.
        UnaryOp::Gelu => x * normal_cdf(x),
        // x (1 + tanh u) / 2 with u = √(2/π) (x + 0.044715 x³); (1 + tanh u) / 2 = σ(2u).
        UnaryOp::GeluTanh => {
            let u = (2.0 / std::f64::consts::PI).sqrt() * (x + GELU_TANH_CUBIC * x.powi(3));
            x * sigmoid(2.0 * u)
        }
        UnaryOp::Sin => x.sin(),
        UnaryOp::Cos => x.cos(),
        UnaryOp::Erf => libm::erf(x),
        UnaryOp::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        }
        UnaryOp::Softplus => softplus(x),
        UnaryOp::LeakyRelu(slope) => {
            if x > 0.0 {
                x
            } else {
                slope * x
            }
        }
        UnaryOp::Affine { mul, add } => mul * x + add,
        UnaryOp::Powf(p) => x.powf(p),
        UnaryOp::Clamp { min, max } => minimum(maximum(x, min), max),
    }
}

/// The value of `op` at `(a, b)`; comparisons give 1 or 0.
pub fn binary(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Maximum => maximum(a, b),
        BinaryOp::Minimum => minimum(a, b),
        BinaryOp::Eq => flag(a == b),
        BinaryOp::Ne => flag(a != b),
        BinaryOp::Lt => flag(a < b),
        BinaryOp::Le => flag(a <= b),
        BinaryOp::Gt => flag(a > b),
        BinaryOp::Ge => flag(a >= b),
    }
}

/// `op` over all of `lane`: the sum (0 when empty), or the maximum or minimum (∓inf when empty,
/// NaN when any element is NaN).
pub fn reduce(op: ReduceOp, lane: &[f64]) -> f64 {
    match op {
        ReduceOp::Sum => lane.iter().sum(),
        ReduceOp::Max => lane.iter().fold(f64::NEG_INFINITY, |acc, &x| maximum(acc, x)),
        ReduceOp::Min => lane.iter().fold(f64::INFINITY, |acc, &x| minimum(acc, x)),
    }
}

/// Position of the extreme element of a non-empty `lane`: the first NaN if there is one (as in
/// NumPy), else the first position holding the maximum (or minimum).
pub fn arg_extreme(op: ArgReduceOp, lane: &[f64]) -> usize {
    if let Some(nan) = lane.iter().position(|x| x.is_nan()) {
        return nan;
    }
    let mut best = 0;
    for (i, &x) in lane.iter().enumerate() {
        let better = match op {
            ArgReduceOp::ArgMax => x > lane[best],
            ArgReduceOp::ArgMin => x < lane[best],
        };
        if better {
            best = i;
        }
    }
    best
}

/// ln Σ e^x over a non-empty lane of finite values. Shifting by the lane's maximum m is exact,
/// ln Σ e^x = m + ln Σ e^(x - m), and keeps every exponent ≤ 0 so nothing overflows.
pub fn logsumexp(lane: &[f64]) -> f64 {
    let max = reduce(ReduceOp::Max, lane);
    max + lane.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Softmax e^x / Σ e^x, or log-softmax x - ln Σ e^x, of a lane of finite values. Both are
/// unchanged by subtracting the lane's maximum m from every x, which keeps e^(x - m) ≤ 1.
pub fn softmax(lane: &[f64], log: bool) -> Vec<f64> {
    let max = reduce(ReduceOp::Max, lane);
    let sum: f64 = lane.iter().map(|x| (x - max).exp()).sum();
    lane.iter().map(|x| if log { x - max - sum.ln() } else { (x - max).exp() / sum }).collect()
}

/// Output height and width of a sliding window over `input` = [height, width], as PyTorch
/// defines it: ⌊(in + 2·pad - dilation·(kernel - 1) - 1) / stride⌋ + 1 per axis.
///
/// # Panics
/// When the window does not fit the padded input (the suite only builds windows that fit).
pub fn window_output_size(window: &Window2d, input: [usize; 2]) -> [usize; 2] {
    std::array::from_fn(|axis| {
        let padded = input[axis] + 2 * window.padding[axis];
        let span = window.dilation[axis] * (window.kernel[axis] - 1) + 1;
        assert!(padded >= span, "reference: window {window:?} does not fit input {input:?}");
        (padded - span) / window.stride[axis] + 1
    })
}

/// The input coordinate on `axis` that kernel tap `tap` of output position `position` reads:
/// position·stride + tap·dilation - padding (negative or past the input inside the padding).
pub fn window_input_coord(window: &Window2d, axis: usize, position: usize, tap: usize) -> isize {
    (position * window.stride[axis] + tap * window.dilation[axis]) as isize - window.padding[axis] as isize
}
