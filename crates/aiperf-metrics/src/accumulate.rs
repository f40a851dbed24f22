//! Folds per-request values into run results, then derives the run-level metrics.

use std::collections::HashMap;

use crate::record::{RecordMetrics, RecordValue};
use crate::registry::{Applicability, MetricKind, MetricSpec, REGISTRY};
use crate::stats::Stats;
use crate::units::Unit;

/// Collects every value of a run (exact statistics need them all).
#[derive(Debug)]
pub struct Accumulator {
    run: Applicability,
    /// Base-unit values per registry index (record and error-record metrics).
    values: Vec<Vec<f64>>,
    request_count: u64,
    error_count: u64,
    min_request_wall_ns: Option<u64>,
    max_response_wall_ns: Option<u64>,
}

/// Run-level inputs visible to derived metrics, and results derived so far.
#[derive(Debug, Default)]
pub struct Derived {
    pub request_count: u64,
    pub error_count: u64,
    pub min_request_wall_ns: Option<u64>,
    pub max_response_wall_ns: Option<u64>,
    sums: HashMap<&'static str, f64>,
    results: HashMap<&'static str, f64>,
}

impl Derived {
    /// A run-level result computed earlier (base units).
    pub fn get(&self, tag: &str) -> Option<f64> {
        self.results.get(tag).copied()
    }

    /// Sum of a per-request metric over the run, if it had any values.
    pub fn sum(&self, tag: &str) -> Option<f64> {
        self.sums.get(tag).copied()
    }

    /// `amount / benchmark_duration` in seconds; `None` for a zero or missing duration.
    pub fn per_second(&self, amount: f64) -> Option<f64> {
        let d = self.get("benchmark_duration")?;
        (d > 0.0).then(|| amount / (d / 1e9))
    }
}

/// A metric's final value, in display units.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Distribution(Stats),
    Scalar(f64),
}

/// One exported metric.
#[derive(Debug, Clone)]
pub struct MetricResult {
    pub spec: &'static MetricSpec,
    pub value: MetricValue,
}

impl MetricResult {
    /// The unit of the exported value (the metric's display unit).
    pub fn display_unit(&self) -> Unit {
        self.spec.display_unit
    }
}

/// Everything a run measured, ready to export.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// In registry order.
    pub results: Vec<MetricResult>,
}

impl Summary {
    pub fn get(&self, tag: &str) -> Option<&MetricResult> {
        self.results.iter().find(|r| r.spec.tag == tag)
    }

    /// A scalar result, or the average of a distribution, in display units.
    pub fn value(&self, tag: &str) -> Option<f64> {
        self.get(tag).map(|r| match &r.value {
            MetricValue::Scalar(v) => *v,
            MetricValue::Distribution(s) => s.avg,
        })
    }
}

impl Accumulator {
    pub fn new(run: Applicability) -> Self {
        Self {
            run,
            values: vec![Vec::new(); REGISTRY.len()],
            request_count: 0,
            error_count: 0,
            min_request_wall_ns: None,
            max_response_wall_ns: None,
        }
    }

    /// Adds a successful request that started at `start_wall_ns` (epoch ns).
    pub fn add_success(&mut self, m: &RecordMetrics, start_wall_ns: u64) {
        self.request_count += 1;
        self.min_request_wall_ns = Some(
            self.min_request_wall_ns
                .map_or(start_wall_ns, |v| v.min(start_wall_ns)),
        );
        if let Some(lat) = m.request_latency {
            let end = start_wall_ns + lat as u64;
            self.max_response_wall_ns = Some(self.max_response_wall_ns.map_or(end, |v| v.max(end)));
        }
        self.push(m, false);
    }

    /// Adds a failed request.
    pub fn add_error(&mut self, m: &RecordMetrics) {
        self.error_count += 1;
        self.push(m, true);
    }

    fn push(&mut self, m: &RecordMetrics, error: bool) {
        for (i, spec) in REGISTRY.iter().enumerate() {
            let get = match (spec.kind, error) {
                (MetricKind::Record(get), false) | (MetricKind::ErrorRecord(get), true) => get,
                _ => continue,
            };
            if !spec.applies(&self.run) {
                continue;
            }
            match get(m) {
                Some(RecordValue::Scalar(v)) => self.values[i].push(v),
                Some(RecordValue::List(list)) => self.values[i].extend(list),
                None => {}
            }
        }
    }

    pub fn request_count(&self) -> u64 {
        self.request_count
    }

    pub fn error_count(&self) -> u64 {
        self.error_count
    }

    /// Final results: statistics of every per-request metric, then the run-level metrics in
    /// dependency order. Metrics without a value are absent.
    pub fn summarize(&self) -> Summary {
        let mut derived = Derived {
            request_count: self.request_count,
            error_count: self.error_count,
            min_request_wall_ns: self.min_request_wall_ns,
            max_response_wall_ns: self.max_response_wall_ns,
            ..Default::default()
        };
        let mut results = Vec::new();
        for (i, spec) in REGISTRY.iter().enumerate() {
            if !spec.applies(&self.run) {
                continue;
            }
            let factor = spec.unit.factor_to(spec.display_unit);
            match spec.kind {
                MetricKind::Record(_) | MetricKind::ErrorRecord(_) => {
                    let Some(stats) = Stats::compute(&self.values[i]) else {
                        continue;
                    };
                    derived.sums.insert(spec.tag, stats.sum);
                    results.push(MetricResult {
                        spec,
                        value: MetricValue::Distribution(stats.scaled(factor)),
                    });
                }
                MetricKind::Derived(f) => {
                    let Some(v) = f(&derived).filter(|v| v.is_finite()) else {
                        continue;
                    };
                    derived.results.insert(spec.tag, v);
                    results.push(MetricResult {
                        spec,
                        value: MetricValue::Scalar(v * factor),
                    });
                }
            }
        }
        Summary { results }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordInput;

    const MS: u64 = 1_000_000;
    const STREAMING: Applicability = Applicability {
        streaming: true,
        produces_tokens: true,
        tokenizes_input: true,
    };

    fn success(start: u64, content: &[u64], isl: u64, osl: u64) -> RecordMetrics {
        RecordMetrics::of_success(&RecordInput {
            start_ns: start,
            content_ns: content,
            input_tokens: Some(isl),
            output_tokens: Some(osl),
            reasoning_tokens: None,
        })
        .unwrap()
    }

    #[test]
    fn run_level_metrics_by_hand() {
        let mut acc = Accumulator::new(STREAMING);
        // Request A: wall start 1_000 ms, latency 100 ms, 10 tokens out, 50 in.
        acc.add_success(&success(0, &[10 * MS, 100 * MS], 50, 10), 1_000 * MS);
        // Request B: wall start 1_050 ms, latency 150 ms -> ends at 1_200 ms; 30 out, 70 in.
        acc.add_success(&success(0, &[30 * MS, 150 * MS], 70, 30), 1_050 * MS);
        acc.add_error(&RecordMetrics::of_error(Some(40)));
        let s = acc.summarize();
        // Duration = 1_200 - 1_000 = 200 ms = 0.2 s.
        assert!((s.value("benchmark_duration").unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(s.value("request_count"), Some(2.0));
        assert_eq!(s.value("error_request_count"), Some(1.0));
        assert_eq!(s.value("completed_request_count"), Some(3.0));
        assert!((s.value("request_error_rate").unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert!((s.value("request_throughput").unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(s.value("total_osl"), Some(40.0));
        assert!((s.value("output_token_throughput").unwrap() - 200.0).abs() < 1e-9);
        assert!((s.value("input_token_throughput").unwrap() - 600.0).abs() < 1e-9);
        assert!((s.value("total_token_throughput").unwrap() - 800.0).abs() < 1e-9);
        assert_eq!(s.value("total_error_isl"), Some(40.0));
        // Latency distribution in ms: avg 125.
        let MetricValue::Distribution(lat) = &s.get("request_latency").unwrap().value else {
            panic!()
        };
        assert_eq!(
            (lat.min, lat.max, lat.avg, lat.count),
            (100.0, 150.0, 125.0, 2)
        );
        assert!(s.get("min_request_timestamp").is_some());
    }

    #[test]
    fn all_failed_has_no_duration_or_throughput() {
        let mut acc = Accumulator::new(STREAMING);
        acc.add_error(&RecordMetrics::of_error(None));
        let s = acc.summarize();
        assert_eq!(s.value("request_count"), Some(0.0));
        assert_eq!(s.value("error_request_count"), Some(1.0));
        assert!(s.get("benchmark_duration").is_none());
        assert!(s.get("request_throughput").is_none());
        assert!(s.get("request_latency").is_none());
    }

    #[test]
    fn non_streaming_runs_skip_streaming_metrics() {
        let mut acc = Accumulator::new(Applicability {
            streaming: false,
            ..STREAMING
        });
        acc.add_success(&success(0, &[10 * MS], 5, 5), 0);
        let s = acc.summarize();
        assert!(s.get("time_to_first_token").is_none());
        assert!(s.get("inter_token_latency").is_none());
        assert!(s.get("request_latency").is_some());
        assert!(s.get("output_sequence_length").is_some());
    }
}
