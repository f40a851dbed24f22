//! One monotonic clock per run, anchored once to the wall clock.
//!
//! Every timestamp taken during a run is nanoseconds since [`Clock::start`] on the monotonic clock
//! (immune to NTP steps). Exporters convert to wall-clock epoch nanoseconds with
//! [`Clock::to_wall_ns`], using the single anchor taken when the clock was created, so that all
//! exported timestamps are mutually consistent.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Monotonic run clock with a wall-clock anchor.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    wall_start_ns: u64,
}

impl Clock {
    /// Starts a clock now.
    pub fn start() -> Self {
        let start = Instant::now();
        let wall_start_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self {
            start,
            wall_start_ns,
        }
    }

    /// Nanoseconds elapsed on the monotonic clock since the clock started.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The [`Instant`] that corresponds to a clock reading (for sleeping until it).
    pub fn instant_at(&self, ns: u64) -> Instant {
        self.start + std::time::Duration::from_nanos(ns)
    }

    /// Converts a clock reading to wall-clock nanoseconds since the Unix epoch.
    #[inline]
    pub fn to_wall_ns(&self, ns: u64) -> u64 {
        self.wall_start_ns + ns
    }
}
