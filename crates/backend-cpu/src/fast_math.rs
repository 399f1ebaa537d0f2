//! Branch-free f32 `exp`, `sigmoid`, `tanh`, `erf` and the GELUs that the compiler vectorises
//! (libm's are called one element at a time). `exp` is Cephes' `expf` scheme: `x = n·ln2 + r` with `|r| <= ln2/2`,
//! a degree-6 polynomial for `e^r`, and `2^n` built in the exponent bits; about 2 ulp, inside the
//! conformance suite's f32 tolerance, and exact at the overflow and underflow ends.

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Adding and subtracting 1.5·2²³ rounds to the nearest integer without a rounding instruction.
const ROUND: f32 = 12_582_912.0;

/// 2^n for `n` in the normal exponent range (-126..=127).
#[inline(always)]
fn pow2(n: i32) -> f32 {
    // Wrapping: a NaN input leaves `n` meaningless, and the NaN carries through anyway.
    f32::from_bits((n.wrapping_add(127) << 23) as u32)
}

/// e^x. The scale 2^n is applied as two halves, so results that overflow to infinity or round
/// into the subnormal range come out right without branches.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let clamped = x.clamp(-104.0, 89.0);
    let shifted = clamped * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_2e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // The rounded integer sits in the low mantissa bits of `shifted` (an exponent of 23): read
    // it from there, as `n as i32` would saturate element by element and stop vectorisation.
    let n = (shifted.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let half = n >> 1;
    y * pow2(half) * pow2(n.wrapping_sub(half))
}

/// 1 / (1 + e^-x), as `e^x / (1 + e^x)` for negative x so tiny results keep their precision.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let r = 1.0 / (1.0 + e);
    if x >= 0.0 || x.is_nan() { r } else { e * r }
}

/// tanh x: an odd polynomial near zero (where `1 - 2/(e^2x + 1)` would cancel), that formula
/// elsewhere.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let x2 = x * x;
    let small = x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))));
    let large = 1.0 - 2.0 / (exp(2.0 * x) + 1.0);
    if x.abs() < 0.25 { small } else { large }
}

/// erf(x)/x on |x| < 1 as a polynomial in x² (least-squares fit on Chebyshev nodes; relative
/// error below 2e-9 before f32 rounding), highest power first.
const ERF_SMALL: [f32; 7] = [
    7.933_423e-5,
    -8.034_828e-4,
    5.191_216_7e-3,
    -2.685_539_8e-2,
    0.112_836_26,
    -0.376_126_3,
    std::f32::consts::FRAC_2_SQRT_PI,
];

/// ln erfc(x) + x² on 1 <= x <= 4 as a polynomial in x (the same kind of fit; erfc's error
/// below 2e-8 relative), highest power first. Past 4, erf x rounds to 1 in f32.
const ERFC_LARGE: [f32; 9] = [
    1.614_049_3e-6,
    -4.559_039_4e-5,
    5.927_677e-4,
    -4.740_214_4e-3,
    2.636_469_5e-2,
    -0.109_978_21,
    0.368_062_9,
    -1.130_166_6,
    3.032_09e-4,
];

#[inline(always)]
fn horner<const N: usize>(coefficients: &[f32; N], x: f32) -> f32 {
    coefficients.iter().fold(0.0, |acc, &c| acc * x + c)
}

/// erf x, both branches computed and one selected (about 2 ulp).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let small = a * horner(&ERF_SMALL, a * a);
    let b = a.clamp(1.0, 4.0);
    let large = 1.0 - exp(horner(&ERFC_LARGE, b) - b * b);
    let magnitude = if a < 1.0 || a.is_nan() { small } else { large };
    magnitude.copysign(x)
}

/// GELU, `x Φ(x) = x (1 + erf(x / √2)) / 2`.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU's tanh approximation (GPT-2's), `x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2`.
#[inline(always)]
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)))
}

/// The unary ops with a vectorised f32 body here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FastUnary {
    Exp,
    Sigmoid,
    Tanh,
    Erf,
    Gelu,
    GeluTanh,
}

impl FastUnary {
    /// The fast body of `op`, if it has one.
    pub(crate) fn of(op: tensor_core::UnaryOp) -> Option<FastUnary> {
        use tensor_core::UnaryOp;
        Some(match op {
            UnaryOp::Exp => FastUnary::Exp,
            UnaryOp::Sigmoid => FastUnary::Sigmoid,
            UnaryOp::Tanh => FastUnary::Tanh,
            UnaryOp::Erf => FastUnary::Erf,
            UnaryOp::Gelu => FastUnary::Gelu,
            UnaryOp::GeluTanh => FastUnary::GeluTanh,
            _ => return None,
        })
    }

    /// `out[i] = op(input[i])`, on AVX-512 when the CPU has it.
    pub(crate) fn apply(self, input: &[f32], out: &mut [f32]) {
        match self {
            FastUnary::Exp => map_fast(input, out, exp),
            FastUnary::Sigmoid => map_fast(input, out, sigmoid),
            FastUnary::Tanh => map_fast(input, out, tanh),
            FastUnary::Erf => map_fast(input, out, erf),
            FastUnary::Gelu => map_fast(input, out, gelu),
            FastUnary::GeluTanh => map_fast(input, out, gelu_tanh),
        }
    }
}

/// `out[i] = f(input[i])` with one loop per function, compiled for AVX-512 when the CPU has it
/// (the loop lives in the target-feature function itself, so `f` inlines into the wide build).
#[inline(always)]
fn map_fast(input: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx512() {
        // SAFETY: the CPU has AVX-512F (checked just above).
        unsafe { map_avx512(input, out, f) };
        return;
    }
    map_plain(input, out, f);
}

#[inline(always)]
fn map_plain(input: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    for i in 0..n {
        out[i] = f(input[i]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn map_avx512(input: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
    let n = input.len().min(out.len());
    let (input, out) = (&input[..n], &mut out[..n]);
    for i in 0..n {
        out[i] = f(input[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_libm_everywhere() {
        // Relative errors where the true value is a normal f32 (below that, f32 itself can't).
        let rel = |got: f32, want: f64| {
            if want.abs() > 1e-30 && want.abs() < f32::MAX as f64 {
                (got as f64 - want).abs() / want.abs()
            } else {
                0.0
            }
        };
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-3;
            let xd = x as f64;
            worst.0 = worst.0.max(rel(exp(x), xd.exp()));
            worst.1 = worst.1.max(rel(sigmoid(x), 1.0 / (1.0 + (-xd).exp())));
            worst.2 = worst.2.max(rel(tanh(x), xd.tanh()));
        }
        assert!(worst.0 < 5e-7 && worst.1 < 5e-7 && worst.2 < 1e-6, "relative errors {worst:?}");
        assert_eq!(exp(100.0), f32::INFINITY);
        assert_eq!(exp(-120.0), 0.0);
        assert!(exp(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan() && tanh(f32::NAN).is_nan());
        assert!((exp(-95.0) as f64 / (-95.0f64).exp() - 1.0).abs() < 1e-5, "subnormal {}", exp(-95.0));
        assert_eq!((sigmoid(-200.0), sigmoid(200.0), tanh(-50.0), tanh(50.0)), (0.0, 1.0, -1.0, 1.0));
        assert_eq!(tanh(0.0), 0.0);
    }

    #[test]
    fn erf_and_gelu_close_to_libm() {
        use tensor_core::Float;
        let rel = |got: f32, want: f64| if want.abs() > 1e-30 { (got as f64 - want).abs() / want.abs() } else { 0.0 };
        let mut worst = (0.0f64, 0.0f64, 0.0f64);
        let small = (1..2000).map(|i| 1e-30f32 * 1.05f32.powi(i));
        for x in (-600_000..=600_000).map(|i| i as f32 * 1e-5).chain(small) {
            let xd = x as f64;
            worst.0 = worst.0.max(rel(erf(x), Float::erf(xd)));
            // GELU's result is small and cancels for large negative x: compare to its scale.
            let gelu_ref = 0.5 * xd * (1.0 + Float::erf(xd / std::f64::consts::SQRT_2));
            worst.1 = worst.1.max((gelu(x) as f64 - gelu_ref).abs() / xd.abs().max(1e-30));
            let inner = (2.0 / std::f64::consts::PI).sqrt() * (xd + 0.044715 * xd * xd * xd);
            let tanh_ref = 0.5 * xd * (1.0 + inner.tanh());
            worst.2 = worst.2.max((gelu_tanh(x) as f64 - tanh_ref).abs() / xd.abs().max(1e-30));
        }
        assert!(worst.0 < 4e-7 && worst.1 < 4e-7 && worst.2 < 1e-6, "errors {worst:?}");
        assert_eq!((erf(0.0), erf(10.0), erf(-10.0), erf(f32::INFINITY)), (0.0, 1.0, -1.0, 1.0));
        assert!(erf(f32::NAN).is_nan() && gelu(f32::NAN).is_nan());
        assert!(erf(-0.0).is_sign_negative());
    }
}
