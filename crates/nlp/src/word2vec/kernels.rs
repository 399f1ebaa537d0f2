//! The inner loops of word2vec: dot products and `y += a x` over rows of the weight matrices,
//! and the sigmoid table. Written so the compiler vectorises them; `train` compiles its job loop
//! once more with AVX2 (and once with AVX-512) enabled and picks one at run time.

use std::sync::atomic::AtomicU32;

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

/// How a trainer asks for the rows it will update next: every row it prefetches is one it
/// writes soon after (output rows, and the input rows of skip-gram contexts and CBOW windows).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Prefetch {
    /// PREFETCHW: the line arrives owned by this core, ready to be written. When the other
    /// thread wrote it last, a read prefetch brings a shared copy and the first write must then
    /// wait a second time for the other core to let go of it. Two-thread skip-gram with
    /// negative sampling, which writes six output rows per context word, ran 1.14x the words/s
    /// of `Read` (median of 15 alternating runs on 1.5 M tokens of the bench corpus); CBOW and
    /// hierarchical softmax, which write fewer shared rows per word, 1.02x; one thread 1.00x.
    Write,
    /// A plain read prefetch into every cache level, on CPUs without PREFETCHW.
    Read,
}

impl Prefetch {
    /// `Write` where the CPU has PREFETCHW (CPUID 0x8000_0001, ECX bit 8: AMD since the K6-2,
    /// Intel since Broadwell), `Read` elsewhere.
    pub(crate) fn detect() -> Prefetch {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::__cpuid;
            if __cpuid(0x8000_0000).eax >= 0x8000_0001 && __cpuid(0x8000_0001).ecx & (1 << 8) != 0 {
                return Prefetch::Write;
            }
        }
        Prefetch::Read
    }

    /// Starts loading `row` into this core's cache, so that the loads spread over the whole
    /// matrix overlap instead of waiting one after another. A prefetch is a hint, not an
    /// access: it neither reads nor writes the floats.
    #[inline(always)]
    pub(crate) fn row(self, row: &[AtomicU32]) {
        #[cfg(target_arch = "x86_64")]
        for line in row.chunks(16) {
            let line = line.as_ptr();
            match self {
                // SAFETY: prefetches are hints that never fault, and `detect` found the
                // instruction; the address lies inside `row`.
                Prefetch::Write => unsafe {
                    std::arch::asm!("prefetchw [{0}]", in(reg) line, options(nostack, preserves_flags, readonly))
                },
                // SAFETY: as above; SSE is part of x86-64.
                Prefetch::Read => unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.cast())
                },
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (self, row);
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

    /// Write-intent prefetch is used exactly where the CPU reports it (as Linux lists it).
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn prefetch_kind_follows_the_cpu() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
        let flags = cpuinfo.lines().find(|l| l.starts_with("flags")).expect("a flags line");
        let listed = flags.split_whitespace().any(|f| f == "3dnowprefetch");
        assert_eq!(Prefetch::detect() == Prefetch::Write, listed, "{flags}");
        // Rows of any length, the last line partial, are hints only: nothing changes.
        let mut row: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let shared = crate::word2vec::atomic_f32::as_shared(&mut row);
        for kind in [Prefetch::Write, Prefetch::Read].into_iter().filter(|k| *k == Prefetch::Read || listed) {
            kind.row(shared);
            kind.row(&shared[..1]);
            kind.row(&[]);
        }
        assert!(row.iter().enumerate().all(|(i, &x)| x == i as f32));
    }
}
