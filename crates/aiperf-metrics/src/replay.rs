//! Replay fidelity of a fixed-schedule run (AIPerf 0.13's `replay_sched_lag_analyzer`): how late
//! requests went out relative to the least-late one. Each request's signed send offset (start
//! minus intended send) is anchored at the run's smallest offset, so a constant clock offset
//! between the trace and the client cancels; p50/p90/p99 of the anchored lags, and a degraded
//! flag when p99 exceeds 500 ms. Run-scoped: computed once over the whole run, never per
//! timeslice.

use std::borrow::Cow;

use crate::accumulate::{MetricResult, MetricValue};
use crate::registry::find;
use crate::stats::Stats;

/// p99 lag (ms) above which the replay is flagged degraded.
pub const DEGRADED_THRESHOLD_MS: f64 = 500.0;

/// The lag percentiles, by tag, and which of [`Stats::percentiles`] each is.
const LAGS: [(&str, &str); 3] = [
    ("replay_sched_lag_p50", "p50"),
    ("replay_sched_lag_p90", "p90"),
    ("replay_sched_lag_p99", "p99"),
];

fn scalar(tag: &'static str, v: f64) -> Option<MetricResult> {
    let spec = find(tag)?;
    Some(MetricResult {
        spec,
        tag: Cow::Borrowed(spec.tag),
        header: Cow::Borrowed(spec.header),
        value: MetricValue::Scalar(v),
    })
}

/// The replay results from the statistics of the anchored offsets (ns, `offset - min`), and
/// the warning when degraded.
pub(crate) fn results(anchored_ns: &Stats) -> (Vec<MetricResult>, Option<String>) {
    let ms = |p: &str| anchored_ns.percentile(p).unwrap_or(0.0) / 1e6;
    let mut out: Vec<MetricResult> = LAGS.iter().filter_map(|(t, p)| scalar(t, ms(p))).collect();
    let p99 = ms("p99");
    let degraded = p99 > DEGRADED_THRESHOLD_MS;
    out.extend(scalar(
        "replay_sched_degraded",
        if degraded { 1.0 } else { 0.0 },
    ));
    let warning = degraded.then(|| {
        format!(
            "Replay Schedule Degraded: requests went out up to {p99:.1} ms (p99; p50 {:.1} ms, p90 {:.1} ms) later than the least-late one, beyond {DEGRADED_THRESHOLD_MS:.0} ms: the client could not keep the trace's schedule (more workers, a faster machine, or a lower --replay-speedup).",
            ms("p50"),
            ms("p90")
        )
    });
    (out, warning)
}

#[cfg(test)]
mod tests {
    use crate::accumulate::Accumulator;
    use crate::record::{RecordInput, RecordMetrics};
    use crate::registry::Applicability;

    const MS: u64 = 1_000_000;

    /// Requests intended at 0, 100, 200, ... ms and sent `lags` ms late (plus a constant 7 ms
    /// clock offset that the anchoring must cancel).
    fn run(lags: &[u64], fidelity: bool) -> crate::Summary {
        let mut acc = Accumulator::new(Applicability::STREAMED_CHAT);
        if fidelity {
            acc = acc.with_replay_fidelity();
        }
        for (k, lag) in lags.iter().enumerate() {
            let intended = k as u64 * 100 * MS;
            let start = intended + (7 + lag) * MS;
            let content = [start + MS, start + 2 * MS];
            let m = RecordMetrics::of_success(&RecordInput {
                intended_ns: Some(intended),
                credit_issued_ns: start,
                start_ns: start,
                content_ns: &content,
                output_tokens: Some(2),
                ..Default::default()
            })
            .unwrap();
            acc.add_success(&m, start);
        }
        acc.summarize()
    }

    #[test]
    fn lags_are_anchored_at_the_least_late_request() {
        // Lags 0, 10, 20, 30, 40 ms: p50 20; p90 at h = 3.6: 30 + 0.6 * 10 = 36; p99 39.6.
        let s = run(&[0, 10, 20, 30, 40], true);
        let close = |tag: &str, v: f64| {
            let got = s.value(tag).unwrap_or_else(|| panic!("{tag} missing"));
            assert!((got - v).abs() < 1e-9, "{tag}: {got} != {v}");
        };
        close("replay_sched_lag_p50", 20.0);
        close("replay_sched_lag_p90", 36.0);
        close("replay_sched_lag_p99", 39.6);
        close("replay_sched_degraded", 0.0);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn a_p99_lag_beyond_500_ms_is_degraded_and_warned() {
        // Lags 0 and 1000 ms: p99 at h = 0.99: 990 ms.
        let s = run(&[0, 1000], true);
        assert_eq!(s.value("replay_sched_degraded"), Some(1.0));
        assert!(s
            .warnings
            .iter()
            .any(|w| w.starts_with("Replay Schedule Degraded")));
    }

    #[test]
    fn only_fixed_schedule_runs_report_it() {
        let s = run(&[0, 10], false);
        assert!(s.get("replay_sched_lag_p50").is_none());
    }
}
