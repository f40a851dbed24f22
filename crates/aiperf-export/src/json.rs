//! `profile_export_aiperf.json` (AIPerf schema 1.4 field names).
//!
//! The document is [`SummaryJson`]: fixed keys plus one object per exported metric, keyed by its
//! tag, between `benchmark_id` and `load_report`. Its JSON Schema is derived from these types
//! ([`crate::schema`]), so a renamed field changes the published schema and fails a test.

use aiperf_metrics::load::{self, LoadAnalysis};
use aiperf_metrics::{MetricValue, Stats, Summary, WeightedStats};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;

use crate::input_config::{InputConfig, RunInfo, TimingMode};
use crate::RunReport;

/// Schema version written, AIPerf's 0.13 layout.
pub const SCHEMA_VERSION: &str = "1.4";

/// A finite number, or nothing (non-finite statistics are left out, never written as null).
pub fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The summary of one benchmark run, in AIPerf's key order.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(title = "profile_export_aiperf.json")]
pub struct SummaryJson<'a> {
    /// Layout version of this file (AIPerf's schema version).
    pub schema_version: &'a str,
    pub aiperf_version: &'a str,
    pub benchmark_id: &'a str,
    /// One object per exported metric, keyed by tag (`request_latency`, `adj_...`).
    #[serde(flatten)]
    pub metrics: MetricsMap,
    /// GPU power efficiency (`nvidia_energy_per_output_token`, ...), `{unit, avg}` each,
    /// when GPU telemetry had power or energy.
    #[serde(flatten)]
    pub energy: IndexMap<String, EnergyJson>,
    /// `--accuracy-benchmark`: `accuracy.overall`, `accuracy.task.<task>`, `accuracy.unparsed`,
    /// `accuracy.unparsed.task.<task>` as `{unit, count, sum}`.
    #[serde(flatten)]
    pub accuracy: IndexMap<String, crate::accuracy::AccuracyJson>,
    /// AIPerf's per-GPU telemetry block, when any GPU page answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry_data: Option<serde_json::Value>,
    pub load_report: &'a LoadReport,
    pub client_bound: &'a ClientBound,
    /// Closed-loop streamed runs: throughput and latency on the plateau at full concurrency,
    /// without ramp-up and drain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steady_state: Option<SteadyStateJson>,
    pub input_config: &'a InputConfig,
    pub run_info: &'a RunInfo,
    pub was_cancelled: bool,
    pub is_complete: bool,
    pub incomplete_reason: Option<&'a str>,
    /// Failed requests grouped by details, most frequent first.
    pub error_summary: Vec<ErrorSummaryEntry<'a>>,
    /// SSE messages dropped as malformed (not SSE, or `data` not JSON) over the run; written
    /// only when some were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub malformed_sse_events: u64,
    /// ISO-8601 local times without timezone.
    pub start_time: &'a str,
    pub end_time: &'a str,
    /// How a merged run was put together from its shards (`aiperf merge` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<&'a crate::shards::ShardsReport>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Metric tag to statistics, in registry order.
pub type MetricsMap = IndexMap<String, MetricStats>;

/// Statistics of one metric; the variant follows the metric's kind.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum MetricStats {
    Distribution(DistributionStats),
    Weighted(WeightedJson),
    Scalar(ScalarJson),
}

/// A per-request metric: `unit, avg, p1..p99, min, max, std, count, sum`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DistributionStats {
    pub unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p1: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p5: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p10: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p25: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
}

impl DistributionStats {
    pub fn new(unit: &'static str, s: &Stats) -> Self {
        // `Stats::percentiles` is in `stats::PERCENTILES` order: p1, p5, ..., p99.
        let p = |i: usize| finite(s.percentiles[i]);
        Self {
            unit,
            avg: finite(s.avg),
            p1: p(0),
            p5: p(1),
            p10: p(2),
            p25: p(3),
            p50: p(4),
            p75: p(5),
            p90: p(6),
            p95: p(7),
            p99: p(8),
            min: finite(s.min),
            max: finite(s.max),
            std: finite(s.std),
            count: s.count,
            sum: finite(s.sum),
        }
    }
}

/// A time-weighted metric: `unit, avg, min, max, p50, p90, p95, p99, std`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WeightedJson {
    pub unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
}

impl WeightedJson {
    pub fn new(unit: &'static str, w: &WeightedStats) -> Self {
        Self {
            unit,
            avg: finite(w.avg),
            min: finite(w.min),
            max: finite(w.max),
            p50: finite(w.p50),
            p90: finite(w.p90),
            p95: finite(w.p95),
            p99: finite(w.p99),
            std: finite(w.std),
        }
    }
}

/// A power-efficiency metric computed from GPU telemetry: `unit, avg`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EnergyJson {
    pub unit: String,
    pub avg: f64,
}

/// A run-level value (throughput, counts, duration): `unit, avg`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScalarJson {
    pub unit: &'static str,
    pub avg: f64,
}

impl MetricStats {
    /// The statistics as `(name, value)` pairs in written order, without `unit` (the long
    /// timeslices CSV has one row per pair).
    pub fn fields(&self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        let mut push = |k: &'static str, v: Option<f64>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        match self {
            Self::Distribution(d) => {
                for (k, v) in [
                    ("avg", d.avg),
                    ("p1", d.p1),
                    ("p5", d.p5),
                    ("p10", d.p10),
                    ("p25", d.p25),
                    ("p50", d.p50),
                    ("p75", d.p75),
                    ("p90", d.p90),
                    ("p95", d.p95),
                    ("p99", d.p99),
                    ("min", d.min),
                    ("max", d.max),
                    ("std", d.std),
                    ("count", Some(d.count as f64)),
                    ("sum", d.sum),
                ] {
                    push(k, v);
                }
            }
            Self::Weighted(w) => {
                for (k, v) in [
                    ("avg", w.avg),
                    ("min", w.min),
                    ("max", w.max),
                    ("p50", w.p50),
                    ("p90", w.p90),
                    ("p95", w.p95),
                    ("p99", w.p99),
                    ("std", w.std),
                ] {
                    push(k, v);
                }
            }
            Self::Scalar(s) => push("avg", Some(s.avg)),
        }
        out
    }

    pub fn unit(&self) -> &'static str {
        match self {
            Self::Distribution(d) => d.unit,
            Self::Weighted(w) => w.unit,
            Self::Scalar(s) => s.unit,
        }
    }
}

/// One object per exported metric, keyed by tag, in registry order; a scalar that is not finite
/// is left out.
pub fn metrics_map(summary: &Summary) -> MetricsMap {
    let mut doc = MetricsMap::new();
    for res in &summary.results {
        if !res.spec.exported() {
            continue;
        }
        let unit = res.display_unit().label();
        let stats = match &res.value {
            MetricValue::Distribution(s) => {
                MetricStats::Distribution(DistributionStats::new(unit, s))
            }
            MetricValue::Weighted(w) => MetricStats::Weighted(WeightedJson::new(unit, w)),
            MetricValue::Scalar(v) => {
                let Some(avg) = finite(*v) else { continue };
                MetricStats::Scalar(ScalarJson { unit, avg })
            }
        };
        doc.insert(res.tag.to_string(), stats);
    }
    doc
}

/// `load_report`: what was asked, what was sent, how late. Optional keys are left out when the
/// mode has no such number (a closed loop has no schedule) or it was not measured.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LoadReport {
    pub mode: TimingMode,
    pub requests_sent: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_request_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_request_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achieved_request_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_lateness_p50_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_lateness_p99_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_lateness_max_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_loop_lag_p50_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_loop_lag_p99_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_loop_lag_max_ms: Option<f64>,
    pub record_backlog_pauses: u64,
    pub record_backlog_paused_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cpu_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cpu_utilization_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<usize>,
}

impl LoadReport {
    /// The report of a profiling phase run in `mode`, judged by `a`.
    pub fn new(mode: crate::input_config::TimingMode, a: &LoadAnalysis) -> Self {
        let lag = a.event_loop_lag.unwrap_or_default();
        Self {
            mode,
            requests_sent: a.requests_sent,
            requested_request_rate: a.requested_rate,
            scheduled_request_rate: a.scheduled_rate,
            achieved_request_rate: a.achieved_rate,
            schedule_lateness_p50_ms: a.lateness.p50_ms,
            schedule_lateness_p99_ms: a.lateness.p99_ms,
            schedule_lateness_max_ms: a.lateness.max_ms,
            event_loop_lag_p50_ms: lag.p50_ms,
            event_loop_lag_p99_ms: lag.p99_ms,
            event_loop_lag_max_ms: lag.max_ms,
            record_backlog_pauses: a.backlog_pauses,
            record_backlog_paused_s: a.backlog_paused_s,
            client_cpu_seconds: a.cpu.map(|c| c.cpu_s),
            client_cpu_utilization_pct: a.cpu.map(|c| c.utilization_pct()),
            cpu_cores: a.cpu.map(|c| c.cores),
        }
    }
}

/// `client_bound`: whether the client may have limited the run, why, and the limits applied.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ClientBound {
    pub verdict: bool,
    pub reasons: Vec<String>,
    pub thresholds: Thresholds,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Thresholds {
    pub schedule_lateness_p99_ms: f64,
    pub rate_shortfall_pct: f64,
    pub cpu_utilization_pct: f64,
    pub event_loop_lag_p99_ms: f64,
}

impl Default for Thresholds {
    /// The limits `aiperf_metrics::load` judges by.
    fn default() -> Self {
        Self {
            schedule_lateness_p99_ms: load::LATENESS_P99_LIMIT_MS,
            rate_shortfall_pct: load::RATE_SHORTFALL_LIMIT * 100.0,
            cpu_utilization_pct: load::CPU_SATURATION_PCT,
            event_loop_lag_p99_ms: load::EVENT_LOOP_LAG_P99_LIMIT_MS,
        }
    }
}

impl From<&LoadAnalysis> for ClientBound {
    fn from(a: &LoadAnalysis) -> Self {
        Self {
            verdict: a.client_bound(),
            reasons: a.reasons.clone(),
            thresholds: Thresholds::default(),
        }
    }
}

/// One `error_summary` entry.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ErrorSummaryEntry<'a> {
    pub error_details: ErrorJson<'a>,
    pub count: u64,
}

/// An error as AIPerf writes it (also the `error` of a records line).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ErrorJson<'a> {
    /// HTTP status, when the server answered with one.
    pub code: Option<u16>,
    /// HTTP reason phrase or the error's kind.
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub message: &'a str,
}

impl<'a> From<&'a aiperf_core::ErrorDetails> for ErrorJson<'a> {
    fn from(d: &'a aiperf_core::ErrorDetails) -> Self {
        Self {
            code: d.code,
            kind: &d.kind,
            message: &d.message,
        }
    }
}

impl<'a> SummaryJson<'a> {
    pub fn new(r: &'a RunReport) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            aiperf_version: env!("CARGO_PKG_VERSION"),
            benchmark_id: &r.benchmark_id,
            metrics: metrics_map(&r.summary),
            energy: r
                .gpu_telemetry
                .iter()
                .flat_map(|g| &g.energy)
                .filter_map(|e| {
                    let avg = finite(e.value)?;
                    let unit = e.unit.clone();
                    Some((e.tag.clone(), EnergyJson { unit, avg }))
                })
                .collect(),
            accuracy: r
                .accuracy
                .as_ref()
                .map(crate::accuracy::json_entries)
                .unwrap_or_default(),
            telemetry_data: r
                .gpu_telemetry
                .as_ref()
                .filter(|g| !g.gpus.is_empty())
                .map(|g| g.telemetry_json()),
            load_report: &r.load_report,
            client_bound: &r.client_bound,
            steady_state: r.summary.steady_state.as_ref().map(SteadyStateJson::new),
            input_config: &r.input_config,
            run_info: &r.run_info,
            was_cancelled: r.was_cancelled,
            is_complete: r.incomplete_reason.is_none(),
            incomplete_reason: r.incomplete_reason.as_deref(),
            error_summary: r
                .errors
                .iter()
                .map(|(d, n)| ErrorSummaryEntry {
                    error_details: d.into(),
                    count: *n,
                })
                .collect(),
            malformed_sse_events: r.malformed_sse_events,
            start_time: &r.start_time,
            end_time: &r.end_time,
            shards: r.shards.as_ref(),
        }
    }
}

/// `steady_state`: the plateau of a closed-loop run (aiperf_metrics::steady).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SteadyStateJson {
    /// Run-clock bounds (ns): from the first moment every slot was busy to the last.
    pub window_start_ns: u64,
    pub window_end_ns: u64,
    pub duration_sec: f64,
    /// Requests in flight on the plateau.
    pub concurrency: u64,
    /// Share of the run the plateau covers.
    pub fraction_of_run: f64,
    /// Requests completing on the plateau.
    pub completed_requests: u64,
    /// requests/sec.
    pub request_throughput: f64,
    /// tokens/sec, from the requests completing on the plateau.
    pub output_token_throughput: f64,
    /// ms, over requests that started and ended on the plateau.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_latency: Option<PlateauJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_first_token: Option<PlateauJson>,
}

/// Latency on the plateau (ms).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PlateauJson {
    pub unit: &'static str,
    pub avg: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl SteadyStateJson {
    pub fn new(s: &aiperf_metrics::steady::SteadyState) -> Self {
        let plateau = |p: &aiperf_metrics::steady::PlateauStats| PlateauJson {
            unit: "ms",
            avg: p.avg,
            p50: p.p50,
            p90: p.p90,
            p99: p.p99,
        };
        Self {
            window_start_ns: s.start_ns,
            window_end_ns: s.end_ns,
            duration_sec: (s.end_ns - s.start_ns) as f64 / 1e9,
            concurrency: s.concurrency,
            fraction_of_run: s.fraction_of_run,
            completed_requests: s.completed,
            request_throughput: s.request_throughput,
            output_token_throughput: s.output_token_throughput,
            request_latency: s.request_latency.as_ref().map(plateau),
            time_to_first_token: s.time_to_first_token.as_ref().map(plateau),
        }
    }
}

/// The whole summary document, pretty-printed with a final newline.
pub fn render(r: &RunReport) -> String {
    let mut s = serde_json::to_string_pretty(&SummaryJson::new(r)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_fields_follow_the_percentile_table() {
        let names: Vec<&str> = aiperf_metrics::stats::PERCENTILES
            .iter()
            .map(|(_, n)| *n)
            .collect();
        let s = Stats {
            avg: 1.0,
            min: 0.0,
            max: 2.0,
            std: 0.5,
            sum: 3.0,
            count: 3,
            percentiles: [0.1, 0.5, 1.0, 2.5, 5.0, 7.5, 9.0, 9.5, 9.9],
        };
        let d = MetricStats::Distribution(DistributionStats::new("ms", &s));
        let fields = d.fields();
        let pct: Vec<(&str, f64)> = fields[1..10].to_vec();
        let expected: Vec<(&str, f64)> = names.into_iter().zip(s.percentiles).collect();
        assert_eq!(pct, expected);
    }

    #[test]
    fn non_finite_statistics_are_left_out() {
        let s = Stats {
            avg: f64::INFINITY,
            min: 1.0,
            max: f64::INFINITY,
            std: f64::NAN,
            sum: f64::INFINITY,
            count: 2,
            percentiles: [1.0; 9],
        };
        let v = serde_json::to_value(DistributionStats::new("ms", &s)).expect("serializes");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            ["unit", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "min", "count"]
        );
    }
}
