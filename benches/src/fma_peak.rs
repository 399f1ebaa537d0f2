//! One core's fused multiply-add peak, measured: the ceiling a GEMM's GFLOP/s is judged against.
//!
//! Sixteen independent accumulator chains of `acc = acc · a + b` keep the FMA units busy (a
//! latency of about 4 cycles with up to two issued per cycle needs 8 chains in flight) with no
//! loads or stores, so the loop runs at the rate the core issues FMAs *now*: on a shared host
//! that rate moves with frequency licences and neighbours, and a GEMM's share of the peak only
//! means something beside a peak taken in the same run.

/// Independent accumulator chains per loop iteration.
const CHAINS: usize = 16;

/// The widest FMA this CPU has, with its name and f32 lanes, or `None` without FMA.
pub fn fma_kind() -> Option<(&'static str, usize)> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some(("avx512", 16));
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Some(("avx2", 8));
        }
    }
    None
}

/// Floating-point operations (a multiply and an add per lane) of one call of [`fma_loop`].
pub fn fma_loop_flops(iterations: u64) -> u64 {
    fma_kind().map_or(0, |(_, lanes)| iterations * (CHAINS * lanes * 2) as u64)
}

/// Runs `iterations` rounds of [`CHAINS`] independent vector FMAs at the widest width the CPU
/// has and returns a value that depends on every one of them (so none can be optimised away).
/// Returns 0 on a CPU without FMA.
pub fn fma_loop(iterations: u64) -> f32 {
    // A multiplier the compiler cannot see, so `fma(x, 1, b)` is not folded into an add; the
    // chains settle at b / (1 - a) = 0.1 and never reach denormals or infinities.
    let (a, b) = (std::hint::black_box(0.999_999f32), std::hint::black_box(1e-7f32));
    match fma_kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX-512F (checked by `fma_kind`).
        Some(("avx512", _)) => unsafe { x86::avx512(iterations, a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX2 and FMA (checked by `fma_kind`).
        Some(("avx2", _)) => unsafe { x86::avx2(iterations, a, b) },
        _ => 0.0,
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::CHAINS;

    /// # Safety
    /// The CPU must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(iterations: u64, a: f32, b: f32) -> f32 {
        let (a, b) = (_mm512_set1_ps(a), _mm512_set1_ps(b));
        let mut acc = [_mm512_set1_ps(0.0); CHAINS];
        for _ in 0..iterations {
            for chain in &mut acc {
                *chain = _mm512_fmadd_ps(*chain, a, b);
            }
        }
        let sum = acc.iter().fold(_mm512_setzero_ps(), |s, &c| _mm512_add_ps(s, c));
        _mm512_reduce_add_ps(sum)
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(iterations: u64, a: f32, b: f32) -> f32 {
        let (a, b) = (_mm256_set1_ps(a), _mm256_set1_ps(b));
        let mut acc = [_mm256_set1_ps(0.0); CHAINS];
        for _ in 0..iterations {
            for chain in &mut acc {
                *chain = _mm256_fmadd_ps(*chain, a, b);
            }
        }
        let mut lanes = [0.0f32; 8];
        let sum = acc.iter().fold(_mm256_setzero_ps(), |s, &c| _mm256_add_ps(s, c));
        // SAFETY: `lanes` holds 8 f32, the width of one unaligned store.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
        lanes.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chain_accumulates_every_step() {
        let Some((_, lanes)) = fma_kind() else { return };
        // While the chains are small, rounding is far below the step: after n steps each holds
        // b · (1 - a^n) / (1 - a), with a and b as f32 rounds them.
        let (a, b, n) = (0.999_999f32 as f64, 1e-7f32 as f64, 1000);
        let expected = b * (1.0 - a.powi(n as i32)) / (1.0 - a) * (CHAINS * lanes) as f64;
        let got = fma_loop(n) as f64;
        assert!((got - expected).abs() < 1e-4 * expected, "{got} vs {expected}");
        assert_eq!(fma_loop(0), 0.0);
        assert_eq!(fma_loop_flops(10), 10 * (CHAINS * lanes * 2) as u64);
    }
}
