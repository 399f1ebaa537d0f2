//! The decoding kernel's scores for f32 with AVX2 and FMA: eight keys at a time, each key's
//! partial sums in one 8-lane register, the eight registers added across in one transpose-add
//! (`hadd`, twice, then one add of the two 128-bit halves), so a key's horizontal sum costs
//! about one vector operation instead of a chain of adds.

use std::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_hadd_ps, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_setzero_ps,
    _mm256_storeu_ps,
};

use super::decode::{HeadRows, dot};

/// Keys per step (one 8-lane register of f32).
const KEYS: usize = 8;

/// `scores[j] = query · keys.row(j)` when this CPU has AVX2 and FMA; `false` (nothing
/// written) when it has not.
pub(super) fn scores(query: &[f32], keys: &HeadRows<'_, f32>, scores: &mut [f32]) -> bool {
    if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")) {
        return false;
    }
    // SAFETY: the CPU has AVX2 and FMA (checked just above).
    unsafe { scores_avx2(query, keys, scores) };
    true
}

#[target_feature(enable = "avx2,fma")]
fn scores_avx2(query: &[f32], keys: &HeadRows<'_, f32>, scores: &mut [f32]) {
    let width = keys.width().min(query.len());
    let vector_width = width - width % 8;
    let blocks = scores.len() / KEYS;
    for block in 0..blocks {
        let first = block * KEYS;
        let rows: [&[f32]; KEYS] = std::array::from_fn(|r| &keys.row(first + r)[..width]);
        let mut sums: [__m256; KEYS] = [_mm256_setzero_ps(); KEYS];
        for c in (0..vector_width).step_by(8) {
            let q: &[f32; 8] = query[c..c + 8].try_into().expect("8 long");
            // SAFETY: `q` and every `row[c..c + 8]` are 8 floats long (sliced with bounds checks).
            let q = unsafe { _mm256_loadu_ps(q.as_ptr()) };
            for (sum, row) in sums.iter_mut().zip(&rows) {
                let k: &[f32; 8] = row[c..c + 8].try_into().expect("8 long");
                // SAFETY: as above.
                *sum = _mm256_fmadd_ps(q, unsafe { _mm256_loadu_ps(k.as_ptr()) }, *sum);
            }
        }
        // hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7]; twice over
        // pairs of keys leaves each key's sum in two lanes, one per 128-bit half.
        let pairs = [
            _mm256_hadd_ps(sums[0], sums[1]),
            _mm256_hadd_ps(sums[2], sums[3]),
            _mm256_hadd_ps(sums[4], sums[5]),
            _mm256_hadd_ps(sums[6], sums[7]),
        ];
        let low_keys = _mm256_hadd_ps(pairs[0], pairs[1]);
        let high_keys = _mm256_hadd_ps(pairs[2], pairs[3]);
        let total = _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(low_keys, high_keys),
            _mm256_permute2f128_ps::<0x31>(low_keys, high_keys),
        );
        let out: &mut [f32; 8] = (&mut scores[first..first + KEYS]).try_into().expect("8 long");
        // SAFETY: `out` is 8 floats long.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), total) };
        if vector_width < width {
            for (score, row) in out.iter_mut().zip(&rows) {
                *score += dot(&query[vector_width..width], &row[vector_width..]);
            }
        }
    }
    for j in blocks * KEYS..scores.len() {
        scores[j] = dot(&query[..width], &keys.row(j)[..width]);
    }
}
