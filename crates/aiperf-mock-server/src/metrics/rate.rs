//! A lock-free rate of output tokens handed over per second (the fake GPUs' power gauge and
//! SGLang's generation throughput).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Tokens handed over per whole second since start, in two alternating slots: enough for a
/// rate over the last second (the power gauge) without a lock.
pub(super) struct Rate {
    /// Which second (+1, so 0 means never) each slot counts.
    stamp: [AtomicU64; 2],
    count: [AtomicU64; 2],
}

impl Rate {
    pub(super) fn new() -> Self {
        Self {
            stamp: Default::default(),
            count: Default::default(),
        }
    }

    pub(super) fn add(&self, sec: u64, k: u64) {
        let slot = (sec & 1) as usize;
        let tag = sec + 1;
        let old = self.stamp[slot].load(Ordering::Relaxed);
        // The first adder of a new second clears the slot (an add racing with it may be lost:
        // the rate is approximate).
        if old != tag
            && self.stamp[slot]
                .compare_exchange(old, tag, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.count[slot].store(0, Ordering::Relaxed);
        }
        self.count[slot].fetch_add(k, Ordering::Relaxed);
    }

    fn in_second(&self, sec: u64) -> f64 {
        let slot = (sec & 1) as usize;
        if self.stamp[slot].load(Ordering::Relaxed) == sec + 1 {
            self.count[slot].load(Ordering::Relaxed) as f64
        } else {
            0.0
        }
    }

    /// Tokens per second over the last second at `elapsed` since start: this second's so far
    /// plus the part of the previous second still inside the window, pro rata.
    pub(super) fn per_second(&self, elapsed: Duration) -> f64 {
        let sec = elapsed.as_secs();
        let into = f64::from(elapsed.subsec_nanos()) / 1e9;
        let previous = if sec > 0 {
            self.in_second(sec - 1)
        } else {
            0.0
        };
        self.in_second(sec) + previous * (1.0 - into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_covers_the_last_second() {
        let r = Rate::new();
        r.add(4, 100);
        r.add(5, 30);
        let at = |s: f64| r.per_second(Duration::from_secs_f64(s));
        assert!((at(5.25) - (30.0 + 75.0)).abs() < 1e-9);
        assert!((at(6.5) - 15.0).abs() < 1e-9);
        assert_eq!(at(8.0), 0.0);
    }
}
