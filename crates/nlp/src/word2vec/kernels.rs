//! The inner loops of word2vec: dot products and `y += a x` over rows of the weight matrices,
//! and the sigmoid table. Written so the compiler vectorises them; `train` compiles its job loop
//! once more with AVX2 (and once with AVX-512) enabled and picks one at run time.

/// Sigmoid inputs beyond ±MAX_EXP saturate, as in the C tool.
pub(crate) const MAX_EXP: f32 = 6.0;
const TABLE_SIZE: usize = 1000;

/// Precomputed sigmoid over [-MAX_EXP, MAX_EXP].
pub(crate) struct SigmoidTable(Vec<f32>);

impl SigmoidTable {
    pub fn new() -> SigmoidTable {
        SigmoidTable(
            (0..TABLE_SIZE)
                .map(|i| {
                    let x = (i as f32 / TABLE_SIZE as f32 * 2.0 - 1.0) * MAX_EXP;
                    let e = x.exp();
                    e / (e + 1.0)
                })
                .collect(),
        )
    }

    /// Sigmoid of `f`, which must lie strictly inside (-MAX_EXP, MAX_EXP).
    #[inline(always)]
    pub fn get(&self, f: f32) -> f32 {
        let index = ((f + MAX_EXP) * (TABLE_SIZE as f32 / MAX_EXP / 2.0)) as usize;
        self.0[index.min(TABLE_SIZE - 1)]
    }
}

const LANES: usize = 16;

/// `Σ a_i b_i` with two sets of 16 partial sums (vectorisable, and two independent chains of
/// additions so the loop is not bound by the latency of one).
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (mut even, mut odd) = ([0f32; LANES], [0f32; LANES]);
    let mut pairs_a = a.chunks_exact(2 * LANES);
    let mut pairs_b = b.chunks_exact(2 * LANES);
    for (ca, cb) in (&mut pairs_a).zip(&mut pairs_b) {
        for j in 0..LANES {
            even[j] += ca[j] * cb[j];
            odd[j] += ca[LANES + j] * cb[LANES + j];
        }
    }
    let (rest_a, rest_b) = (pairs_a.remainder(), pairs_b.remainder());
    let mut chunks_a = rest_a.chunks_exact(LANES);
    let mut chunks_b = rest_b.chunks_exact(LANES);
    for (ca, cb) in (&mut chunks_a).zip(&mut chunks_b) {
        for j in 0..LANES {
            even[j] += ca[j] * cb[j];
        }
    }
    let tail: f32 = chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(x, y)| x * y).sum();
    let mut total = [0f32; LANES];
    for j in 0..LANES {
        total[j] = even[j] + odd[j];
    }
    total.iter().sum::<f32>() + tail
}

/// `y += a x`.
#[inline(always)]
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_plain_loops() {
        for n in [1, 15, 16, 17, 100, 300] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - plain).abs() < 1e-4, "n = {n}");
            let mut y = b.clone();
            axpy(0.5, &a, &mut y);
            assert!(y.iter().zip(&a).zip(&b).all(|((y, a), b)| (y - (b + 0.5 * a)).abs() < 1e-6));
        }
        let table = SigmoidTable::new();
        for f in [-5.9f32, -1.0, 0.0, 0.5, 5.9] {
            assert!((table.get(f) - 1.0 / (1.0 + (-f).exp())).abs() < 0.01, "{f}");
        }
    }
}
