//! The load report (what was asked, what was sent, how late) and the client-bound verdict.
//!
//! A benchmark measures the server only while the client keeps up: if sends slip behind the
//! schedule, the runtime lags, the record processor holds requests back or the CPU saturates, the
//! numbers describe the client. This module turns the raw load statistics the engine collected
//! into that judgement, with the thresholds in one place, so nobody publishes a client-limited
//! number as a server number. It computes; `aiperf-export` names and formats.

use crate::{MetricValue, Stats, Summary};

/// Schedule lateness p99 above this (ms) means sends went out late.
pub const LATENESS_P99_LIMIT_MS: f64 = 1.0;
/// Achieved send rate more than this fraction below the schedule's rate.
pub const RATE_SHORTFALL_LIMIT: f64 = 0.01;
/// Client CPU above this percentage of all cores.
pub const CPU_SATURATION_PCT: f64 = 90.0;
/// Event-loop lag p99 above this (ms) means the client's runtime was too busy to stamp and send
/// on time.
pub const EVENT_LOOP_LAG_P99_LIMIT_MS: f64 = 10.0;

/// The client's CPU use over the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuUsage {
    /// User + system CPU seconds of the process.
    pub cpu_s: f64,
    pub wall_s: f64,
    pub cores: usize,
}

impl CpuUsage {
    /// Percent of all cores.
    pub fn utilization_pct(&self) -> f64 {
        if self.wall_s > 0.0 {
            100.0 * self.cpu_s / (self.wall_s * self.cores as f64)
        } else {
            0.0
        }
    }
}

/// Raw statistics of the profiling phase, as the engine measured them.
#[derive(Debug, Clone, Copy)]
pub struct LoadInput<'a> {
    /// Whether requests followed a schedule (rate, replay, user lanes) rather than a closed loop.
    pub open_loop: bool,
    /// What the user asked for (rate modes only).
    pub requested_rate: Option<f64>,
    /// Credits issued.
    pub sent: u64,
    /// Phase start to the last credit's intended time (open loop), seconds.
    pub intended_window_s: f64,
    /// Phase start to the last credit's actual release, seconds.
    pub actual_window_s: f64,
    /// How late each probe timer fired on the async runtime (ms).
    pub event_loop_lag_ms: &'a [f64],
    /// Requests held back because the record processor was behind, and for how long in total.
    pub backlog_pauses: u64,
    pub backlog_paused_s: f64,
    /// Raw records waiting that trigger a pause (quoted in the reason).
    pub backlog_high: u64,
    pub cpu: Option<CpuUsage>,
}

/// Three order statistics of a latency-like distribution (ms); `None` when not finite.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Spread {
    fn of(stats: &Stats) -> Spread {
        let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
        Spread {
            p50_ms: finite(stats.percentile("p50")),
            p99_ms: finite(stats.percentile("p99")),
            max_ms: finite(Some(stats.max)),
        }
    }
}

/// What the load report says and why the run is (or is not) client-bound.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadAnalysis {
    pub requests_sent: u64,
    /// What the user asked for (rate modes only).
    pub requested_rate: Option<f64>,
    /// Requests over the intended and the actual send window (open loop, more than one sent).
    pub scheduled_rate: Option<f64>,
    pub achieved_rate: Option<f64>,
    /// Schedule lateness (open loop only, from the `schedule_lateness` metric).
    pub lateness: Spread,
    /// Event-loop lag, when probed.
    pub event_loop_lag: Option<Spread>,
    pub backlog_pauses: u64,
    pub backlog_paused_s: f64,
    pub cpu: Option<CpuUsage>,
    /// Why the client may have limited the run; empty when it did not.
    pub reasons: Vec<String>,
}

impl LoadAnalysis {
    /// The client-bound verdict.
    pub fn client_bound(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// Judges the run: rates, lateness and lag statistics, and every threshold crossed.
pub fn analyze(summary: &Summary, load: &LoadInput<'_>) -> LoadAnalysis {
    let mut reasons = Vec::new();
    let open_loop = load.open_loop;
    let (mut scheduled_rate, mut achieved_rate) = (None, None);
    let mut lateness = Spread::default();
    if open_loop {
        if load.intended_window_s > 0.0 && load.actual_window_s > 0.0 && load.sent > 1 {
            let scheduled = load.sent as f64 / load.intended_window_s;
            let achieved = load.sent as f64 / load.actual_window_s;
            if achieved < scheduled * (1.0 - RATE_SHORTFALL_LIMIT) {
                reasons.push(format!(
                    "achieved send rate {achieved:.1} req/s is more than {:.0} % below the schedule's {scheduled:.1} req/s",
                    RATE_SHORTFALL_LIMIT * 100.0
                ));
            }
            scheduled_rate = Some(scheduled);
            achieved_rate = Some(achieved);
        }
        if let Some(MetricValue::Distribution(s)) =
            summary.get("schedule_lateness").map(|r| &r.value)
        {
            lateness = Spread::of(s);
        }
        if let Some(p99) = lateness.p99_ms.filter(|v| *v > LATENESS_P99_LIMIT_MS) {
            reasons.push(format!(
                "schedule lateness p99 {p99:.2} ms exceeds {LATENESS_P99_LIMIT_MS} ms"
            ));
        }
    }
    let event_loop_lag = (!load.event_loop_lag_ms.is_empty()).then(|| {
        Stats::compute(load.event_loop_lag_ms)
            .as_ref()
            .map(Spread::of)
            .unwrap_or_default()
    });
    if let Some(p99) = event_loop_lag
        .and_then(|l| l.p99_ms)
        .filter(|v| *v > EVENT_LOOP_LAG_P99_LIMIT_MS)
    {
        reasons.push(format!(
            "event-loop lag p99 {p99:.2} ms exceeds {EVENT_LOOP_LAG_P99_LIMIT_MS} ms"
        ));
    }
    if load.backlog_pauses > 0 {
        reasons.push(format!(
            "the record processor fell behind: {} requests were held back for {:.3} s in total ({} raw records waiting)",
            load.backlog_pauses, load.backlog_paused_s, load.backlog_high
        ));
    }
    if let Some(c) = load
        .cpu
        .filter(|c| c.utilization_pct() > CPU_SATURATION_PCT)
    {
        reasons.push(format!(
            "client CPU at {:.0} % of {} cores",
            c.utilization_pct(),
            c.cores
        ));
    }
    LoadAnalysis {
        requests_sent: load.sent,
        requested_rate: load.requested_rate,
        scheduled_rate,
        achieved_rate,
        lateness,
        event_loop_lag,
        backlog_pauses: load.backlog_pauses,
        backlog_paused_s: load.backlog_paused_s,
        cpu: load.cpu,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Accumulator, Applicability, RecordInput, RecordValues};

    /// A closed loop (`rate: None`, not open) or an open loop at `rate` (`Some(0.0)`: a replay,
    /// open but with no requested rate).
    fn input(rate: Option<f64>, lag: &[f64]) -> LoadInput<'_> {
        LoadInput {
            open_loop: rate.is_some(),
            requested_rate: rate.filter(|r| *r > 0.0),
            sent: 0,
            intended_window_s: 0.0,
            actual_window_s: 0.0,
            event_loop_lag_ms: lag,
            backlog_pauses: 0,
            backlog_paused_s: 0.0,
            backlog_high: 1024,
            cpu: None,
        }
    }

    #[test]
    fn a_quiet_closed_loop_run_is_not_client_bound() {
        let a = analyze(&Summary::default(), &input(None, &[]));
        assert!(!a.client_bound());
        assert_eq!(a.requested_rate, None);
        assert_eq!((a.scheduled_rate, a.achieved_rate), (None, None));
        assert_eq!(a.event_loop_lag, None, "not probed: no lag statistics");
    }

    #[test]
    fn event_loop_lag_over_the_limit_makes_the_run_client_bound() {
        // 99 x 0.5 ms and one 40 ms: p99 = 0.5 + 0.01 * (40 - 0.5) = 0.895 ms (rank 98.01).
        let mut lag = vec![0.5; 99];
        lag.push(40.0);
        let a = analyze(&Summary::default(), &input(None, &lag));
        assert!(!a.client_bound(), "p99 below 10 ms: {:?}", a.reasons);
        let l = a.event_loop_lag.expect("probed");
        assert_eq!(l.max_ms, Some(40.0));
        assert_eq!(l.p50_ms, Some(0.5));
        assert!((l.p99_ms.expect("p99") - 0.895).abs() < 1e-12);
        let lag = [12.0; 100];
        let a = analyze(&Summary::default(), &input(None, &lag));
        assert_eq!(a.reasons, ["event-loop lag p99 12.00 ms exceeds 10 ms"]);
    }

    #[test]
    fn held_back_requests_make_the_run_client_bound() {
        let mut load = input(None, &[]);
        load.backlog_pauses = 3;
        load.backlog_paused_s = 0.25;
        let a = analyze(&Summary::default(), &load);
        assert_eq!(
            a.reasons,
            ["the record processor fell behind: 3 requests were held back for 0.250 s in total (1024 raw records waiting)"]
        );
        assert_eq!((a.backlog_pauses, a.backlog_paused_s), (3, 0.25));
    }

    #[test]
    fn a_send_rate_shortfall_is_reported_with_both_rates() {
        // 100 requests meant to go out over 10 s went out over 10.5 s: 10 vs 9.52 req/s, 4.8 %
        // short, beyond the 1 % allowed.
        let mut load = input(Some(10.0), &[]);
        load.sent = 100;
        load.intended_window_s = 10.0;
        load.actual_window_s = 10.5;
        let a = analyze(&Summary::default(), &load);
        assert_eq!(a.requested_rate, Some(10.0));
        assert_eq!(a.scheduled_rate, Some(10.0));
        assert!((a.achieved_rate.expect("achieved") - 100.0 / 10.5).abs() < 1e-12);
        assert_eq!(
            a.reasons,
            ["achieved send rate 9.5 req/s is more than 1 % below the schedule's 10.0 req/s"]
        );
        // 0.5 % short is within the limit.
        load.actual_window_s = 10.05;
        assert!(!analyze(&Summary::default(), &load).client_bound());
        // A closed loop has no schedule: the same windows say nothing.
        load.open_loop = false;
        load.actual_window_s = 10.5;
        let a = analyze(&Summary::default(), &load);
        assert!(!a.client_bound());
        assert_eq!(a.scheduled_rate, None);
    }

    #[test]
    fn late_sends_and_a_saturated_cpu_are_reasons() {
        // Two credits released 0.5 ms and 2.5 ms after their intended time: p50 = 1.5 ms,
        // p99 = 0.5 + 0.99 * 2 = 2.48 ms, max 2.5 ms.
        let mut acc = Accumulator::new(Applicability::STREAMED_CHAT);
        for late_ns in [500_000u64, 2_500_000] {
            let content = [late_ns + 10_000_000];
            let v = RecordValues::of_success(&RecordInput {
                intended_ns: Some(0),
                credit_issued_ns: late_ns,
                start_ns: late_ns,
                end_ns: content[0],
                content_ns: &content,
                ..Default::default()
            })
            .expect("ordered timestamps");
            acc.add_success(&v, 1_000_000_000);
        }
        let summary = acc.summarize();
        let mut load = input(Some(0.0), &[]);
        load.cpu = Some(CpuUsage {
            cpu_s: 3.8,
            wall_s: 2.0,
            cores: 2,
        });
        let a = analyze(&summary, &load);
        assert_eq!(a.lateness.p50_ms, Some(1.5));
        assert!((a.lateness.p99_ms.expect("p99") - 2.48).abs() < 1e-9);
        assert_eq!(a.lateness.max_ms, Some(2.5));
        assert_eq!(
            a.reasons,
            [
                "schedule lateness p99 2.48 ms exceeds 1 ms",
                "client CPU at 95 % of 2 cores"
            ]
        );
        // Lateness is not judged in a closed loop.
        load.open_loop = false;
        load.cpu = None;
        let a = analyze(&summary, &load);
        assert_eq!(a.lateness, Spread::default());
        assert!(!a.client_bound());
    }

    #[test]
    fn cpu_utilization_is_a_share_of_all_cores() {
        let c = CpuUsage {
            cpu_s: 3.0,
            wall_s: 2.0,
            cores: 4,
        };
        assert_eq!(c.utilization_pct(), 37.5);
        let idle = CpuUsage { wall_s: 0.0, ..c };
        assert_eq!(idle.utilization_pct(), 0.0);
    }
}
