//! Which conversation the n-th session sends, as a pure function of `n`.
//!
//! Being a function of the index (not of shared mutable state) keeps it lock-free on the request
//! path and makes the choice identical whatever order workers ask in.

use crate::rng::splitmix;

/// AIPerf's `--dataset-sampling-strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplingStrategy {
    /// 0, 1, 2, ... wrapping around.
    Sequential,
    /// Uniform with replacement.
    Random,
    /// A fresh permutation of all entries for each pass over the dataset.
    Shuffle,
}

/// Every built-in sampler: its registry `implementation` (the variant's path) and the variant.
pub const BUILTINS: [(&str, SamplingStrategy); 3] = [
    (
        "aiperf_dataset::sampling::SamplingStrategy::Random",
        SamplingStrategy::Random,
    ),
    (
        "aiperf_dataset::sampling::SamplingStrategy::Sequential",
        SamplingStrategy::Sequential,
    ),
    (
        "aiperf_dataset::sampling::SamplingStrategy::Shuffle",
        SamplingStrategy::Shuffle,
    ),
];

impl SamplingStrategy {
    /// The strategy a registry `implementation` names.
    pub fn from_implementation(implementation: &str) -> Option<Self> {
        BUILTINS
            .iter()
            .find(|(i, _)| *i == implementation)
            .map(|(_, s)| *s)
    }
}

/// Maps a session number to a dataset index.
#[derive(Debug, Clone)]
pub struct Sampler {
    strategy: SamplingStrategy,
    len: u64,
    seed: u64,
}

impl Sampler {
    pub fn new(strategy: SamplingStrategy, len: usize, seed: u64) -> Self {
        Self {
            strategy,
            len: len.max(1) as u64,
            seed,
        }
    }

    /// Dataset index for session number `n`.
    pub fn pick(&self, n: u64) -> usize {
        let len = self.len;
        let i = match self.strategy {
            SamplingStrategy::Sequential => n % len,
            SamplingStrategy::Random => {
                let h = crate::rng::mix(self.seed, n);
                ((h as u128 * len as u128) >> 64) as u64
            }
            SamplingStrategy::Shuffle => {
                let pass = n / len;
                permute(
                    n % len,
                    len,
                    self.seed
                        .wrapping_add(pass.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                )
            }
        };
        i as usize
    }
}

/// A keyed bijection on `[0, len)`: a 4-round Feistel network on the smallest even-bit domain
/// covering `len`, with cycle-walking back into range.
fn permute(x: u64, len: u64, key: u64) -> u64 {
    if len <= 1 {
        return 0;
    }
    let bits = 64 - (len - 1).leading_zeros();
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let mut v = x;
    loop {
        let mut l = v >> half;
        let mut r = v & mask;
        for round in 0..4u64 {
            let f = splitmix(r ^ key ^ round.wrapping_mul(0xA24B_AED4_963E_E407)) & mask;
            let nl = r;
            r = l ^ f;
            l = nl;
        }
        v = (l << half) | r;
        if v < len {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_wraps() {
        let s = Sampler::new(SamplingStrategy::Sequential, 3, 0);
        assert_eq!(
            (0..7).map(|n| s.pick(n)).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1, 2, 0]
        );
    }

    #[test]
    fn shuffle_is_a_permutation_per_pass_and_passes_differ() {
        for len in [1usize, 2, 7, 100, 1000] {
            let s = Sampler::new(SamplingStrategy::Shuffle, len, 42);
            let mut first: Vec<usize> = (0..len as u64).map(|n| s.pick(n)).collect();
            let second: Vec<usize> = (len as u64..2 * len as u64).map(|n| s.pick(n)).collect();
            if len >= 7 {
                assert_ne!(first, second, "len {len}");
                assert_ne!(
                    first,
                    (0..len).collect::<Vec<_>>(),
                    "not shuffled for len {len}"
                );
            }
            first.sort_unstable();
            assert_eq!(first, (0..len).collect::<Vec<_>>());
        }
    }

    #[test]
    fn random_stays_in_range_and_is_reproducible() {
        let a = Sampler::new(SamplingStrategy::Random, 10, 5);
        let b = Sampler::new(SamplingStrategy::Random, 10, 5);
        let va: Vec<usize> = (0..50).map(|n| a.pick(n)).collect();
        assert_eq!(va, (0..50).map(|n| b.pick(n)).collect::<Vec<_>>());
        assert!(va.iter().all(|&i| i < 10));
    }
}
