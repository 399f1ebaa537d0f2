//! The array's number formats: operands are rounded to the input type before they enter the
//! array, and products are summed in the accumulator type (f32, or i32 for int8).

/// The type operands have inside the array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputType {
    /// f32 operands, f32 accumulation: bit-for-bit comparable with a CPU f32 product.
    F32,
    /// bfloat16 operands (round to nearest even), f32 accumulation (TPU v2 onwards).
    Bf16,
    /// int8 operands with one scale per matrix (symmetric), i32 accumulation (TPU v1).
    Int8,
}

impl InputType {
    /// Bytes an operand takes in memory.
    pub fn bytes(self) -> u64 {
        match self {
            InputType::F32 => 4,
            InputType::Bf16 => 2,
            InputType::Int8 => 1,
        }
    }
}

/// f32 rounded to the nearest bfloat16 (ties to even), returned as f32. NaN stays NaN.
pub fn round_bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let bits = x.to_bits();
    let rounding = 0x7fff + ((bits >> 16) & 1);
    f32::from_bits(bits.wrapping_add(rounding) & 0xffff_0000)
}

/// A matrix quantised to int8 codes (stored as f32 integers) and the scale that maps them back.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    /// Codes in -127..=127.
    pub codes: Vec<f32>,
    /// Real value of code 1.
    pub scale: f32,
}

/// Symmetric per-matrix int8 quantisation: the largest magnitude maps to 127.
pub fn quantize_int8(values: &[f32]) -> Quantized {
    let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
    let codes = values.iter().map(|v| (v / scale).round().clamp(-127.0, 127.0)).collect();
    Quantized { codes, scale }
}

/// What a processing element accumulates into.
pub trait Accumulator: Copy + Default + Send + Sync + 'static {
    /// `self + a · b` when `real`, else `self` (written without a branch, so rows vectorise).
    fn mac_if(self, a: f32, b: f32, real: bool) -> Self;
    /// `self + other` (partial sums from another fold).
    fn add(self, other: Self) -> Self;
    /// The value as f32.
    fn to_f32(self) -> f32;
}

impl Accumulator for f32 {
    #[inline(always)]
    fn mac_if(self, a: f32, b: f32, real: bool) -> f32 {
        self + if real { a * b } else { 0.0 }
    }

    #[inline(always)]
    fn add(self, other: f32) -> f32 {
        self + other
    }

    fn to_f32(self) -> f32 {
        self
    }
}

impl Accumulator for i32 {
    /// Operands are int8 codes held in f32; the product is exact in i32.
    #[inline(always)]
    fn mac_if(self, a: f32, b: f32, real: bool) -> i32 {
        self.wrapping_add((a as i32).wrapping_mul(b as i32) * real as i32)
    }

    #[inline(always)]
    fn add(self, other: i32) -> i32 {
        self.wrapping_add(other)
    }

    fn to_f32(self) -> f32 {
        self as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(round_bf16(1.0), 1.0);
        // 1 + 2^-8 is halfway between two bf16 neighbours (1 and 1 + 2^-7): ties go to even (1).
        assert_eq!(round_bf16(1.0 + 2f32.powi(-8)), 1.0);
        assert_eq!(round_bf16(1.0 + 3.0 * 2f32.powi(-8)), 1.0 + 2.0 * 2f32.powi(-7));
        assert!(round_bf16(f32::NAN).is_nan());
    }

    #[test]
    fn int8_codes_span_the_range() {
        let q = quantize_int8(&[-2.0, 0.5, 1.0]);
        assert_eq!(q.codes, vec![-127.0, 32.0, 64.0]);
        assert!((q.scale - 2.0 / 127.0).abs() < 1e-9);
    }
}
