//! The lock-free histogram the mock records what it served into.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A Prometheus histogram of atomic counters: one per bucket (not cumulative; the page adds
/// them up) and the sum in integer units (nanoseconds, or tokens).
pub(crate) struct Histogram {
    pub(super) bounds: &'static [f64],
    /// `bounds` in integer units, so an observation is placed without float rounding.
    limits: Box<[u64]>,
    /// One per bound, then `+Inf`.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
    /// Units per rendered unit: 1e9 for seconds kept in ns, 1 for token counts.
    scale: f64,
}

impl Histogram {
    pub(super) fn new(bounds: &'static [f64], scale: f64) -> Self {
        Self {
            bounds,
            limits: bounds.iter().map(|b| (b * scale).round() as u64).collect(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            scale,
        }
    }

    pub(super) fn seconds(bounds: &'static [f64]) -> Self {
        Self::new(bounds, 1e9)
    }

    pub(super) fn tokens(bounds: &'static [f64]) -> Self {
        Self::new(bounds, 1.0)
    }

    /// `n` observations of `v` units, each in the first bucket whose bound is >= `v`.
    pub(super) fn observe_n(&self, v: u64, n: u64) {
        if n == 0 {
            return;
        }
        let i = self.limits.partition_point(|&limit| limit < v);
        self.counts[i].fetch_add(n, Ordering::Relaxed);
        self.sum.fetch_add(v.saturating_mul(n), Ordering::Relaxed);
    }

    pub(super) fn observe(&self, v: u64) {
        self.observe_n(v, 1);
    }

    pub(super) fn observe_time(&self, d: Duration) {
        self.observe(nanos(d));
    }

    /// Cumulative counts for each bound and `+Inf` (last, the count), and the sum in rendered
    /// units.
    pub(super) fn snapshot(&self) -> (Vec<u64>, f64) {
        let mut total = 0;
        let cumulative = self
            .counts
            .iter()
            .map(|c| {
                total += c.load(Ordering::Relaxed);
                total
            })
            .collect();
        (
            cumulative,
            self.sum.load(Ordering::Relaxed) as f64 / self.scale,
        )
    }
}

/// `d` in nanoseconds (saturating).
pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::buckets;

    #[test]
    fn an_observation_lands_in_the_first_bucket_at_or_above_it() {
        let h = Histogram::seconds(buckets::VLLM_TTFT);
        h.observe_time(Duration::from_millis(20)); // exactly le=0.02
        h.observe_time(Duration::from_millis(21)); // le=0.04
        h.observe_time(Duration::from_secs(3000)); // +Inf
        let (c, sum) = h.snapshot();
        let at = |b: f64| c[buckets::VLLM_TTFT.iter().position(|&x| x == b).unwrap()];
        assert_eq!((at(0.01), at(0.02), at(0.04), at(2560.0)), (0, 1, 2, 2));
        assert_eq!(*c.last().unwrap(), 3);
        assert!((sum - 3000.041).abs() < 1e-9, "{sum}");
        let t = Histogram::tokens(buckets::DYNAMO_OSL);
        t.observe(0);
        t.observe_n(50, 2);
        assert_eq!(&t.snapshot().0[..3], &[1, 3, 3]);
    }
}
