//! The split rule: each group (movie, page, document) is placed by a seeded hash of its name,
//! so a group never straddles two splits, the assignment does not depend on the order or the
//! number of rows in the file, and it stays the same across releases.

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any 64-bit input.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Which part (0 train, 1 dev, 2 test) the group `key` falls in under `seed`.
pub fn part_of(key: &str, seed: u64, fractions: [f64; 3]) -> usize {
    let u = (mix(fnv1a(key.as_bytes()) ^ mix(seed)) >> 11) as f64 / (1u64 << 53) as f64;
    if u < fractions[0] {
        0
    } else if u < fractions[0] + fractions[1] {
        1
    } else {
        2
    }
}

/// A small seeded generator (SplitMix64) for sampling and corruptions.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A uniform integer below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
