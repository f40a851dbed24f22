//! What a tracker is told about a run, as AIPerf 0.13's exporters build it: the MLflow
//! metrics, params and tags (`_build_metric_payload`, `_build_param_payload`,
//! `_build_tag_payload`; W&B's summary reuses the metrics), the default run name, and how
//! MLflow's client splits them into `runs/log-batch` calls.

use std::time::{SystemTime, UNIX_EPOCH};

use aiperf_config::ProfileConfig;
use aiperf_export::json::{MetricStats, SummaryJson};
use aiperf_export::RunReport;
use indexmap::IndexMap;
use serde_json::{json, Value};

/// MLflow's `MAX_METRICS_PER_BATCH`, `MAX_PARAMS_TAGS_PER_BATCH`, `MAX_ENTITIES_PER_BATCH`.
const MAX_METRICS: usize = 1000;
const MAX_PARAMS_TAGS: usize = 100;
const MAX_ENTITIES: usize = 1000;

/// MLflow's limits on a param's and a tag's value (the server refuses longer ones).
const MAX_PARAM_VALUE: usize = 6000;
const MAX_TAG_VALUE: usize = 8000;

/// The metrics, params and tags AIPerf logs for a run.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Payload {
    pub metrics: IndexMap<String, f64>,
    pub params: IndexMap<String, String>,
    pub tags: IndexMap<String, String>,
}

/// The metrics, params and tags of AIPerf's `_build_*_payload`.
pub(crate) fn payload(cfg: &ProfileConfig, rep: &RunReport) -> Payload {
    let summary = SummaryJson::new(rep);
    let mut metrics = IndexMap::new();
    for (tag, stats) in &summary.metrics {
        for (stat, v) in MetricStats::fields(stats) {
            let key = if stat == "avg" {
                tag.clone()
            } else {
                format!("{tag}.{stat}")
            };
            metrics.insert(key, v);
        }
    }
    for (tag, e) in &summary.energy {
        metrics.insert(tag.clone(), e.avg);
    }
    // AIPerf 0.13 logs the number of metric results here (`len(records_results)`); the name
    // promises the profiling requests that completed, which is what is logged.
    metrics.insert(
        "aiperf.completed_requests".to_string(),
        rep.load_report.requests_sent as f64,
    );

    let ic = &rep.input_config;
    let mut params = IndexMap::new();
    params.insert("endpoint.type".to_string(), ic.endpoint.kind.clone());
    params.insert("endpoint.models".to_string(), ic.models.join(","));
    params.insert("endpoint.urls".to_string(), ic.endpoint.urls.join(","));
    params.insert(
        "output.artifact_directory".to_string(),
        cfg.artifact_dir.display().to_string(),
    );
    for (k, v) in load_params(cfg, rep) {
        params.insert(k.to_string(), v);
    }
    if !rep.cli_command.is_empty() {
        params.insert("aiperf.cli_command".to_string(), rep.cli_command.clone());
    }
    for v in params.values_mut() {
        *v = ellipsize(v, MAX_PARAM_VALUE);
    }

    let mut tags = IndexMap::new();
    tags.insert(
        "aiperf.version".to_string(),
        summary.aiperf_version.to_string(),
    );
    tags.insert(
        "aiperf.was_cancelled".to_string(),
        rep.was_cancelled.to_string(),
    );
    if !rep.benchmark_id.is_empty() {
        tags.insert("benchmark_id".to_string(), rep.benchmark_id.clone());
    }
    if let Some(m) = &cfg.tracking.mlflow {
        for (k, v) in &m.tags {
            tags.insert(k.clone(), v.clone());
        }
    }
    for v in tags.values_mut() {
        *v = ellipsize(v, MAX_TAG_VALUE);
    }
    Payload {
        metrics,
        params,
        tags,
    }
}

/// `timing.mode` and the `loadgen.*` params of the profiling phase, with AIPerf's phase type
/// names and Python's number formatting.
fn load_params(cfg: &ProfileConfig, rep: &RunReport) -> Vec<(&'static str, String)> {
    use aiperf_config::LoadMode;
    use aiperf_export::input_config::TimingMode;
    use aiperf_timing::arrival::ArrivalPattern;
    let py = aiperf_config::resolve::python_float;
    let phase = &rep.input_config.phases.profiling;
    let mut out = Vec::new();
    let (mode, concurrency, rate) = match (&cfg.load, phase.mode) {
        (_, TimingMode::FixedSchedule) | (LoadMode::FixedSchedule { .. }, _) => {
            let cap = match &cfg.load {
                LoadMode::FixedSchedule { cap, .. } | LoadMode::Rate { cap, .. } => *cap,
                _ => None,
            };
            ("fixed_schedule", cap, None)
        }
        (LoadMode::Concurrency { concurrency, .. }, _) => ("concurrency", Some(*concurrency), None),
        (
            LoadMode::Rate {
                rate, pattern, cap, ..
            },
            _,
        ) => {
            let kind = match pattern {
                ArrivalPattern::Constant => "constant",
                ArrivalPattern::Poisson => "poisson",
                ArrivalPattern::Gamma { .. } => "gamma",
            };
            (kind, *cap, Some(*rate))
        }
        (LoadMode::UserCentric { rate, .. }, _) => ("user_centric", None, Some(*rate)),
    };
    out.push(("timing.mode", mode.to_string()));
    if let Some(c) = concurrency {
        out.push(("loadgen.concurrency", c.to_string()));
    }
    if let Some(r) = rate {
        out.push(("loadgen.request_rate", py(r)));
    }
    if let Some(n) = phase.requests {
        out.push(("loadgen.request_count", n.to_string()));
    }
    if let Some(d) = phase.duration {
        out.push(("loadgen.benchmark_duration", py(d)));
    }
    out
}

/// `log-batch` bodies (without `run_id`) in MLflow's client's split: params and tags 100 at a
/// time, each call filled up with metrics to 1000 entities, the remaining metrics 1000 a call.
pub(crate) fn batches(p: &Payload, ts: u64) -> Vec<Value> {
    let metric =
        |(k, v): (&String, &f64)| json!({"key": k, "value": v, "timestamp": ts, "step": 0});
    let pair = |(k, v): (&String, &String)| json!({"key": k, "value": v});
    let mut metrics: Vec<Value> = p.metrics.iter().map(metric).collect();
    let params: Vec<Value> = p.params.iter().map(pair).collect();
    let tags: Vec<Value> = p.tags.iter().map(pair).collect();
    let mut out = Vec::new();
    let (mut pc, mut tc) = (params.chunks(MAX_PARAMS_TAGS), tags.chunks(MAX_PARAMS_TAGS));
    loop {
        let (ps, ts_) = (pc.next().unwrap_or(&[]), tc.next().unwrap_or(&[]));
        if ps.is_empty() && ts_.is_empty() {
            break;
        }
        let n = (MAX_ENTITIES - ps.len() - ts_.len())
            .min(MAX_METRICS)
            .min(metrics.len());
        let ms: Vec<Value> = metrics.drain(..n).collect();
        out.push(json!({"metrics": ms, "params": ps, "tags": ts_}));
    }
    while !metrics.is_empty() {
        let n = MAX_METRICS.min(metrics.len());
        let ms: Vec<Value> = metrics.drain(..n).collect();
        out.push(json!({"metrics": ms, "params": [], "tags": []}));
    }
    out
}

/// AIPerf's default run name: `aiperf-<first 8 characters of the benchmark id>`.
pub(crate) fn default_run_name(benchmark_id: &str) -> String {
    if benchmark_id.is_empty() {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return format!("aiperf-{secs}");
    }
    format!(
        "aiperf-{}",
        benchmark_id.chars().take(8).collect::<String>()
    )
}

/// MLflow's `_truncate_and_ellipsize`.
fn ellipsize(v: &str, max: usize) -> String {
    if v.chars().count() <= max {
        return v.to_string();
    }
    let mut s: String = v.chars().take(max - 3).collect();
    s.push_str("...");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload_of(metrics: usize, params: usize, tags: usize) -> Payload {
        Payload {
            metrics: (0..metrics).map(|i| (format!("m{i}"), i as f64)).collect(),
            params: (0..params).map(|i| (format!("p{i}"), "v".into())).collect(),
            tags: (0..tags).map(|i| (format!("t{i}"), "v".into())).collect(),
        }
    }

    fn sizes(b: &[Value]) -> Vec<(usize, usize, usize)> {
        let n = |v: &Value, k: &str| v[k].as_array().map_or(0, Vec::len);
        b.iter()
            .map(|v| (n(v, "metrics"), n(v, "params"), n(v, "tags")))
            .collect()
    }

    #[test]
    fn batches_split_as_mlflows_client_does() {
        // 250 params and 30 tags: three calls of params (100, 100, 50), the first with the 30
        // tags; metrics fill each call to 1000 entities: 870, 900, 950, then the last 280.
        let b = batches(&payload_of(3000, 250, 30), 7);
        assert_eq!(
            sizes(&b),
            [(870, 100, 30), (900, 100, 0), (950, 50, 0), (280, 0, 0)]
        );
        assert_eq!(
            b[0]["metrics"][0],
            json!({"key": "m0", "value": 0.0, "timestamp": 7, "step": 0})
        );
        assert_eq!(b[3]["metrics"][279]["key"], "m2999");
        assert_eq!(
            sizes(&batches(&payload_of(2001, 0, 0), 1)),
            [(1000, 0, 0), (1000, 0, 0), (1, 0, 0)]
        );
        assert_eq!(sizes(&batches(&payload_of(3, 2, 1), 1)), [(3, 2, 1)]);
    }

    #[test]
    fn names_and_values_keep_mlflows_limits() {
        assert_eq!(default_run_name("0123456789abcdef"), "aiperf-01234567");
        assert_eq!(ellipsize("abcdef", 5), "ab...");
        assert_eq!(ellipsize("abcde", 5), "abcde");
    }
}
