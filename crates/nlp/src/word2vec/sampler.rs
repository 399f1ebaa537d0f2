//! Random draws for training: the C tool's linear congruential generator, the negative-sample
//! noise distribution (unigram counts to the power 0.75) as a Walker/Vose alias table (O(V)
//! memory and O(1) per draw, instead of the C tool's 100M-entry table), and subsampling.

/// The C tool's generator: `x <- x * 25214903917 + 11` (mod 2^64), fast and reproducible.
#[derive(Clone, Debug)]
pub struct Lcg(u64);

impl Lcg {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    /// The next 32 random bits (the high bits of the state).
    #[inline(always)]
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(25_214_903_917).wrapping_add(11);
        (self.0 >> 16) as u32
    }

    /// A draw from `0..n`.
    #[inline(always)]
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
    }
}

/// Draws word ids with probability proportional to `count^power`.
#[derive(Clone, Debug)]
pub struct NoiseSampler {
    /// Per column, the chance (scaled to 2^32) of keeping the column's own word.
    keep: Vec<u32>,
    /// Per column, the word drawn otherwise.
    alias: Vec<u32>,
}

impl NoiseSampler {
    /// The alias table of `counts^power` (word2vec uses power 0.75).
    pub fn new(counts: &[u64], power: f64) -> NoiseSampler {
        let n = counts.len();
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(power)).collect();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
        let mut keep = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            keep[s] = (scaled[s] * 4_294_967_296.0).min(u32::MAX as f64) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        NoiseSampler { keep, alias }
    }

    /// One draw.
    #[inline(always)]
    pub fn sample(&self, rng: &mut Lcg) -> u32 {
        let column = rng.below(self.keep.len() as u32) as usize;
        if rng.next_u32() < self.keep[column] { column as u32 } else { self.alias[column] }
    }
}

/// Per word, the chance (scaled to 2^32) of keeping an occurrence when frequent words are
/// subsampled with threshold `sample`: `(sqrt(f / (s T)) + 1) (s T) / f` for a word seen `f`
/// times among `T` (the C tool's and gensim's formula); 1 for every word when `sample` is 0.
pub fn keep_probabilities(counts: &[u64], sample: f64) -> Vec<u32> {
    let total: u64 = counts.iter().sum();
    let threshold = sample * total as f64;
    counts
        .iter()
        .map(|&f| {
            let p = if sample <= 0.0 { 1.0 } else { ((f as f64 / threshold).sqrt() + 1.0) * threshold / f as f64 };
            (p.min(1.0) * u32::MAX as f64) as u32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_follows_the_unigram_power() {
        let counts = [1000u64, 300, 100, 10, 1];
        let sampler = NoiseSampler::new(&counts, 0.75);
        let mut rng = Lcg::new(7);
        let draws = 2_000_000;
        let mut seen = [0u64; 5];
        for _ in 0..draws {
            seen[sampler.sample(&mut rng) as usize] += 1;
        }
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let total: f64 = weights.iter().sum();
        for (i, &w) in weights.iter().enumerate() {
            let expected = w / total;
            let got = seen[i] as f64 / draws as f64;
            assert!((got - expected).abs() < 0.002 + 0.01 * expected, "word {i}: {got:.4} vs {expected:.4}");
        }
    }

    #[test]
    fn subsampling_probabilities() {
        let counts = [1_000_000u64, 10_000, 10];
        let keep = keep_probabilities(&counts, 1e-3);
        let p = |i: usize| keep[i] as f64 / u32::MAX as f64;
        let threshold: f64 = 1e-3 * 1_010_010.0;
        let expected = ((1e6 / threshold).sqrt() + 1.0) * threshold / 1e6;
        assert!((p(0) - expected).abs() < 1e-6, "{} vs {expected}", p(0));
        assert!(p(0) < 0.05 && (p(1) - 0.4187).abs() < 1e-3 && p(2) == 1.0, "rarer words are kept more often");
        assert!(keep_probabilities(&counts, 0.0).iter().all(|&k| k == u32::MAX));
    }

    #[test]
    fn lcg_is_the_c_tools() {
        let mut rng = Lcg::new(1);
        let first = rng.next_u32();
        assert_eq!(first as u64, (25_214_903_917u64 + 11) >> 16 & 0xffff_ffff);
        assert!((0..1000).all(|_| rng.below(10) < 10));
    }
}
