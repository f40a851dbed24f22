//! Network-RTT-adjusted latencies as AIPerf 0.13 computes them (`network_adjusted_analyzer`):
//! one run-level mean RTT, subtracted per request from the latencies that start at the request
//! send (`max(latency - rtt, 0)`), the results summarised like any latency, plus `network_rtt`
//! as a one-value distribution. The RTT is known only at the end of the run, so none of them is
//! per record (they are not in `profile_export.jsonl`); ITL and chunk gaps are left alone, as the
//! RTT cancels in them.

use std::borrow::Cow;

use crate::accumulate::{MetricResult, MetricValue, Summary};
use crate::registry::{find, REGISTRY};
use crate::stats::Stats;
use crate::units::Unit;

/// Each adjusted metric and the latency it shifts.
pub const SOURCES: [(&str, &str); 3] = [
    (
        "network_adjusted_time_to_first_token",
        "time_to_first_token",
    ),
    (
        "network_adjusted_time_to_first_output_token",
        "time_to_first_output_token",
    ),
    ("network_adjusted_request_latency", "request_latency"),
];

/// `network_rtt`'s tag.
pub const RTT_TAG: &str = "network_rtt";

/// Nanoseconds to the display unit of every network metric (ms).
fn to_display() -> f64 {
    Unit::Nanoseconds.factor_to(Unit::Milliseconds)
}

/// One adjusted value (base unit); non-finite values pass through (they are dropped later).
pub fn adjusted(value: f64, rtt_ns: f64) -> f64 {
    if value.is_finite() {
        (value - rtt_ns).max(0.0)
    } else {
        value
    }
}

/// `network_rtt`: the mean RTT as a distribution of one value (count 1, std 0), as AIPerf exports it.
pub fn rtt_result(rtt_ns: f64) -> Option<MetricResult> {
    let spec = find(RTT_TAG)?;
    let stats = Stats::compute(&[rtt_ns])?.scaled(to_display());
    Some(result(spec.tag, MetricValue::Distribution(stats)))
}

fn result(tag: &'static str, value: MetricValue) -> MetricResult {
    let spec = find(tag).unwrap_or(&REGISTRY[0]);
    MetricResult {
        spec,
        tag: Cow::Borrowed(spec.tag),
        header: Cow::Borrowed(spec.header),
        value,
    }
}

/// An adjusted metric's result from its statistics in the base unit.
pub(crate) fn adjusted_result(tag: &'static str, base: &Stats) -> MetricResult {
    result(tag, MetricValue::Distribution(base.scaled(to_display())))
}

/// Puts `r` where the registry orders it (the summary lists results in registry order).
pub(crate) fn insert_ordered(results: &mut Vec<MetricResult>, r: MetricResult) {
    let index = |tag: &str| REGISTRY.iter().position(|m| m.tag == tag);
    let at = index(&r.tag).unwrap_or(REGISTRY.len());
    let pos = results
        .iter()
        .position(|o| index(o.spec.tag).unwrap_or(0) > at)
        .unwrap_or(results.len());
    results.insert(pos, r);
}

/// The source statistics (display unit) shifted by the RTT, when that is exact: no request was
/// faster than the RTT, so no value is clamped and every statistic but std moves by the RTT.
fn shifted(s: &Stats, rtt: f64) -> Option<Stats> {
    if s.min < rtt {
        return None;
    }
    let mut out = s.clone();
    out.avg -= rtt;
    out.min -= rtt;
    out.max -= rtt;
    out.sum -= rtt * s.count as f64;
    for p in &mut out.percentiles {
        *p -= rtt;
    }
    Some(out)
}

/// Adds `network_rtt` and the `network_adjusted_*` metrics to a summary (and its timeslices)
/// summarised without the RTT, unless they are there already (an accumulator given the RTT
/// computed them exactly). From the summary alone an adjusted metric is exact only when no
/// request was faster than the RTT; otherwise it is left out with a warning rather than
/// guessed. Returns the warnings.
pub fn adjust_summary(summary: &mut Summary, rtt_ns: f64) -> Vec<String> {
    let mut warnings = Vec::new();
    if rtt_ns <= 0.0 || !rtt_ns.is_finite() {
        return warnings;
    }
    adjust_one(summary, rtt_ns, &mut warnings);
    for (_, _, slice) in &mut summary.timeslices {
        adjust_one(slice, rtt_ns, &mut Vec::new());
    }
    summary.warnings.extend(warnings.iter().cloned());
    warnings
}

fn adjust_one(summary: &mut Summary, rtt_ns: f64, warnings: &mut Vec<String>) {
    if summary.get(RTT_TAG).is_some() {
        return;
    }
    let rtt = rtt_ns * to_display();
    for (tag, source) in SOURCES {
        let Some(MetricValue::Distribution(s)) = summary.get(source).map(|r| &r.value) else {
            continue;
        };
        match shifted(s, rtt) {
            Some(stats) => {
                let r = result(tag, MetricValue::Distribution(stats));
                insert_ordered(&mut summary.results, r);
            }
            None => warnings.push(format!(
                "{tag} left out: some requests' {source} ({:.3} ms) was below the network RTT ({rtt:.3} ms), and their clamped statistics need the per-request values",
                s.min
            )),
        }
    }
    if let Some(r) = rtt_result(rtt_ns) {
        insert_ordered(&mut summary.results, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accumulate::Accumulator;
    use crate::record::{RecordInput, RecordMetrics};
    use crate::registry::Applicability;

    const MS: u64 = 1_000_000;

    /// Three streamed requests started at 0: first token at 10, 20, 30 ms, last at 40, 50, 60 ms.
    fn accumulator() -> Accumulator {
        let mut acc = Accumulator::new(Applicability::STREAMED_CHAT);
        for k in 1..=3u64 {
            let content = [10 * k * MS, (30 + 10 * k) * MS];
            let m = RecordMetrics::of_success(&RecordInput {
                content_ns: &content,
                first_output_ns: Some(10 * k * MS),
                output_tokens: Some(2),
                input_tokens: Some(5),
                ..Default::default()
            })
            .unwrap();
            acc.add_success(&m, 1_000 * MS);
        }
        acc
    }

    fn dist(s: &Summary, tag: &str) -> Stats {
        match &s.get(tag).unwrap_or_else(|| panic!("{tag} missing")).value {
            MetricValue::Distribution(d) => d.clone(),
            other => panic!("{tag}: {other:?}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_fixed_rtt_below_every_latency_shifts_every_statistic() {
        // RTT 5 ms: TTFT 10/20/30 -> 5/15/25 ms (avg 15, p50 15, sum 45); latency 40/50/60 ->
        // 35/45/55 (avg 45); std unchanged (8.165 ms for both).
        let mut s = accumulator().summarize();
        let warnings = adjust_summary(&mut s, 5e6);
        assert!(warnings.is_empty(), "{warnings:?}");
        let ttft = dist(&s, "network_adjusted_time_to_first_token");
        assert!(close(ttft.avg, 15.0) && close(ttft.min, 5.0) && close(ttft.max, 25.0));
        assert!(close(ttft.sum, 45.0) && ttft.count == 3);
        assert!(close(ttft.percentile("p50").unwrap(), 15.0));
        // p90 of 5, 15, 25: h = 1.8 -> 15 + 0.8 * 10 = 23.
        assert!(close(ttft.percentile("p90").unwrap(), 23.0));
        assert!(close(ttft.std, dist(&s, "time_to_first_token").std));
        let lat = dist(&s, "network_adjusted_request_latency");
        assert!(close(lat.avg, 45.0) && close(lat.min, 35.0));
        let ttfo = dist(&s, "network_adjusted_time_to_first_output_token");
        assert!(close(ttfo.avg, 15.0));
        let rtt = dist(&s, "network_rtt");
        assert!(close(rtt.avg, 5.0) && rtt.count == 1 && rtt.std == 0.0 && close(rtt.sum, 5.0));
        // Registry order: each adjusted metric right after its source's neighbours.
        let tags: Vec<&str> = s.results.iter().map(|r| r.tag.as_ref()).collect();
        let at = |t: &str| tags.iter().position(|x| *x == t).unwrap();
        assert!(at("time_to_first_token") < at("network_adjusted_time_to_first_token"));
        // Applying twice adds nothing.
        let n = s.results.len();
        adjust_summary(&mut s, 5e6);
        assert_eq!(s.results.len(), n);
    }

    #[test]
    fn an_rtt_above_some_latency_is_not_guessed_from_the_summary() {
        // RTT 15 ms is above the 10 ms TTFT: the summary alone cannot give the clamped stats.
        let mut s = accumulator().summarize();
        let warnings = adjust_summary(&mut s, 15e6);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(s.get("network_adjusted_time_to_first_token").is_none());
        assert!(close(
            dist(&s, "network_adjusted_request_latency").avg,
            35.0
        ));
    }

    #[test]
    fn the_accumulator_clamps_each_request_exactly() {
        // RTT 15 ms: TTFT 10/20/30 -> 0/5/15 ms: avg 20/3, p50 5, min 0, sum 20.
        let mut acc = accumulator();
        acc.set_network_rtt_ns(Some(15e6));
        let s = acc.summarize();
        let ttft = dist(&s, "network_adjusted_time_to_first_token");
        assert!(close(ttft.avg, 20.0 / 3.0) && close(ttft.min, 0.0) && close(ttft.sum, 20.0));
        assert!(close(ttft.percentile("p50").unwrap(), 5.0));
        // std of 0, 5, 15: mean 6.667, squared deviations 44.44 + 2.78 + 69.44 = 116.67 / 3.
        assert!(close(ttft.std, (350.0f64 / 9.0).sqrt()));
        assert!(close(dist(&s, "network_rtt").avg, 15.0));
        // The summary fallback then leaves it alone.
        let mut again = s.clone();
        assert!(adjust_summary(&mut again, 15e6).is_empty());
        assert_eq!(again.results.len(), s.results.len());
    }

    #[test]
    fn no_rtt_no_metrics() {
        let mut s = accumulator().summarize();
        let n = s.results.len();
        adjust_summary(&mut s, 0.0);
        assert_eq!(s.results.len(), n);
        assert!(s.get("network_rtt").is_none());
    }
}
