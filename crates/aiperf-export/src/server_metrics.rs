//! `server_metrics_export.json` and `.csv`: what each server's Prometheus page said over the
//! profiling window, per metric and label set (AIPerf 0.13's layout, spec §8.1).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use aiperf_telemetry::{MetricSummary, MetricType, SeriesStats};
use serde_json::{json, Map, Value};

use crate::aggregate::csv_field;
use crate::json::finite;
use crate::{write_atomic, ExportError};

pub const SERVER_METRICS_JSON_FILE: &str = "server_metrics_export.json";
pub const SERVER_METRICS_CSV_FILE: &str = "server_metrics_export.csv";

/// One endpoint's fetch statistics and aggregated metrics.
#[derive(Debug)]
pub struct EndpointMetrics {
    pub url: String,
    pub fetches: u64,
    pub failed_fetches: u64,
    pub avg_fetch_latency_ms: Option<f64>,
    /// Why the endpoint stopped being read early, if it did.
    pub dropped: Option<String>,
    pub metrics: Vec<MetricSummary>,
}

/// What the files are made of.
#[derive(Debug)]
pub struct ServerMetricsReport<'a> {
    pub benchmark_id: &'a str,
    /// Endpoints tried (answering or not).
    pub endpoints_configured: usize,
    pub endpoints: Vec<EndpointMetrics>,
    /// The profiling window on the run clock (ns).
    pub window_ns: (u64, u64),
}

fn kind_name(k: MetricType) -> &'static str {
    match k {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::Summary => "summary",
        MetricType::Untyped => "untyped",
    }
}

fn num(v: Option<f64>) -> Value {
    v.and_then(finite).map_or(Value::Null, Value::from)
}

fn stats_json(s: &SeriesStats) -> (Value, Option<Value>) {
    match s {
        SeriesStats::Gauge {
            avg,
            min,
            max,
            std,
            p50,
            p90,
            p95,
            p99,
            samples,
        } => (
            json!({"avg": num(Some(*avg)), "min": num(Some(*min)), "max": num(Some(*max)),
                   "std": num(Some(*std)), "p50": num(Some(*p50)), "p90": num(Some(*p90)),
                   "p95": num(Some(*p95)), "p99": num(Some(*p99)), "samples": samples}),
            None,
        ),
        SeriesStats::Counter { total, rate } => (
            json!({"total": num(Some(*total)), "rate": num(*rate)}),
            None,
        ),
        SeriesStats::Histogram {
            count,
            count_rate,
            sum,
            sum_rate,
            avg,
            p50_estimate,
            p90_estimate,
            p95_estimate,
            p99_estimate,
            buckets,
        } => {
            let b: Map<String, Value> = buckets
                .iter()
                .map(|(le, c)| (le_text(*le), num(Some(*c))))
                .collect();
            (
                json!({"count": num(Some(*count)), "count_rate": num(*count_rate),
                       "sum": num(Some(*sum)), "sum_rate": num(*sum_rate), "avg": num(*avg),
                       "p50_estimate": num(*p50_estimate), "p90_estimate": num(*p90_estimate),
                       "p95_estimate": num(*p95_estimate), "p99_estimate": num(*p99_estimate)}),
                Some(Value::Object(b)),
            )
        }
        SeriesStats::Summary {
            quantiles,
            count,
            sum,
        } => {
            let q: Map<String, Value> = quantiles
                .iter()
                .map(|(q, v)| (format!("{q}"), num(Some(*v))))
                .collect();
            (
                json!({"count": num(Some(*count)), "sum": num(Some(*sum)), "quantiles": q}),
                None,
            )
        }
    }
}

/// `0.5`, `+Inf`, as Prometheus writes `le`.
fn le_text(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".into()
    } else {
        format!("{le}")
    }
}

impl ServerMetricsReport<'_> {
    pub fn render_json(&self) -> String {
        let mut info = Map::new();
        for e in &self.endpoints {
            let mut m = json!({"total_fetches": e.fetches, "failed_fetches": e.failed_fetches,
                               "avg_fetch_latency_ms": num(e.avg_fetch_latency_ms)});
            if let Some(d) = &e.dropped {
                m["dropped"] = Value::from(d.clone());
            }
            info.insert(e.url.clone(), m);
        }
        // Metric name -> its type, help, unit and every endpoint's series.
        let mut metrics: BTreeMap<String, Value> = BTreeMap::new();
        for e in &self.endpoints {
            for m in &e.metrics {
                let entry = metrics.entry(m.name.clone()).or_insert_with(|| {
                    json!({"type": kind_name(m.kind), "description": m.help, "unit": m.unit,
                           "series": []})
                });
                for s in &m.series {
                    let labels: Map<String, Value> = s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                        .collect();
                    let (stats, buckets) = stats_json(&s.stats);
                    let mut series =
                        json!({"endpoint_url": e.url, "labels": labels, "stats": stats});
                    if let Some(b) = buckets {
                        series["buckets"] = b;
                    }
                    if let Some(arr) = entry["series"].as_array_mut() {
                        arr.push(series);
                    }
                }
            }
        }
        let doc = json!({
            "schema_version": "1.1",
            "aiperf_version": env!("CARGO_PKG_VERSION"),
            "benchmark_id": self.benchmark_id,
            "summary": {
                "endpoints_configured": self.endpoints_configured,
                "endpoints_successful": self.endpoints.len(),
                "window_start_ns": self.window_ns.0,
                "window_end_ns": self.window_ns.1,
                "endpoint_info": info,
            },
            "metrics": metrics,
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// Three sections (gauges, counters, histograms) as AIPerf lays them out, labels as
    /// `name=value;...`, then summaries.
    pub fn render_csv(&self) -> String {
        let mut out = format!(
            "# aiperf_version {}\n# schema_version 1.0\n# benchmark_id {}\n",
            env!("CARGO_PKG_VERSION"),
            self.benchmark_id
        );
        let cell = |v: Option<f64>| {
            v.and_then(finite)
                .map_or(String::new(), |v| format!("{v:.6}"))
        };
        let mut gauges = String::from(
            "Endpoint,Type,Metric,Unit,avg,min,max,std,p50,p90,p95,p99,Labels,Description\n",
        );
        let mut counters =
            String::from("Endpoint,Type,Metric,Unit,total,rate,Labels,Description\n");
        let mut histograms = String::from(
            "Endpoint,Type,Metric,Unit,count,count_rate,sum,sum_rate,avg,p50_estimate,p90_estimate,p95_estimate,p99_estimate,Labels,Description,buckets\n",
        );
        for e in &self.endpoints {
            for m in &e.metrics {
                let unit = m.unit.clone().unwrap_or_default();
                let help = csv_field(m.help.as_deref().unwrap_or(""));
                for s in &m.series {
                    let labels = csv_field(
                        &s.labels
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(";"),
                    );
                    let head = format!(
                        "{},{},{},{}",
                        csv_field(&e.url),
                        kind_name(m.kind),
                        csv_field(&m.name),
                        csv_field(&unit)
                    );
                    match &s.stats {
                        SeriesStats::Gauge {
                            avg,
                            min,
                            max,
                            std,
                            p50,
                            p90,
                            p95,
                            p99,
                            ..
                        } => {
                            let v: Vec<String> = [avg, min, max, std, p50, p90, p95, p99]
                                .iter()
                                .map(|x| cell(Some(**x)))
                                .collect();
                            let _ = writeln!(gauges, "{head},{},{labels},{help}", v.join(","));
                        }
                        SeriesStats::Counter { total, rate } => {
                            let _ = writeln!(
                                counters,
                                "{head},{},{},{labels},{help}",
                                cell(Some(*total)),
                                cell(*rate)
                            );
                        }
                        SeriesStats::Histogram {
                            count,
                            count_rate,
                            sum,
                            sum_rate,
                            avg,
                            p50_estimate,
                            p90_estimate,
                            p95_estimate,
                            p99_estimate,
                            buckets,
                        } => {
                            let b: Vec<String> = buckets
                                .iter()
                                .map(|(le, c)| format!("{}={c}", le_text(*le)))
                                .collect();
                            let v = [
                                cell(Some(*count)),
                                cell(*count_rate),
                                cell(Some(*sum)),
                                cell(*sum_rate),
                                cell(*avg),
                                cell(*p50_estimate),
                                cell(*p90_estimate),
                                cell(*p95_estimate),
                                cell(*p99_estimate),
                            ];
                            let _ = writeln!(
                                histograms,
                                "{head},{},{labels},{help},{}",
                                v.join(","),
                                csv_field(&b.join(";"))
                            );
                        }
                        SeriesStats::Summary { .. } => {}
                    }
                }
            }
        }
        for section in [gauges, counters, histograms] {
            out.push('\n');
            out.push_str(&section);
        }
        out
    }

    /// Writes the files `formats` asks for into `dir`; each is tried on its own.
    pub fn write(&self, dir: &Path, json_file: bool, csv_file: bool) -> Vec<ExportError> {
        let mut failures = Vec::new();
        if json_file {
            failures.extend(
                write_atomic(&dir.join(SERVER_METRICS_JSON_FILE), &self.render_json()).err(),
            );
        }
        if csv_file {
            failures
                .extend(write_atomic(&dir.join(SERVER_METRICS_CSV_FILE), &self.render_csv()).err());
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_telemetry::{aggregate, parse, Scrape};

    fn report() -> ServerMetricsReport<'static> {
        let page = |reqs: u32, running: u32, b1: u32, b2: u32| {
            parse(&format!(
                "# HELP vllm:request_success_total Requests answered.\n\
                 # TYPE vllm:request_success_total counter\n\
                 vllm:request_success_total{{model_name=\"m\"}} {reqs}\n\
                 # TYPE vllm:num_requests_running gauge\n\
                 vllm:num_requests_running{{model_name=\"m\"}} {running}\n\
                 # TYPE vllm:time_to_first_token_seconds histogram\n\
                 vllm:time_to_first_token_seconds_bucket{{le=\"0.1\"}} {b1}\n\
                 vllm:time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {b2}\n\
                 vllm:time_to_first_token_seconds_sum 1.5\n\
                 vllm:time_to_first_token_seconds_count {b2}\n"
            ))
            .unwrap()
        };
        let s = |t: u64, p| Scrape { t_ns: t, page: p };
        // Baseline at 0 s, the window from 1 s to 3 s.
        let scrapes = [
            s(0, page(5, 0, 1, 1)),
            s(1_000_000_000, page(5, 2, 1, 1)),
            s(2_000_000_000, page(9, 4, 3, 4)),
            s(3_000_000_000, page(15, 0, 6, 11)),
        ];
        ServerMetricsReport {
            benchmark_id: "abc",
            endpoints_configured: 2,
            endpoints: vec![EndpointMetrics {
                url: "http://h:1/metrics".into(),
                fetches: 4,
                failed_fetches: 0,
                avg_fetch_latency_ms: Some(1.0),
                dropped: None,
                metrics: aggregate(&scrapes, 1_000_000_000, 3_000_000_000),
            }],
            window_ns: (1_000_000_000, 3_000_000_000),
        }
    }

    #[test]
    fn json_has_aiperf_s_shape_and_hand_worked_values() {
        let v: Value = serde_json::from_str(&report().render_json()).unwrap();
        assert_eq!(v["schema_version"], "1.1");
        assert_eq!(v["summary"]["endpoints_configured"], 2);
        assert_eq!(v["summary"]["endpoints_successful"], 1);
        // Counter: 15 - 5 over the 2 s from the baseline at 1 s to the last scrape at 3 s.
        let c = &v["metrics"]["vllm:request_success"];
        assert_eq!(c["type"], "counter");
        assert_eq!(c["series"][0]["stats"]["total"], 10.0);
        assert_eq!(c["series"][0]["stats"]["rate"], 5.0);
        assert_eq!(c["series"][0]["labels"]["model_name"], "m");
        // Gauge over the scrapes at 1, 2 and 3 s: 2, 4, 0.
        let g = &v["metrics"]["vllm:num_requests_running"]["series"][0]["stats"];
        assert_eq!(
            (g["avg"].as_f64(), g["max"].as_f64()),
            (Some(2.0), Some(4.0))
        );
        // Histogram: count 11 - 1 = 10 (+Inf bucket 10, le 0.1 bucket 5).
        let h = &v["metrics"]["vllm:time_to_first_token_seconds"]["series"][0];
        assert_eq!(h["stats"]["count"], 10.0);
        assert_eq!(h["buckets"]["0.1"], 5.0);
        assert_eq!(h["buckets"]["+Inf"], 10.0);
    }

    #[test]
    fn csv_has_a_section_per_kind() {
        let csv = report().render_csv();
        assert!(csv.starts_with("# aiperf_version "));
        assert!(csv.contains(
            "\nEndpoint,Type,Metric,Unit,avg,min,max,std,p50,p90,p95,p99,Labels,Description\n"
        ));
        assert!(csv.contains("http://h:1/metrics,counter,vllm:request_success,,10.000000,5.000000,model_name=m,Requests answered.\n"), "{csv}");
        assert!(csv.contains("0.1=5;+Inf=10"), "{csv}");
    }
}
