//! Named random streams derived from one seed, so each concern (prompt lengths, corpus offsets,
//! output lengths, sampling) is reproducible on its own and adding a new stream changes no other.
//!
//! Child seed = first 8 bytes of `SHA-256("<seed>:<name>")`, as AIPerf derives its streams.
//! Samplers are written out here (not taken from `rand_distr`) so values stay identical across
//! dependency upgrades.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// A seeded random stream with the few distributions aiperf needs.
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream called `name` under `seed`.
    pub fn derive(seed: u64, name: &str) -> Self {
        let digest = Sha256::digest(format!("{seed}:{name}").as_bytes());
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        Rng(ChaCha8Rng::seed_from_u64(u64::from_be_bytes(bytes)))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; `n` must be > 0. Lemire's method, unbiased.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let x = self.0.next_u64();
            let m = (x as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Standard normal via Box-Muller.
    pub fn standard_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// AIPerf's `sample_positive_normal_integer`: `max(1, round(mean))` when `stddev <= 0`,
    /// otherwise `x ~ N(mean, stddev)` redrawn until `x >= 0` (at most 10,000 tries), then
    /// `max(1, ceil(x))`.
    pub fn positive_normal_integer(&mut self, mean: f64, stddev: f64) -> u32 {
        if stddev <= 0.0 {
            return mean.round().max(1.0) as u32;
        }
        let mut x = mean;
        for _ in 0..10_000 {
            x = mean + stddev * self.standard_normal();
            if x >= 0.0 {
                break;
            }
        }
        x.max(0.0).ceil().max(1.0) as u32
    }
}

/// A reproducible 64-bit hash of `(seed, n)` (splitmix64 twice): per-index draws that do not
/// depend on the order in which indices are asked for.
pub fn mix(seed: u64, n: u64) -> u64 {
    splitmix(seed ^ splitmix(n))
}

/// [`mix`] as a uniform value in `[0, 1)`.
pub fn mix_unit(seed: u64, n: u64) -> f64 {
    (mix(seed, n) >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for runs without `--random-seed`: different every run.
pub fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_stream_other_name_other_stream() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::derive(42, "x");
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::derive(42, "x");
                move |_| r.next_u64()
            })
            .collect();
        let mut c = Rng::derive(42, "y");
        assert_eq!(a, b);
        assert_ne!(a[0], c.next_u64());
    }

    #[test]
    fn positive_normal_integer_rules() {
        let mut r = Rng::derive(1, "t");
        assert_eq!(r.positive_normal_integer(127.6, 0.0), 128);
        assert_eq!(r.positive_normal_integer(0.2, 0.0), 1);
        for _ in 0..1000 {
            assert!(r.positive_normal_integer(2.0, 10.0) >= 1);
        }
        // Mean of N(100, 10) samples (ceil adds ~0.5) lands near 100.5.
        let n = 20_000;
        let mean: f64 = (0..n)
            .map(|_| r.positive_normal_integer(100.0, 10.0) as f64)
            .sum::<f64>()
            / n as f64;
        assert!((mean - 100.5).abs() < 0.5, "mean {mean}");
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut r = Rng::derive(7, "b");
        let mut seen = [false; 5];
        for _ in 0..200 {
            let v = r.below(5) as usize;
            seen[v] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
