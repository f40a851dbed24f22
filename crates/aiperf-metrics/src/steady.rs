//! The steady state of a closed-loop run: the plateau where the client held its full
//! concurrency, without the ramp-up (slots still filling) and the drain (no new requests, the
//! last ones finishing). Whole-run throughput counts both edges, where the server is under-loaded;
//! the plateau is what a server sustains at that concurrency.
//!
//! The plateau runs from the first moment the number of requests in flight reached its maximum
//! to the last moment it fell from it. Throughput counts the requests completing inside it;
//! latencies come from the requests that started and ended inside it.

use crate::stats::percentile_sorted;
use crate::timeline::Interval;

/// Latency statistics over the plateau's requests, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateauStats {
    pub avg: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

/// What the run did while its concurrency was at the top.
#[derive(Debug, Clone, PartialEq)]
pub struct SteadyState {
    /// Run-clock bounds of the plateau (ns).
    pub start_ns: u64,
    pub end_ns: u64,
    /// Requests in flight on the plateau.
    pub concurrency: u64,
    /// Share of the run (first start to last end) the plateau covers.
    pub fraction_of_run: f64,
    /// Requests that completed on the plateau.
    pub completed: u64,
    pub request_throughput: f64,
    /// Output tokens of the requests completing on the plateau, per second.
    pub output_token_throughput: f64,
    /// Over requests that started and ended on the plateau.
    pub request_latency: Option<PlateauStats>,
    pub time_to_first_token: Option<PlateauStats>,
}

fn plateau_stats(mut xs: Vec<f64>) -> Option<PlateauStats> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(PlateauStats {
        avg: xs.iter().sum::<f64>() / xs.len() as f64,
        p50: percentile_sorted(&xs, 50.0),
        p90: percentile_sorted(&xs, 90.0),
        p99: percentile_sorted(&xs, 99.0),
    })
}

/// The plateau of `intervals` (successful requests), or `None` when there is none to speak of
/// (fewer than two completions on it).
pub fn steady_state(intervals: &[Interval]) -> Option<SteadyState> {
    // Ends sort before starts at the same instant: a slot handed straight to the next request
    // never counts twice.
    let mut events: Vec<(u64, i64)> = intervals
        .iter()
        .flat_map(|iv| [(iv.start, 1), (iv.end, -1)])
        .collect();
    events.sort_unstable();
    let mut level: i64 = 0;
    let mut top: i64 = 0;
    let mut first_top = 0;
    let mut last_drop = 0;
    for &(t, d) in &events {
        if d < 0 && level == top {
            last_drop = t;
        }
        level += d;
        if level > top {
            top = level;
            first_top = t;
        }
    }
    let (start, end) = (first_top, last_drop);
    if top <= 0 || end <= start {
        return None;
    }
    let completed: Vec<&Interval> = intervals
        .iter()
        .filter(|iv| iv.end >= start && iv.end <= end)
        .collect();
    if completed.len() < 2 {
        return None;
    }
    let secs = (end - start) as f64 / 1e9;
    let inside: Vec<&Interval> = intervals
        .iter()
        .filter(|iv| iv.start >= start && iv.end <= end)
        .collect();
    let run_start = intervals.iter().map(|iv| iv.start).min()?;
    let run_end = intervals.iter().map(|iv| iv.end).max()?;
    Some(SteadyState {
        start_ns: start,
        end_ns: end,
        concurrency: top as u64,
        fraction_of_run: (end - start) as f64 / (run_end - run_start).max(1) as f64,
        completed: completed.len() as u64,
        request_throughput: completed.len() as f64 / secs,
        output_token_throughput: completed.iter().map(|iv| iv.osl).sum::<f64>() / secs,
        request_latency: plateau_stats(
            inside
                .iter()
                .map(|iv| (iv.end - iv.start) as f64 / 1e6)
                .collect(),
        ),
        time_to_first_token: plateau_stats(
            inside
                .iter()
                .map(|iv| (iv.first_token - iv.start) as f64 / 1e6)
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn iv(start_ms: u64, end_ms: u64) -> Interval {
        Interval {
            start: start_ms * MS,
            first_token: start_ms * MS + 10 * MS,
            end: end_ms * MS,
            isl: 8.0,
            osl: 4.0,
        }
    }

    #[test]
    fn two_workers_worked_by_hand() {
        // Worker A: 0-100, 100-200, 200-300; worker B: 50-150, 150-250, 250-350.
        // Two in flight from 50 ms until A's last request ends at 300 ms.
        let runs = [
            iv(0, 100),
            iv(100, 200),
            iv(200, 300),
            iv(50, 150),
            iv(150, 250),
            iv(250, 350),
        ];
        let s = steady_state(&runs).unwrap();
        assert_eq!(
            (s.start_ns, s.end_ns, s.concurrency),
            (50 * MS, 300 * MS, 2)
        );
        // Ends at 100, 150, 200, 250 and 300 ms: 5 in 0.25 s.
        assert_eq!(s.completed, 5);
        assert!((s.request_throughput - 20.0).abs() < 1e-9);
        assert!((s.output_token_throughput - 80.0).abs() < 1e-9);
        assert!((s.fraction_of_run - 250.0 / 350.0).abs() < 1e-12);
        // Inside: 100-200, 200-300, 50-150, 150-250, all 100 ms, TTFT 10 ms.
        let lat = s.request_latency.unwrap();
        assert_eq!((lat.avg, lat.p50, lat.p99), (100.0, 100.0, 100.0));
        assert_eq!(s.time_to_first_token.unwrap().p90, 10.0);
    }

    #[test]
    fn the_edges_do_not_count() {
        // A slow first request while slots fill, and a slow straggler in the drain: neither
        // is on the plateau.
        let runs = [
            iv(0, 500),
            iv(10, 60),
            iv(60, 110),
            iv(110, 160),
            iv(160, 210),
            iv(210, 900),
        ];
        let s = steady_state(&runs).unwrap();
        assert_eq!((s.start_ns, s.end_ns), (10 * MS, 500 * MS));
        let lat = s.request_latency.unwrap();
        assert_eq!(lat.p99, 50.0);
        assert_eq!(steady_state(&[iv(0, 10)]), None);
        assert_eq!(steady_state(&[]), None);
    }
}
