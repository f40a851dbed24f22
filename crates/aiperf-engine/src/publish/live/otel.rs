//! `--otel-url`: AIPerf's OTel metrics stream, aggregated here and exported by `otlp.rs`.
//!
//! The record processor folds each record into cumulative histograms (the `metrics`
//! domain: one per per-request metric, GenAI spec names where AIPerf maps them) and the
//! profiling phase's request counters (the `timing` domain) under one uncontended lock; the
//! exporter task copies them out every flush interval. Nothing is queued per record, so
//! nothing can be dropped: each export carries every record so far (cumulative temporality,
//! the OTel SDK's default that AIPerf uses).

use std::collections::HashMap;
use std::sync::Mutex;

use aiperf_config::ProfileConfig;
use aiperf_core::{Clock, ErrorDetails};
use aiperf_metrics::record::RecordValue;
use aiperf_metrics::{MetricKind, MetricSpec, RecordValues, REGISTRY};

use super::buckets;
use super::semconv::{self, ErrorType, Shape};
use crate::publish::RecordTap;

/// One histogram instrument.
pub(super) struct Instrument {
    pub name: String,
    pub unit: String,
    pub description: String,
    pub bounds: &'static [f64],
    pub shape: Shape,
}

/// Where a per-request metric's values go.
struct Source {
    spec: &'static MetricSpec,
    instrument: usize,
    /// From the computed unit to the instrument's (ns to s for spec durations).
    factor: f64,
}

/// The per-record attributes a series varies by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RecordKey {
    pub has_error: bool,
    pub was_cancelled: bool,
    /// Only on `Shape::Duration` series.
    pub error_type: Option<ErrorType>,
}

/// A cumulative explicit-bucket histogram.
#[derive(Debug, Clone)]
pub(super) struct Hist {
    pub start_ns: u64,
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Hist {
    fn new(buckets: usize, start_ns: u64) -> Self {
        Self {
            start_ns,
            counts: vec![0; buckets + 1],
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn observe(&mut self, bounds: &[f64], v: f64) {
        self.counts[buckets::bucket(bounds, v)] += 1;
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

/// AIPerf's `aiperf.timing.requests.*` counters this tap can see.
pub(super) const TIMING_COUNTERS: [(&str, &str); 3] = [
    ("aiperf.timing.requests.completed", "requests_completed"),
    ("aiperf.timing.requests.errors", "request_errors"),
    ("aiperf.timing.requests.cancelled", "requests_cancelled"),
];

/// A cumulative counter: when it first counted, and its value.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counter {
    pub start_ns: u64,
    pub value: u64,
}

/// Everything streamed so far.
#[derive(Default)]
pub(super) struct Aggregate {
    pub series: HashMap<(usize, RecordKey), Hist>,
    /// Indexed like [`TIMING_COUNTERS`]; `value == 0` until the first count (AIPerf emits a
    /// counter only once it moved).
    pub timing: [Counter; 3],
}

/// The tap: what to fold, and the folded state.
pub(super) struct OtelTap {
    pub instruments: Vec<Instrument>,
    sources: Vec<Source>,
    metrics: bool,
    timing: bool,
    clock: Clock,
    pub state: Mutex<Aggregate>,
}

impl OtelTap {
    /// The instruments of every per-request metric (as `profile_export.jsonl` has them).
    pub(super) fn new(metrics: bool, timing: bool, clock: Clock) -> Self {
        let mut instruments: Vec<Instrument> = Vec::new();
        let mut sources = Vec::new();
        for spec in REGISTRY.iter().filter(|s| s.in_records()) {
            let (inst, factor) = match semconv::translate(spec.tag) {
                Some(s) => (
                    Instrument {
                        name: s.name.to_string(),
                        unit: s.unit.to_string(),
                        description: format!("GenAI semconv metric: {}", s.name),
                        bounds: s.bounds,
                        shape: s.shape,
                    },
                    s.factor,
                ),
                None => (
                    Instrument {
                        name: format!("aiperf.{}", spec.tag),
                        unit: spec.unit.label().to_string(),
                        description: format!("AIPerf streaming metric: {}", spec.tag),
                        bounds: buckets::SDK_DEFAULT,
                        shape: Shape::Plain,
                    },
                    1.0,
                ),
            };
            let instrument = match instruments.iter().position(|i| i.name == inst.name) {
                Some(i) => i,
                None => {
                    instruments.push(inst);
                    instruments.len() - 1
                }
            };
            sources.push(Source {
                spec,
                instrument,
                factor,
            });
        }
        Self {
            instruments,
            sources,
            metrics,
            timing,
            clock,
            state: Mutex::default(),
        }
    }
}

/// Whether the record is a cancellation (AIPerf's `was_cancelled`).
fn cancelled(error: Option<&ErrorDetails>) -> bool {
    error.is_some_and(|e| e.code == Some(499) && e.kind == "RequestCancellationError")
}

impl RecordTap for OtelTap {
    fn record(&self, values: &RecordValues, error: Option<&ErrorDetails>, _start_wall_ns: u64) {
        let was_cancelled = cancelled(error);
        let has_error = error.is_some();
        let error_type = error.map(ErrorType::of);
        let mut now = None;
        let mut now_ns = || *now.get_or_insert_with(|| self.clock.to_wall_ns(self.clock.now_ns()));
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if self.timing {
            for (c, hit) in st.timing.iter_mut().zip([true, has_error, was_cancelled]) {
                if hit {
                    if c.value == 0 {
                        c.start_ns = now_ns();
                    }
                    c.value += 1;
                }
            }
        }
        if !self.metrics {
            return;
        }
        for src in &self.sources {
            let get = match (src.spec.kind, has_error) {
                (MetricKind::Record(g), false) | (MetricKind::ErrorRecord(g), true) => g,
                _ => continue,
            };
            let inst = &self.instruments[src.instrument];
            let key = RecordKey {
                has_error,
                was_cancelled,
                error_type: error_type.filter(|_| inst.shape == Shape::Duration),
            };
            // The one list metric is read in place rather than copied out by its getter.
            let one;
            let vals: &[f64] = if src.spec.tag == "inter_chunk_latency" {
                &values.inter_chunk_latency
            } else {
                match get(values) {
                    Some(RecordValue::Scalar(v)) => {
                        one = [v];
                        &one
                    }
                    Some(RecordValue::List(_)) | None => continue,
                }
            };
            if vals.is_empty() {
                continue;
            }
            let bounds = inst.bounds;
            let hist = st
                .series
                .entry((src.instrument, key))
                .or_insert_with(|| Hist::new(bounds.len(), now_ns()));
            for v in vals
                .iter()
                .map(|v| v * src.factor)
                .filter(|v| v.is_finite())
            {
                hist.observe(bounds, v);
            }
        }
    }
}

/// The attributes shared by every data point of one kind, worked out once.
pub(super) struct Attributes {
    /// `service.name`, ..., then `--otel-resource-attributes` (which may override).
    pub resource: Vec<(String, Value)>,
    /// The GenAI operation, provider and model (AIPerf's `cross_metric_attributes`).
    pub gen_ai: Vec<(&'static str, Value)>,
    /// The timing counters': phase, expected requests and duration, then `gen_ai`.
    pub timing: Vec<(&'static str, Value)>,
}

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
}

impl Attributes {
    pub(super) fn new(cfg: &ProfileConfig) -> Self {
        let s = |v: &str| Value::Str(v.to_string());
        let otel = cfg.observability.otel.as_ref();
        // Lowest first: OTEL_RESOURCE_ATTRIBUTES, AIPerf's own, then the flag's.
        let mut resource: Vec<(String, Value)> = Vec::new();
        let mut set = |k: &str, v: Value| {
            resource.retain(|(old, _)| old != k);
            resource.push((k.to_string(), v));
        };
        for (k, v) in otel.map_or(&[][..], |o| &o.env_resource_attributes) {
            set(k, s(v));
        }
        set("service.name", s("aiperf"));
        set("service.instance.id", s("records-manager"));
        set("aiperf.endpoint.type", s(&cfg.endpoint_type));
        if let Some(m) = cfg.models.first() {
            set("aiperf.model.name", s(m));
        }
        set("telemetry.sdk.language", s("rust"));
        set("telemetry.sdk.name", s("aiperf"));
        set("telemetry.sdk.version", s(env!("CARGO_PKG_VERSION")));
        for (k, v) in otel.map_or(&[][..], |o| &o.resource_attributes) {
            set(k, s(v));
        }
        let mut gen_ai = vec![
            (
                "gen_ai.operation.name",
                s(semconv::operation_name(&cfg.endpoint_type)),
            ),
            (
                "gen_ai.provider.name",
                Value::Str(semconv::provider_name(cfg)),
            ),
        ];
        if let Some(m) = cfg.models.first() {
            gen_ai.push(("gen_ai.request.model", s(m)));
        }
        let mut timing = vec![("aiperf.benchmark_phase", s("profiling"))];
        if let Some(n) = cfg.request_count {
            timing.push((
                "aiperf.total_expected_requests",
                Value::Int(i64::try_from(n).unwrap_or(i64::MAX)),
            ));
        }
        if let Some(d) = cfg.benchmark_duration_s {
            timing.push(("aiperf.expected_duration_sec", Value::Double(d)));
        }
        timing.extend(gen_ai.iter().cloned());
        Self {
            resource,
            gen_ai,
            timing,
        }
    }

    /// A per-record series' attributes: AIPerf's `build_record_attributes` (one process: the
    /// worker and processor ids are constants), then the spec attributes of its shape.
    pub(super) fn record(&self, shape: Shape, key: &RecordKey) -> Vec<(&'static str, Value)> {
        let s = |v: &str| Value::Str(v.to_string());
        let mut out = vec![
            ("aiperf.worker.id", s("worker_0")),
            ("aiperf.record_processor.id", s("record_processor_0")),
            ("aiperf.benchmark_phase", s("profiling")),
            ("aiperf.was_cancelled", Value::Bool(key.was_cancelled)),
            ("aiperf.has_error", Value::Bool(key.has_error)),
        ];
        match shape {
            Shape::Plain => {}
            Shape::Duration => {
                out.extend(self.gen_ai.iter().cloned());
                if let Some(t) = key.error_type {
                    out.push(("error.type", s(t.as_str())));
                }
            }
            Shape::TokenUsage(kind) => {
                out.extend(self.gen_ai.iter().cloned());
                out.push(("gen_ai.token.type", s(kind)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tap() -> OtelTap {
        OtelTap::new(true, true, Clock::start())
    }

    fn idx(t: &OtelTap, name: &str) -> usize {
        t.instruments
            .iter()
            .position(|i| i.name == name)
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn records_fold_into_cumulative_histograms_and_counters() {
        let t = tap();
        let ok = RecordValues {
            time_to_first_token: Some(3e6),
            request_latency: Some(50e6),
            inter_chunk_latency: vec![1e6, 2e6, 3e6],
            input_sequence_length: Some(100.0),
            ..Default::default()
        };
        t.record(&ok, None, 0);
        t.record(&ok, None, 0);
        let err = ErrorDetails::new(Some(499), "RequestCancellationError", "cancelled");
        t.record(&RecordValues::default(), Some(&err), 0);
        let st = t.state.lock().unwrap();
        let okey = RecordKey {
            has_error: false,
            was_cancelled: false,
            error_type: None,
        };
        let ttft = &st.series[&(idx(&t, "gen_ai.client.operation.time_to_first_chunk"), okey)];
        // 0.003 s twice: bucket (0.001, 0.005] is index 1.
        assert_eq!(ttft.count, 2);
        assert_eq!(ttft.counts[1], 2);
        assert!((ttft.sum - 0.006).abs() < 1e-15);
        assert_eq!((ttft.min, ttft.max), (0.003, 0.003));
        // ICL values are kept in ns and spread: 3 per record.
        let icl = &st.series[&(idx(&t, "aiperf.inter_chunk_latency"), okey)];
        assert_eq!(icl.count, 6);
        assert_eq!(icl.counts[buckets::SDK_DEFAULT.len()], 6);
        let isl = &st.series[&(idx(&t, "aiperf.input_sequence_length"), okey)];
        assert_eq!((isl.count, isl.sum), (2, 200.0));
        assert_eq!(
            st.timing.map(|c| c.value),
            [3, 1, 1],
            "completed, errors, cancelled"
        );
        assert!(st.series.keys().all(|(_, k)| !k.has_error));
    }

    fn config(args: &[&str]) -> ProfileConfig {
        use aiperf_config::{Cli, Command};
        use clap::Parser;
        let mut argv = vec!["aiperf", "profile", "-m", "org/m"];
        argv.extend_from_slice(args);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let Command::Profile(p) = Cli::try_parse_from(&argv).unwrap().command else {
            panic!("not profile")
        };
        ProfileConfig::resolve(*p, &argv, &aiperf_plugins::Registry::builtin()).unwrap()
    }

    #[test]
    fn attributes_layer_env_then_aiperf_then_the_flag() {
        let mut cfg = config(&[
            "--url",
            "https://api.openai.com/v1",
            "--endpoint-type",
            "completions",
            "--request-count",
            "7",
            "--otel-url",
            "h:4318",
            "--otel-resource-attributes",
            "team=perf,service.instance.id=mine",
        ]);
        if let Some(o) = cfg.observability.otel.as_mut() {
            o.env_resource_attributes = vec![
                ("service.name".into(), "from-env".into()),
                ("region".into(), "eu".into()),
            ];
        }
        let a = Attributes::new(&cfg);
        let get = |k: &str| {
            a.resource
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let s = |v: &str| Some(Value::Str(v.into()));
        assert_eq!(
            get("service.name"),
            s("aiperf"),
            "AIPerf's wins over the env"
        );
        assert_eq!(get("region"), s("eu"));
        assert_eq!(get("service.instance.id"), s("mine"), "the flag wins");
        assert_eq!(get("team"), s("perf"));
        assert_eq!(get("aiperf.model.name"), s("org/m"));
        assert_eq!(get("aiperf.endpoint.type"), s("completions"));
        let gen_ai: Vec<_> = a.gen_ai.iter().map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(
            gen_ai,
            vec![
                (
                    "gen_ai.operation.name",
                    Value::Str("text_completion".into())
                ),
                ("gen_ai.provider.name", Value::Str("openai".into())),
                ("gen_ai.request.model", Value::Str("org/m".into())),
            ]
        );
        assert_eq!(
            a.timing[1],
            ("aiperf.total_expected_requests", Value::Int(7))
        );
        let key = RecordKey {
            has_error: true,
            was_cancelled: false,
            error_type: Some(ErrorType::Http5xx),
        };
        let rec = a.record(Shape::Duration, &key);
        assert_eq!(
            rec.last(),
            Some(&("error.type", Value::Str("http_5xx".into())))
        );
        assert_eq!(a.record(Shape::Plain, &key).len(), 5);
    }

    #[test]
    fn stream_domains_choose_what_is_folded() {
        let t = OtelTap::new(false, true, Clock::start());
        t.record(
            &RecordValues {
                request_latency: Some(1.0),
                ..Default::default()
            },
            None,
            0,
        );
        let st = t.state.lock().unwrap();
        assert!(st.series.is_empty());
        assert_eq!(st.timing[0].value, 1);
        drop(st);
        let t = OtelTap::new(true, false, Clock::start());
        t.record(
            &RecordValues {
                request_latency: Some(1.0),
                ..Default::default()
            },
            None,
            0,
        );
        let st = t.state.lock().unwrap();
        assert_eq!(st.series.len(), 1);
        assert_eq!(st.timing[0].value, 0);
    }
}
