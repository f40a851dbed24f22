//! Run statistics exactly as AIPerf (numpy) computes them: population standard deviation
//! (`ddof = 0`) and percentiles by linear interpolation between order statistics
//! (`numpy.percentile`'s default, Hyndman-Fan type 7), including numpy's two-sided lerp.

use std::io;

use crate::select::{first_reaching, Items};

/// Percentiles AIPerf reports, in export order.
pub const PERCENTILES: [(f64, &str); 9] = [
    (1.0, "p1"),
    (5.0, "p5"),
    (10.0, "p10"),
    (25.0, "p25"),
    (50.0, "p50"),
    (75.0, "p75"),
    (90.0, "p90"),
    (95.0, "p95"),
    (99.0, "p99"),
];

/// Distribution statistics of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub avg: f64,
    pub min: f64,
    pub max: f64,
    pub std: f64,
    pub sum: f64,
    pub count: u64,
    /// Values at [`PERCENTILES`], same order.
    pub percentiles: [f64; 9],
}

impl Stats {
    /// Statistics of `values` (non-finite values dropped first); `None` when nothing is left.
    pub fn compute(values: &[f64]) -> Option<Stats> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable_by(f64::total_cmp);
        let n = v.len();
        let sum = pairwise_sum(&v);
        let avg = sum / n as f64;
        let sq: Vec<f64> = v.iter().map(|x| (x - avg) * (x - avg)).collect();
        let std = (pairwise_sum(&sq) / n as f64).sqrt();
        let mut percentiles = [0.0; 9];
        for (slot, (q, _)) in percentiles.iter_mut().zip(PERCENTILES) {
            *slot = percentile_sorted(&v, q);
        }
        Some(Stats {
            avg,
            min: v[0],
            max: v[n - 1],
            std,
            sum,
            count: n as u64,
            percentiles,
        })
    }

    /// The value of percentile `name` (`"p50"`, ...).
    pub fn percentile(&self, name: &str) -> Option<f64> {
        PERCENTILES
            .iter()
            .position(|(_, n)| *n == name)
            .map(|i| self.percentiles[i])
    }

    /// Every statistic multiplied by `factor` (unit conversion); `count` unchanged.
    pub fn scaled(&self, factor: f64) -> Stats {
        let mut s = self.clone();
        if factor != 1.0 {
            s.avg *= factor;
            s.min *= factor;
            s.max *= factor;
            s.std *= factor;
            s.sum *= factor;
            for p in &mut s.percentiles {
                *p *= factor;
            }
        }
        s
    }
}

/// numpy's default percentile on sorted data: `h = q/100 * (n-1)`, interpolated between
/// `a[floor h]` and `a[floor h + 1]` with numpy's `_lerp` (computed from the nearer end).
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let (lo, hi, t) = percentile_ranks(n as u64, q);
    lerp(sorted[lo as usize], sorted[hi as usize], t)
}

/// The two order statistics (0-based) percentile `q` of `n` values interpolates, and the weight.
fn percentile_ranks(n: u64, q: f64) -> (u64, u64, f64) {
    let h = q / 100.0 * (n - 1) as f64;
    let lo = h.floor() as u64;
    (lo, (lo + 1).min(n - 1), h - lo as f64)
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Neumaier-compensated running sum (the order-independent stand-in for numpy's pairwise sum
/// when the values arrive in chunks).
#[derive(Default, Clone, Copy)]
struct CompensatedSum {
    sum: f64,
    c: f64,
}

impl CompensatedSum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.c += (self.sum - t) + x;
        } else {
            self.c += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(self) -> f64 {
        self.sum + self.c
    }
}

impl Stats {
    /// The same statistics read by passes over `items` (their weights ignored, non-finite values
    /// dropped), for data kept on disk: percentiles are the exact order statistics (by
    /// [`crate::select`]), sums are compensated. Memory stays bounded whatever the count.
    pub fn compute_streaming(items: &dyn Items) -> io::Result<Option<Stats>> {
        let finite = Finite(items);
        let (mut n, mut sum) = (0u64, CompensatedSum::default());
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        // Welford's running mean and squared deviations: one pass instead of two.
        let (mut mean, mut m2) = (0.0f64, 0.0f64);
        finite.scan(&mut |x, _| {
            n += 1;
            sum.add(x);
            min = min.min(x);
            max = max.max(x);
            let d = x - mean;
            mean += d / n as f64;
            m2 += d * (x - mean);
        })?;
        if n == 0 {
            return Ok(None);
        }
        let sum = sum.value();
        let avg = sum / n as f64;
        let ranks: Vec<(u64, u64, f64)> = PERCENTILES
            .iter()
            .map(|(q, _)| percentile_ranks(n, *q))
            .collect();
        let thresholds: Vec<f64> = ranks
            .iter()
            .flat_map(|(lo, hi, _)| [(lo + 1) as f64, (hi + 1) as f64])
            .collect();
        let order = first_reaching(&finite, &thresholds)?.unwrap_or_default();
        let mut percentiles = [0.0; 9];
        for (i, (slot, (_, _, t))) in percentiles.iter_mut().zip(&ranks).enumerate() {
            *slot = if n == 1 {
                min
            } else {
                lerp(order[2 * i], order[2 * i + 1], *t)
            };
        }
        Ok(Some(Stats {
            avg,
            min,
            max,
            std: (m2.max(0.0) / n as f64).sqrt(),
            sum,
            count: n,
            percentiles,
        }))
    }
}

/// `items` without non-finite values, all with unit weight.
pub(crate) struct Finite<'a>(pub &'a dyn Items);

impl Items for Finite<'_> {
    fn scan(&self, f: &mut dyn FnMut(f64, f64)) -> io::Result<()> {
        self.0.scan(&mut |v, _| {
            if v.is_finite() {
                f(v, 1.0)
            }
        })
    }
}

/// numpy-style pairwise summation (blocks of 8, recursive halves above 128 elements), so sums
/// match numpy's to the last bit in the common cases.
fn pairwise_sum(v: &[f64]) -> f64 {
    let n = v.len();
    if n < 8 {
        return v.iter().fold(0.0, |acc, x| acc + x);
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&v[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for k in 0..8 {
                r[k] += v[i + k];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += v[i];
            i += 1;
        }
        return res;
    }
    let mut half = n / 2;
    half -= half % 8;
    pairwise_sum(&v[..half]) + pairwise_sum(&v[half..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_small_sample() {
        // values 1..=4: mean 2.5, population variance 1.25.
        let s = Stats::compute(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.min, s.max, s.sum, s.count), (1.0, 4.0, 10.0, 4));
        assert_eq!(s.avg, 2.5);
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-15);
        // h = 0.5 * 3 = 1.5 -> 2 + 0.5 * (3 - 2) = 2.5
        assert_eq!(s.percentile("p50"), Some(2.5));
        // h = 0.99 * 3 = 2.97 -> 3 + 0.97 = 3.97
        assert!((s.percentile("p99").unwrap() - 3.97).abs() < 1e-12);
        // h = 0.25 * 3 = 0.75 -> 1.75
        assert!((s.percentile("p25").unwrap() - 1.75).abs() < 1e-12);
        // h = 0.01 * 3 = 0.03 -> 1.03
        assert!((s.percentile("p1").unwrap() - 1.03).abs() < 1e-12);
    }

    #[test]
    fn single_value_and_non_finite() {
        let s = Stats::compute(&[7.0, f64::NAN, f64::INFINITY]).unwrap();
        assert_eq!(s.count, 1);
        assert!(s.percentiles.iter().all(|p| *p == 7.0));
        assert_eq!(s.std, 0.0);
        assert!(Stats::compute(&[]).is_none());
        assert!(Stats::compute(&[f64::NAN]).is_none());
    }

    #[test]
    fn matches_numpy_on_a_known_vector() {
        // numpy.percentile([15, 20, 35, 40, 50], [10, 90]) == [17., 46.]; std == 12.884098...
        let s = Stats::compute(&[15.0, 20.0, 35.0, 40.0, 50.0]).unwrap();
        assert!((s.percentile("p10").unwrap() - 17.0).abs() < 1e-12);
        assert!((s.percentile("p90").unwrap() - 46.0).abs() < 1e-12);
        assert!((s.std - 12.884098726725126).abs() < 1e-12);
    }

    #[test]
    fn pairwise_sum_equals_exact_sum_on_integers() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(pairwise_sum(&v), 500_500.0);
    }

    #[test]
    fn streaming_matches_in_memory() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for n in [1usize, 2, 3, 10, 5_000, 120_001] {
            let v: Vec<f64> = (0..n)
                .map(|i| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    if i % 97 == 5 {
                        f64::NAN
                    } else {
                        4e6 + (s % 2_000_000) as f64 * if i % 3 == 0 { 1.0 } else { 0.001 }
                    }
                })
                .collect();
            let items: Vec<(f64, f64)> = v.iter().map(|&x| (x, 0.0)).collect();
            let (a, b) = (
                Stats::compute(&v),
                Stats::compute_streaming(&items).unwrap(),
            );
            let (Some(a), Some(b)) = (a, b) else {
                assert_eq!(n, 0);
                continue;
            };
            assert_eq!(a.percentiles, b.percentiles, "n={n}");
            assert_eq!((a.min, a.max, a.count), (b.min, b.max, b.count));
            for (x, y) in [(a.sum, b.sum), (a.avg, b.avg), (a.std, b.std)] {
                assert!(
                    (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                    "n={n}: {x} vs {y}"
                );
            }
        }
        let none: Vec<(f64, f64)> = vec![(f64::NAN, 1.0)];
        assert!(Stats::compute_streaming(&none).unwrap().is_none());
    }

    #[test]
    fn scaling_converts_every_statistic() {
        let s = Stats::compute(&[1e6, 3e6]).unwrap().scaled(1e-6);
        assert_eq!((s.min, s.max, s.avg, s.sum), (1.0, 3.0, 2.0, 4.0));
        assert_eq!(s.count, 2);
    }
}
