//! Intended send times, computed from the seeded arrival process before anything is sent.
//!
//! A [`Schedule`] yields offsets (ns since the phase started) at which requests are meant to go
//! out. The engine's pacer sleeps until each one and records how late it actually was; nothing
//! here reads a clock, so schedules are tested exactly.

use std::sync::Arc;

use crate::arrival::{ArrivalPattern, Arrivals};
use crate::series::RateSeries;

const NS: f64 = 1e9;
/// AIPerf's rate-ramp step (AIPERF_TIMING_RATE_RAMP_UPDATE_INTERVAL).
const RAMP_STEP_NS: u64 = 100_000_000;

/// When each request is meant to be sent.
pub enum Schedule {
    /// Open loop at `rate` requests/s: the first request one interval after the start, as AIPerf.
    Rate {
        arrivals: Box<Arrivals>,
        rate: f64,
        ramp_ns: Option<u64>,
        /// `--request-rate-series`: the rate after the ramp (`rate` is its first point's).
        series: Option<Arc<RateSeries>>,
        next_ns: f64,
    },
    /// Replay of recorded offsets (sorted, ns since the phase start).
    Fixed { offsets_ns: Vec<u64>, next: usize },
    /// One shard's part of a schedule: arrival `i` of the whole when `i mod count == index`,
    /// so the shards' parts together are exactly the whole.
    Dealt {
        whole: Box<Schedule>,
        index: u64,
        count: u64,
        seen: u64,
    },
}

impl Schedule {
    pub fn rate(pattern: ArrivalPattern, rate: f64, ramp_ns: Option<u64>, seed: u64) -> Schedule {
        Schedule::Rate {
            arrivals: Box::new(Arrivals::new(pattern, seed)),
            rate,
            ramp_ns: ramp_ns.filter(|r| *r > 0),
            series: None,
            next_ns: 0.0,
        }
    }

    /// A rate schedule that follows `series` once its ramp (if any) is over; the ramp climbs
    /// to the series' first rate, as in AIPerf.
    pub fn with_series(mut self, new: Arc<RateSeries>) -> Schedule {
        if let Schedule::Rate { rate, series, .. } = &mut self {
            *rate = new.initial_qps();
            *series = Some(new);
        }
        self
    }

    pub fn fixed(mut offsets_ns: Vec<u64>) -> Schedule {
        offsets_ns.sort_unstable();
        Schedule::Fixed {
            offsets_ns,
            next: 0,
        }
    }

    /// This schedule's part for shard `index` of `count` (the whole when `count` is 1).
    pub fn dealt(self, index: u64, count: u64) -> Schedule {
        if count <= 1 {
            return self;
        }
        Schedule::Dealt {
            whole: Box::new(self),
            index,
            count,
            seen: 0,
        }
    }

    /// The rate in force at `t_ns` under a linear ramp from `rate * 0.1 s / ramp` to `rate`,
    /// updated in 0.1 s steps (AIPerf's `--request-rate-ramp-duration`).
    pub fn ramped_rate(rate: f64, ramp_ns: Option<u64>, t_ns: u64) -> f64 {
        match ramp_ns {
            Some(ramp) if t_ns < ramp => {
                let step = (t_ns / RAMP_STEP_NS + 1) * RAMP_STEP_NS;
                rate * (step as f64 / ramp as f64).min(1.0)
            }
            _ => rate,
        }
    }

    /// The next intended send time (ns since the phase start), or `None` when a fixed schedule
    /// is exhausted.
    pub fn next_offset(&mut self) -> Option<u64> {
        match self {
            Schedule::Rate {
                arrivals,
                rate,
                ramp_ns,
                series,
                next_ns,
            } => {
                let t = *next_ns as u64;
                let r = match (series, *ramp_ns) {
                    (Some(s), Some(ramp)) if t >= ramp => s.stepped_rate(t - ramp),
                    (Some(s), None) => s.stepped_rate(t),
                    _ => Self::ramped_rate(*rate, *ramp_ns, t),
                };
                *next_ns += arrivals.next_interval(r) * NS;
                Some(next_ns.round() as u64)
            }
            Schedule::Fixed { offsets_ns, next } => {
                let v = offsets_ns.get(*next).copied();
                *next += 1;
                v
            }
            Schedule::Dealt {
                whole,
                index,
                count,
                seen,
            } => loop {
                let t = whole.next_offset()?;
                let i = *seen;
                *seen += 1;
                if i % *count == *index {
                    return Some(t);
                }
            },
        }
    }
}

/// Session concurrency allowed at `t_ns` while ramping from 1 to `target` over `ramp_ns`
/// (`--concurrency-ramp-duration`).
pub fn ramped_concurrency(target: usize, ramp_ns: Option<u64>, t_ns: u64) -> usize {
    match ramp_ns {
        Some(ramp) if ramp > 0 && t_ns < ramp => {
            1 + ((target.saturating_sub(1)) as f64 * t_ns as f64 / ramp as f64) as usize
        }
        _ => target,
    }
    .clamp(1, target.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_is_exact_and_starts_one_interval_in() {
        let mut s = Schedule::rate(ArrivalPattern::Constant, 4.0, None, 0);
        let got: Vec<u64> = (0..4).map(|_| s.next_offset().unwrap()).collect();
        assert_eq!(got, [250_000_000, 500_000_000, 750_000_000, 1_000_000_000]);
    }

    /// Four shards' parts of one seeded Poisson schedule, merged, are the whole schedule.
    #[test]
    fn dealt_parts_together_are_the_whole_schedule() {
        let whole: Vec<u64> = {
            let mut s = Schedule::rate(ArrivalPattern::Poisson, 500.0, Some(1_000_000_000), 7);
            (0..1_000).map(|_| s.next_offset().unwrap()).collect()
        };
        let mut merged: Vec<u64> = (0..4)
            .flat_map(|k| {
                let mut s = Schedule::rate(ArrivalPattern::Poisson, 500.0, Some(1_000_000_000), 7)
                    .dealt(k, 4);
                (0..250)
                    .map(move |_| s.next_offset().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        merged.sort_unstable();
        assert_eq!(merged, whole);
        let mut one = Schedule::fixed(vec![3, 1, 2]).dealt(0, 1);
        assert_eq!(one.next_offset(), Some(1), "one shard of one is the whole");
    }

    #[test]
    fn poisson_schedule_hits_the_rate_and_reproduces() {
        let take = |seed| {
            let mut s = Schedule::rate(ArrivalPattern::Poisson, 1000.0, None, seed);
            (0..10_000)
                .map(|_| s.next_offset().unwrap())
                .collect::<Vec<_>>()
        };
        let a = take(9);
        assert_eq!(a, take(9));
        assert!(a.windows(2).all(|w| w[0] <= w[1]));
        // 10,000 arrivals at 1,000/s take about 10 s (Poisson: sd of the sum is 0.1 s).
        let span = *a.last().unwrap() as f64 / 1e9;
        assert!((span - 10.0).abs() < 0.4, "{span}");
    }

    #[test]
    fn rate_ramp_rises_in_steps_to_the_target() {
        // 2 s ramp to 100 req/s: 5 req/s in the first 0.1 s, 100 req/s from 2 s on.
        assert_eq!(Schedule::ramped_rate(100.0, Some(2_000_000_000), 0), 5.0);
        assert_eq!(
            Schedule::ramped_rate(100.0, Some(2_000_000_000), 950_000_000),
            50.0
        );
        assert_eq!(
            Schedule::ramped_rate(100.0, Some(2_000_000_000), 3_000_000_000),
            100.0
        );
        let mut s = Schedule::rate(ArrivalPattern::Constant, 100.0, Some(2_000_000_000), 0);
        let first = s.next_offset().unwrap();
        assert_eq!(first, 200_000_000, "1 / 5 req/s");
    }

    #[test]
    fn a_rate_series_sets_the_intervals_after_the_ramp() {
        use crate::series::RatePoint;
        let series = Arc::new(
            RateSeries::new(vec![
                RatePoint {
                    time_s: 0.0,
                    qps: 10.0,
                },
                RatePoint {
                    time_s: 1.0,
                    qps: 20.0,
                },
            ])
            .unwrap(),
        );
        // No ramp: 10 req/s at first (0.1 s apart); the arrival at 0.1 s is in the step that
        // began at 0.1 s, where the series is at 11 req/s.
        let mut s =
            Schedule::rate(ArrivalPattern::Constant, 999.0, None, 0).with_series(series.clone());
        assert_eq!(s.next_offset(), Some(100_000_000));
        let second = s.next_offset().unwrap();
        assert_eq!(second, 100_000_000 + (1e9 / 11.0_f64).round() as u64);
        // A 1 s ramp climbs to the first point's 10 req/s; the series starts after it.
        let mut r = Schedule::rate(ArrivalPattern::Constant, 999.0, Some(1_000_000_000), 0)
            .with_series(series);
        // First step of the ramp: 10 * 0.1 / 1 = 1 req/s, so the first arrival is 1 s in.
        assert_eq!(r.next_offset(), Some(1_000_000_000));
        // At 1 s the series begins at its 10 req/s.
        assert_eq!(r.next_offset(), Some(1_100_000_000));
    }

    #[test]
    fn fixed_schedule_replays_sorted_offsets_then_ends() {
        let mut s = Schedule::fixed(vec![30, 10, 20]);
        assert_eq!(
            [
                s.next_offset(),
                s.next_offset(),
                s.next_offset(),
                s.next_offset()
            ],
            [Some(10), Some(20), Some(30), None]
        );
    }

    #[test]
    fn concurrency_ramp() {
        assert_eq!(ramped_concurrency(8, Some(1_000), 0), 1);
        assert_eq!(ramped_concurrency(8, Some(1_000), 500), 4);
        assert_eq!(ramped_concurrency(8, Some(1_000), 1_000), 8);
        assert_eq!(ramped_concurrency(8, None, 0), 8);
    }
}
