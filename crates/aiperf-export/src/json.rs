//! `profile_export_aiperf.json` (AIPerf schema 1.4 field names).

use aiperf_metrics::{MetricValue, Stats, Summary, WeightedStats};
use serde_json::{json, Map, Value};

use crate::RunReport;

/// Schema version written, AIPerf's 0.13 layout.
pub const SCHEMA_VERSION: &str = "1.4";

/// A finite number, or nothing.
pub fn finite(v: f64) -> Option<Value> {
    v.is_finite().then(|| json!(v))
}

/// `{"unit", "avg", "p1".."p99", "min", "max", "std", "count", "sum"}` minus non-finite fields.
pub fn stats_object(unit: &str, s: &Stats) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("unit".into(), json!(unit));
    let mut fields: Vec<(&str, f64)> = vec![("avg", s.avg)];
    for (i, (_, name)) in aiperf_metrics::stats::PERCENTILES.iter().enumerate() {
        fields.push((name, s.percentiles[i]));
    }
    fields.extend([("min", s.min), ("max", s.max), ("std", s.std)]);
    for (k, v) in fields {
        if let Some(v) = finite(v) {
            m.insert(k.into(), v);
        }
    }
    m.insert("count".into(), json!(s.count));
    if let Some(v) = finite(s.sum) {
        m.insert("sum".into(), v);
    }
    m
}

/// `{"unit", "avg", "min", "max", "p50", "p90", "p95", "p99", "std"}` of a time-weighted metric.
pub fn weighted_object(unit: &str, w: &WeightedStats) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("unit".into(), json!(unit));
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
        if let Some(v) = finite(v) {
            m.insert(k.into(), v);
        }
    }
    m
}

/// One object per exported metric, keyed by tag, in registry order.
pub fn metrics_map(summary: &Summary) -> Map<String, Value> {
    let mut doc = Map::new();
    for res in &summary.results {
        if !res.spec.exported() {
            continue;
        }
        let unit = res.display_unit().label();
        let obj = match &res.value {
            MetricValue::Distribution(s) => stats_object(unit, s),
            MetricValue::Weighted(w) => weighted_object(unit, w),
            MetricValue::Scalar(v) => {
                let Some(v) = finite(*v) else { continue };
                let mut m = Map::new();
                m.insert("unit".into(), json!(unit));
                m.insert("avg".into(), v);
                m
            }
        };
        doc.insert(res.tag.to_string(), Value::Object(obj));
    }
    doc
}

/// The whole summary document.
pub fn render(r: &RunReport) -> String {
    let mut doc = Map::new();
    doc.insert("schema_version".into(), json!(SCHEMA_VERSION));
    doc.insert("aiperf_version".into(), json!(env!("CARGO_PKG_VERSION")));
    doc.insert("benchmark_id".into(), json!(r.benchmark_id));
    doc.extend(metrics_map(&r.summary));
    for (k, v) in &r.extra {
        doc.insert(k.clone(), v.clone());
    }
    doc.insert("input_config".into(), r.input_config.clone());
    doc.insert("run_info".into(), r.run_info.clone());
    doc.insert("was_cancelled".into(), json!(r.was_cancelled));
    doc.insert("is_complete".into(), json!(r.incomplete_reason.is_none()));
    doc.insert("incomplete_reason".into(), json!(r.incomplete_reason));
    let errors: Vec<Value> = r
        .errors
        .iter()
        .map(|(d, n)| json!({"error_details": {"code": d.code, "type": d.kind, "message": d.message}, "count": n}))
        .collect();
    doc.insert("error_summary".into(), Value::Array(errors));
    doc.insert("start_time".into(), json!(r.start_time));
    doc.insert("end_time".into(), json!(r.end_time));
    let mut s =
        serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}
