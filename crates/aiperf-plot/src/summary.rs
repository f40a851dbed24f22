//! A run's or a configuration's results as the charts and tables read them: a summary
//! (`profile_export_aiperf.json`, one run) or an aggregate
//! (`profile_export_aiperf_aggregate.json`, a configuration's trials with confidence
//! intervals).

use serde_json::Value;

use crate::report_data::{MetricRow, RunView, Verdict};

/// The statistics tables show, in AIPerf's order.
const STAT_ORDER: [&str; 13] = [
    "avg", "min", "max", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std",
];

/// A value with its confidence interval when it comes from repeated trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// Results of one point of a comparison.
#[derive(Debug, Clone)]
pub enum Results {
    /// One run's summary JSON.
    Run(Value),
    /// A configuration's aggregate over trials, with the trials' summaries when found.
    Aggregate {
        aggregate: Value,
        trials: Vec<Value>,
    },
}

impl Results {
    /// `tag`'s statistic `stat` (a scalar metric answers `avg`): from a summary the value, from
    /// an aggregate the mean over trials with its confidence interval (none for one trial).
    pub fn estimate(&self, tag: &str, stat: &str) -> Option<Estimate> {
        match self {
            Results::Run(s) => {
                let value = s.get(tag)?.get(stat)?.as_f64()?;
                Some(Estimate {
                    value,
                    interval: None,
                })
            }
            Results::Aggregate { aggregate, .. } => {
                let entry = aggregate.get("metrics")?.get(format!("{tag}_{stat}"))?;
                let value = entry.get("mean")?.as_f64()?;
                let low = entry.get("ci_low").and_then(Value::as_f64);
                let high = entry.get("ci_high").and_then(Value::as_f64);
                let trials = aggregate
                    .pointer("/metadata/num_successful_runs")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let interval = match (low, high) {
                    (Some(l), Some(h)) if trials > 1 && l.is_finite() && h.is_finite() => {
                        Some((l, h))
                    }
                    _ => None,
                };
                Some(Estimate { value, interval })
            }
        }
    }

    /// The summaries behind these results (the run, or the trials found).
    pub fn summaries(&self) -> Vec<&Value> {
        match self {
            Results::Run(s) => vec![s],
            Results::Aggregate { trials, .. } => trials.iter().collect(),
        }
    }

    /// What distinguishes this point in a sweep: `run_info.variation_values` of a summary or
    /// `metadata.variation_values` of an aggregate, as `name=value` with the last path
    /// segment of each parameter ("concurrency=16").
    pub fn variation(&self) -> Option<String> {
        let values = match self {
            Results::Run(s) => s.pointer("/run_info/variation_values"),
            Results::Aggregate { aggregate, .. } => aggregate.pointer("/metadata/variation_values"),
        }?
        .as_object()?;
        if values.is_empty() {
            return None;
        }
        let parts: Vec<String> = values
            .iter()
            .map(|(k, v)| {
                let name = k.rsplit('.').next().unwrap_or(k);
                let value = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                format!("{name}={value}")
            })
            .collect();
        Some(parts.join(", "))
    }

    /// The `variation_label` that ties trials to their aggregate.
    pub fn variation_label(&self) -> Option<&str> {
        match self {
            Results::Run(s) => s.pointer("/run_info/variation_label"),
            Results::Aggregate { aggregate, .. } => aggregate.pointer("/metadata/variation_label"),
        }?
        .as_str()
    }

    /// The model benchmarked (first of `input_config.models`, or the aggregate's `model`).
    pub fn model(&self) -> Option<String> {
        let from_summary = |s: &Value| {
            s.pointer("/input_config/models/0")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match self {
            Results::Run(s) => from_summary(s),
            Results::Aggregate { aggregate, trials } => aggregate
                .pointer("/metadata/model")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| trials.first().and_then(from_summary)),
        }
    }

    /// The concurrency of the run (for a label when nothing was swept).
    pub fn concurrency(&self) -> Option<u64> {
        self.summaries().first().and_then(|s| {
            s.pointer("/input_config/phases/profiling/concurrency")
                .or_else(|| s.pointer("/input_config/loadgen/concurrency"))
                .and_then(Value::as_u64)
        })
    }

    /// Number of GPUs seen by telemetry: Σ over `telemetry_data.endpoints.*` of their `gpus`
    /// (AIPerf's rule for per-GPU throughput).
    pub fn gpu_count(&self) -> Option<usize> {
        let s = self.summaries().into_iter().next()?;
        let endpoints = s.pointer("/telemetry_data/endpoints")?.as_object()?;
        let n: usize = endpoints
            .values()
            .filter_map(|e| e.get("gpus").and_then(Value::as_object).map(|g| g.len()))
            .sum();
        (n > 0).then_some(n)
    }

    /// The table rows: every metric of the summary (or the aggregate's means).
    pub fn metric_rows(&self) -> Vec<MetricRow> {
        match self {
            Results::Run(s) => summary_rows(s),
            Results::Aggregate { aggregate, .. } => aggregate_rows(aggregate),
        }
    }

    /// `client_bound` of the run; for trials, bound if any trial was.
    pub fn verdict(&self) -> Option<Verdict> {
        let mut verdicts = self.summaries().into_iter().filter_map(|s| {
            let cb = s.get("client_bound")?;
            Some(Verdict {
                client_bound: cb.get("verdict")?.as_bool()?,
                reasons: cb
                    .get("reasons")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().map(value_text).collect())
                    .unwrap_or_default(),
            })
        });
        let first = verdicts.next()?;
        Some(verdicts.fold(first, |acc, v| Verdict {
            client_bound: acc.client_bound || v.client_bound,
            reasons: [acc.reasons, v.reasons].concat(),
        }))
    }

    /// What a reader must know before trusting the numbers.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in self.summaries() {
            if s.get("was_cancelled").and_then(Value::as_bool) == Some(true) {
                out.push(
                    "the run was cancelled (Ctrl-C or a limit): results cover what finished".into(),
                );
            }
            if let Some(reason) = s.get("incomplete_reason").and_then(Value::as_str) {
                if s.get("is_complete").and_then(Value::as_bool) == Some(false) {
                    out.push(format!("incomplete: {reason}"));
                }
            }
            for e in s
                .get("error_summary")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let count = e.get("count").and_then(Value::as_u64).unwrap_or(0);
                let detail = e.get("error_details").unwrap_or(e);
                let kind = detail.get("type").map(value_text).unwrap_or_default();
                let message = detail.get("message").map(value_text).unwrap_or_default();
                out.push(
                    format!("{count} request(s) failed: {kind} {message}")
                        .trim()
                        .to_string(),
                );
            }
        }
        if let Results::Aggregate { aggregate, .. } = self {
            for f in aggregate
                .pointer("/metadata/failed_runs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                out.push(format!("a trial failed: {}", value_text(f)));
            }
        }
        out.dedup();
        out
    }

    pub fn cli_command(&self) -> Option<String> {
        self.summaries()
            .first()
            .and_then(|s| s.pointer("/run_info/cli_command"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn config(&self) -> Value {
        self.summaries()
            .first()
            .and_then(|s| s.get("input_config"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The run's `--slice-duration` in seconds, if it had one.
    pub fn slice_duration(&self) -> Option<f64> {
        self.summaries().first().and_then(|s| {
            s.pointer("/input_config/output/slice_duration")
                .or_else(|| s.pointer("/input_config/artifacts/slice_duration"))
                .and_then(Value::as_f64)
        })
    }

    /// The table view of these results.
    pub fn view(&self, name: String, dir: String, group: Option<String>) -> RunView {
        RunView {
            name,
            dir,
            group,
            metrics: self.metric_rows(),
            verdict: self.verdict(),
            warnings: self.warnings(),
            cli_command: self.cli_command(),
            config: self.config(),
        }
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn row(tag: &str, unit: &str, stats: Vec<(String, f64)>) -> MetricRow {
    let spec = aiperf_metrics::registry::find(tag);
    MetricRow {
        tag: tag.to_string(),
        name: spec.map_or_else(|| tag.to_string(), |s| s.header.to_string()),
        unit: unit.to_string(),
        larger_is_better: spec.is_some_and(|s| s.larger_is_better()) || is_rate(tag, unit),
        stats,
    }
}

/// Throughputs and efficiencies: more is better even where the metric table does not say so
/// (time-weighted throughputs, GPU energy efficiency).
fn is_rate(tag: &str, unit: &str) -> bool {
    unit.contains("/sec")
        || ["per_joule", "per_watt", "throughput"]
            .iter()
            .any(|k| tag.contains(k))
}

/// Metrics of a summary: top-level objects with a `unit` and numeric statistics.
fn summary_rows(s: &Value) -> Vec<MetricRow> {
    let Some(obj) = s.as_object() else {
        return Vec::new();
    };
    obj.iter()
        .filter_map(|(tag, v)| {
            let m = v.as_object()?;
            let unit = m.get("unit")?.as_str()?;
            let stats: Vec<(String, f64)> = STAT_ORDER
                .iter()
                .filter_map(|st| Some((st.to_string(), m.get(*st)?.as_f64()?)))
                .collect();
            (!stats.is_empty()).then(|| row(tag, unit, stats))
        })
        .collect()
}

/// Metrics of an aggregate: `{tag}_{stat}` keys regrouped by tag, the mean of each.
fn aggregate_rows(a: &Value) -> Vec<MetricRow> {
    let Some(metrics) = a.get("metrics").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut rows: Vec<MetricRow> = Vec::new();
    for (key, entry) in metrics {
        let Some((tag, stat)) = STAT_ORDER
            .iter()
            .find_map(|st| key.strip_suffix(&format!("_{st}")).map(|tag| (tag, *st)))
        else {
            continue;
        };
        let Some(mean) = entry.get("mean").and_then(Value::as_f64) else {
            continue;
        };
        let unit = entry.get("unit").and_then(Value::as_str).unwrap_or("");
        match rows.iter_mut().find(|r| r.tag == tag) {
            Some(r) => r.stats.push((stat.to_string(), mean)),
            None => rows.push(row(tag, unit, vec![(stat.to_string(), mean)])),
        }
    }
    for r in &mut rows {
        r.stats
            .sort_by_key(|(st, _)| STAT_ORDER.iter().position(|o| o == st));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary() -> Value {
        json!({
            "time_to_first_token": {"unit": "ms", "avg": 20.0, "p99": 30.0, "min": 10.0},
            "request_throughput": {"unit": "requests/sec", "avg": 5.0},
            "run_info": {"variation_values": {"phases.profiling.concurrency": 4}},
            "input_config": {"models": ["m"], "phases": {"profiling": {"concurrency": 4}}},
            "telemetry_data": {"endpoints": {"a": {"gpus": {"gpu_0": {}, "gpu_1": {}}},
                                             "b": {"gpus": {"gpu_0": {}, "gpu_1": {}}}}},
            "client_bound": {"verdict": true, "reasons": ["lateness p99 3 ms"]},
            "error_summary": [{"error_details": {"code": 500, "type": "Internal Server Error", "message": "boom"}, "count": 2}]
        })
    }

    #[test]
    fn a_summary_answers_statistics_rows_and_gpus() {
        let r = Results::Run(summary());
        assert_eq!(
            r.estimate("time_to_first_token", "p99").map(|e| e.value),
            Some(30.0)
        );
        assert_eq!(r.estimate("time_to_first_token", "p50"), None);
        assert_eq!(r.variation().as_deref(), Some("concurrency=4"));
        assert_eq!(r.gpu_count(), Some(4));
        assert_eq!(r.concurrency(), Some(4));
        let rows = r.metric_rows();
        assert_eq!(rows[0].name, "Time to First Token");
        // avg, min, max, ..., p99 in AIPerf's order whatever the file's order.
        assert_eq!(
            rows[0].stats,
            vec![
                ("avg".into(), 20.0),
                ("min".into(), 10.0),
                ("p99".into(), 30.0)
            ]
        );
        assert!(rows[1].larger_is_better);
        let v = r.verdict().expect("verdict");
        assert!(v.client_bound);
        assert_eq!(
            r.warnings(),
            vec!["2 request(s) failed: Internal Server Error boom"]
        );
    }

    #[test]
    fn an_aggregate_answers_means_with_intervals() {
        // docs/multi-run.md: throughputs 100, 110, 120 -> mean 110, [85.16, 134.84].
        let a = json!({
            "metadata": {"num_successful_runs": 3, "variation_values": {"c": 8}},
            "metrics": {
                "request_throughput_avg": {"mean": 110.0, "ci_low": 85.16, "ci_high": 134.84, "unit": "requests/sec"},
                "time_to_first_token_p99": {"mean": 7.0, "ci_low": null, "ci_high": null, "unit": "ms"},
                "time_to_first_token_avg": {"mean": 5.0, "ci_low": 4.0, "ci_high": 6.0, "unit": "ms"}
            }
        });
        let r = Results::Aggregate {
            aggregate: a,
            trials: vec![],
        };
        let e = r.estimate("request_throughput", "avg").expect("estimate");
        assert_eq!((e.value, e.interval), (110.0, Some((85.16, 134.84))));
        assert_eq!(
            r.estimate("time_to_first_token", "p99")
                .and_then(|e| e.interval),
            None
        );
        let rows = r.metric_rows();
        let ttft = rows
            .iter()
            .find(|r| r.tag == "time_to_first_token")
            .expect("ttft row");
        assert_eq!(ttft.stats, vec![("avg".into(), 5.0), ("p99".into(), 7.0)]);
        assert_eq!(r.variation().as_deref(), Some("c=8"));
    }
}
