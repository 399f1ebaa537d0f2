//! Branch-free f32 `exp`, `sigmoid` and `tanh` that the compiler vectorises (libm's are called
//! one element at a time). `exp` is Cephes' `expf` scheme: `x = n·ln2 + r` with `|r| <= ln2/2`,
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
}
