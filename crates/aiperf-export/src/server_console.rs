//! The console's server-metrics section: the few numbers users look at first (queue depth,
//! KV-cache use, prefix-cache hits, preemptions) found under each server's own names, and the
//! server's own latency histograms next to the client's. The gap between them is what the
//! network, the HTTP stack and the client add.

use aiperf_metrics::{MetricValue, Summary};
use aiperf_telemetry::aggregate::histogram_quantile;
use aiperf_telemetry::{MetricSummary, SeriesStats};

use crate::console::{format_number, table};
use crate::server_metrics::{EndpointMetrics, ServerMetricsReport};

/// How several labelled series of one state metric combine.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Combine {
    /// Counts of things (requests running): series add up.
    Sum,
    /// Fractions (cache usage): series average; shown as a percentage.
    MeanPercent,
}

/// A state metric under its names in vLLM, SGLang, TensorRT-LLM, Dynamo and Triton.
struct StateMetric {
    label: &'static str,
    names: &'static [&'static str],
    combine: Combine,
}

const STATE: [StateMetric; 4] = [
    StateMetric {
        label: "Running requests",
        names: &[
            "vllm:num_requests_running",
            "sglang:num_running_reqs",
            "trtllm_num_requests_running",
            "dynamo_frontend_inflight_requests",
        ],
        combine: Combine::Sum,
    },
    StateMetric {
        label: "Waiting requests",
        names: &[
            "vllm:num_requests_waiting",
            "sglang:num_queue_reqs",
            "trtllm_num_requests_waiting",
            "dynamo_frontend_queued_requests",
            "nv_inference_pending_request_count",
        ],
        combine: Combine::Sum,
    },
    StateMetric {
        label: "KV-cache usage (%)",
        names: &[
            "vllm:kv_cache_usage_perc",
            "vllm:gpu_cache_usage_perc",
            "sglang:token_usage",
            "trtllm_kv_cache_utilization",
            "dynamo_component_kvstats_gpu_cache_usage_percent",
        ],
        combine: Combine::MeanPercent,
    },
    StateMetric {
        label: "Prefix-cache hit rate (%)",
        names: &["sglang:cache_hit_rate", "trtllm_kv_cache_hit_rate"],
        combine: Combine::MeanPercent,
    },
];

/// vLLM reports prefix-cache hits as two counters; their ratio over the window is the rate.
const HIT_COUNTERS: [(&str, &str); 1] = [("vllm:prefix_cache_hits", "vllm:prefix_cache_queries")];

/// Counters shown as their increase over the window (names without `_total`).
const COUNTS: [(&str, &[&str]); 2] = [
    (
        "Preemptions",
        &["vllm:num_preemptions", "sglang:num_retracted_reqs"],
    ),
    (
        "Requests completed",
        &[
            "vllm:request_success",
            "sglang:num_requests",
            "trtllm_request_success",
            "dynamo_frontend_requests",
            "nv_inference_request_success",
        ],
    ),
];

/// A latency the server measures itself, and the client metric it corresponds to.
struct Latency {
    label: &'static str,
    /// Histograms in seconds.
    names: &'static [&'static str],
    client_tag: Option<&'static str>,
}

const LATENCIES: [Latency; 4] = [
    Latency {
        label: "Time to First Token",
        names: &[
            "vllm:time_to_first_token_seconds",
            "sglang:time_to_first_token_seconds",
            "trtllm_time_to_first_token_seconds",
            "dynamo_frontend_time_to_first_token_seconds",
        ],
        client_tag: Some("time_to_first_token"),
    },
    Latency {
        label: "Inter Token Latency",
        names: &[
            "vllm:inter_token_latency_seconds",
            "vllm:time_per_output_token_seconds",
            "sglang:inter_token_latency_seconds",
            "sglang:time_per_output_token_seconds",
            "trtllm_time_per_output_token_seconds",
            "dynamo_frontend_inter_token_latency_seconds",
        ],
        client_tag: Some("inter_token_latency"),
    },
    Latency {
        label: "Request Latency",
        names: &[
            "vllm:e2e_request_latency_seconds",
            "sglang:e2e_request_latency_seconds",
            "trtllm_e2e_request_latency_seconds",
            "dynamo_frontend_request_duration_seconds",
        ],
        client_tag: Some("request_latency"),
    },
    Latency {
        label: "Queue Time",
        names: &[
            "vllm:request_queue_time_seconds",
            "sglang:queue_time_seconds",
            "trtllm_request_queue_time_seconds",
        ],
        client_tag: None,
    },
];

/// Triton reports latencies as cumulative microsecond counters over a success counter.
const TRITON_LATENCIES: [(&str, &str); 2] = [
    ("Request Latency", "nv_inference_request_duration_us"),
    ("Queue Time", "nv_inference_queue_duration_us"),
];
const TRITON_SUCCESS: &str = "nv_inference_request_success";

/// A server-side latency over the window, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerLatency {
    pub avg_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

fn metric<'a>(e: &'a EndpointMetrics, names: &[&str]) -> Option<&'a MetricSummary> {
    names
        .iter()
        .find_map(|n| e.metrics.iter().find(|m| m.name == *n))
}

/// `(avg, max)` of a gauge combined over its series.
fn state_value(m: &MetricSummary, combine: Combine) -> Option<(f64, f64)> {
    let pairs: Vec<(f64, f64)> = m
        .series
        .iter()
        .filter_map(|s| match s.stats {
            SeriesStats::Gauge { avg, max, .. } => Some((avg, max)),
            _ => None,
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let (avg, max) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, m), (x, y)| (a + x, m + y));
    Some(match combine {
        Combine::Sum => (avg, max),
        Combine::MeanPercent => {
            let n = pairs.len() as f64;
            (avg / n * 100.0, max / n * 100.0)
        }
    })
}

/// A counter's increase over the window, summed over its series.
fn counter_total(m: &MetricSummary) -> Option<f64> {
    let totals: Vec<f64> = m
        .series
        .iter()
        .filter_map(|s| match s.stats {
            SeriesStats::Counter { total, .. } => Some(total),
            _ => None,
        })
        .collect();
    (!totals.is_empty()).then(|| totals.iter().sum())
}

/// A histogram in milliseconds: the average from `_sum / _count`; the percentiles are
/// AIPerf's estimates for a single series (in-bucket means learned from the scrapes), and
/// for several series, merged by bucket bound, Prometheus' linear interpolation.
pub fn histogram_latency_ms(m: &MetricSummary) -> Option<ServerLatency> {
    if let [only] = m.series.as_slice() {
        if let SeriesStats::Histogram {
            count,
            avg,
            estimates: Some(p),
            ..
        } = &only.stats
        {
            // `p` is p1, p5, p10, p25, p50, p75, p90, p95, p99.
            return (*count > 0).then(|| ServerLatency {
                avg_ms: avg.map(|a| a * 1e3),
                p50_ms: Some(p[4] * 1e3),
                p99_ms: Some(p[8] * 1e3),
            });
        }
    }
    let mut count = 0.0;
    let mut sum = 0.0;
    let mut has_sum = true;
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for s in &m.series {
        if let SeriesStats::Histogram {
            count: c,
            sum: s_sum,
            avg,
            buckets: b,
            ..
        } = &s.stats
        {
            count += *c as f64;
            sum += s_sum.unwrap_or(0.0);
            has_sum &= avg.is_some() || *c == 0;
            for bucket in b.iter().flatten() {
                let (le, n) = (bucket.upper, bucket.count as f64);
                match buckets.iter_mut().find(|(l, _)| *l == le) {
                    Some((_, acc)) => *acc += n,
                    None => buckets.push((le, n)),
                }
            }
        }
    }
    if count <= 0.0 {
        return None;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ms = |v: Option<f64>| v.map(|s| s * 1e3);
    Some(ServerLatency {
        avg_ms: has_sum.then_some(sum / count * 1e3),
        p50_ms: ms(histogram_quantile(0.5, &buckets)),
        p99_ms: ms(histogram_quantile(0.99, &buckets)),
    })
}

/// Triton's average from its microsecond total over its success count.
fn triton_latency_ms(e: &EndpointMetrics, total_us: &str) -> Option<ServerLatency> {
    let total = counter_total(metric(e, &[total_us])?)?;
    let n = counter_total(metric(e, &[TRITON_SUCCESS])?)?;
    (n > 0.0).then_some(ServerLatency {
        avg_ms: Some(total / n / 1e3),
        p50_ms: None,
        p99_ms: None,
    })
}

/// The client's side of a latency row, in its display unit (ms for latencies).
#[derive(Debug, Clone, Copy, PartialEq)]
struct ClientLatency {
    avg: f64,
    p50: Option<f64>,
    p99: Option<f64>,
}

fn client_latency(summary: &Summary, tag: &str) -> Option<ClientLatency> {
    let (avg, p50, p99) = match &summary.get(tag)?.value {
        MetricValue::Distribution(s) => (s.avg, s.percentile("p50"), s.percentile("p99")),
        MetricValue::Weighted(w) => (w.avg, Some(w.p50), Some(w.p99)),
        MetricValue::Scalar(v) => (*v, None, None),
    };
    Some(ClientLatency { avg, p50, p99 })
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "N/A".to_string(), format_number)
}

/// The server-state rows of one endpoint: `(label, avg, max, increase over the window)`.
fn state_rows(e: &EndpointMetrics) -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    for s in &STATE {
        if let Some((avg, max)) = metric(e, s.names).and_then(|m| state_value(m, s.combine)) {
            rows.push([
                s.label.to_string(),
                format_number(avg),
                format_number(max),
                "N/A".into(),
            ]);
        }
    }
    for (hits, queries) in HIT_COUNTERS {
        let h = metric(e, &[hits]).and_then(counter_total);
        let q = metric(e, &[queries]).and_then(counter_total);
        if let (Some(h), Some(q)) = (h, q) {
            let rate = (q > 0.0).then(|| h / q * 100.0);
            rows.push([
                "Prefix-cache hit rate (%)".to_string(),
                cell(rate),
                "N/A".into(),
                "N/A".into(),
            ]);
        }
    }
    for (label, names) in COUNTS {
        if let Some(total) = metric(e, names).and_then(counter_total) {
            rows.push([
                label.to_string(),
                "N/A".into(),
                "N/A".into(),
                format_number(total),
            ]);
        }
    }
    rows
}

/// `(label, server, client)` latency rows of one endpoint.
fn latency_rows(
    e: &EndpointMetrics,
    summary: &Summary,
) -> Vec<(&'static str, ServerLatency, Option<ClientLatency>)> {
    let mut rows = Vec::new();
    for l in &LATENCIES {
        if let Some(server) = metric(e, l.names).and_then(histogram_latency_ms) {
            let client = l.client_tag.and_then(|t| client_latency(summary, t));
            rows.push((l.label, server, client));
        }
    }
    for (label, total_us) in TRITON_LATENCIES {
        if rows.iter().any(|(l, _, _)| *l == label) {
            continue;
        }
        if let Some(server) = triton_latency_ms(e, total_us) {
            let client = (label == "Request Latency")
                .then(|| client_latency(summary, "request_latency"))
                .flatten();
            rows.push((label, server, client));
        }
    }
    rows
}

fn gap(client: Option<f64>, server: Option<f64>) -> Option<f64> {
    Some(client? - server?)
}

/// The section for every endpoint whose page has a metric we recognise; empty otherwise.
pub fn render(report: &ServerMetricsReport, summary: &Summary, width: u16) -> String {
    let mut out = String::new();
    for e in &report.endpoints {
        let state = state_rows(e);
        if !state.is_empty() {
            let mut t = table(width, &["Metric", "avg", "max", "total"]);
            for r in state {
                t.add_row(r.to_vec());
            }
            out.push_str(&format!("NVIDIA AIPerf | Server Metrics | {}\n", e.url));
            out.push_str(&t.to_string());
            out.push_str("\n\n");
        }
        let lat = latency_rows(e, summary);
        if !lat.is_empty() {
            let mut t = table(
                width,
                &[
                    "Metric (ms)",
                    "server avg",
                    "client avg",
                    "gap avg",
                    "server p50",
                    "client p50",
                    "server p99",
                    "client p99",
                ],
            );
            for (label, s, c) in lat {
                let (c_avg, c_p50, c_p99) = match c {
                    Some(c) => (Some(c.avg), c.p50, c.p99),
                    None => (None, None, None),
                };
                t.add_row(vec![
                    label.to_string(),
                    cell(s.avg_ms),
                    cell(c_avg),
                    cell(gap(c_avg, s.avg_ms)),
                    cell(s.p50_ms),
                    cell(c_p50),
                    cell(s.p99_ms),
                    cell(c_p99),
                ]);
            }
            out.push_str(&format!(
                "NVIDIA AIPerf | Server vs Client Latency | {}\n",
                e.url
            ));
            out.push_str(&t.to_string());
            out.push_str(
                "\nThe gap is what the network, the HTTP stack and the client add to what the server measured; server percentiles are estimated from histogram buckets.\n\n",
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_telemetry::{aggregate, parse, Scrape};

    fn endpoint(pages: &[String]) -> EndpointMetrics {
        let scrapes: Vec<Scrape> = pages
            .iter()
            .enumerate()
            .map(|(i, p)| Scrape {
                t_ns: i as u64 * 1_000_000_000,
                page: parse(p).unwrap(),
            })
            .collect();
        let end = (pages.len() as u64 - 1) * 1_000_000_000;
        EndpointMetrics {
            url: "http://h:1/metrics".into(),
            fetches: pages.len() as u64,
            failed_fetches: 0,
            avg_fetch_latency_ms: None,
            updates: Default::default(),
            dropped: None,
            metrics: aggregate(&scrapes, 0, end),
        }
    }

    fn vllm(running: u32, usage: f64, hits: u32, queries: u32, b: [u32; 3], sum: f64) -> String {
        format!(
            "# TYPE vllm:num_requests_running gauge\n\
             vllm:num_requests_running{{model_name=\"a\"}} {running}\n\
             vllm:num_requests_running{{model_name=\"b\"}} 1\n\
             # TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc {usage}\n\
             # TYPE vllm:prefix_cache_hits_total counter\nvllm:prefix_cache_hits_total {hits}\n\
             # TYPE vllm:prefix_cache_queries_total counter\nvllm:prefix_cache_queries_total {queries}\n\
             # TYPE vllm:time_to_first_token_seconds histogram\n\
             vllm:time_to_first_token_seconds_bucket{{le=\"0.01\"}} {}\n\
             vllm:time_to_first_token_seconds_bucket{{le=\"0.02\"}} {}\n\
             vllm:time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {}\n\
             vllm:time_to_first_token_seconds_sum {sum}\n\
             vllm:time_to_first_token_seconds_count {}\n",
            b[0], b[1], b[2], b[2]
        )
    }

    #[test]
    fn vllm_state_is_found_and_combined_by_hand_worked_rules() {
        let e = endpoint(&[
            vllm(2, 0.1, 0, 0, [0, 0, 0], 0.0),
            vllm(4, 0.3, 40, 100, [0, 0, 0], 0.0),
        ]);
        let rows = state_rows(&e);
        // Running: series a averages (2+4)/2 = 3, series b 1: 4 in all; max 4 + 1 = 5.
        assert_eq!(rows[0], ["Running requests", "4.00", "5.00", "N/A"]);
        // KV usage: (0.1+0.3)/2 = 0.2 -> 20 %, max 30 %.
        assert_eq!(rows[1], ["KV-cache usage (%)", "20.00", "30.00", "N/A"]);
        // Hits 40 of 100 queries over the window.
        assert_eq!(
            rows[2],
            ["Prefix-cache hit rate (%)", "40.00", "N/A", "N/A"]
        );
    }

    fn ttft_page(series: &[(&str, [u32; 3], f64)]) -> String {
        let mut p = String::from("# TYPE vllm:time_to_first_token_seconds histogram\n");
        for (model, b, sum) in series {
            let l = format!("model_name=\"{model}\"");
            p.push_str(&format!(
                "vllm:time_to_first_token_seconds_bucket{{{l},le=\"0.01\"}} {}\n\
                 vllm:time_to_first_token_seconds_bucket{{{l},le=\"0.02\"}} {}\n\
                 vllm:time_to_first_token_seconds_bucket{{{l},le=\"+Inf\"}} {}\n\
                 vllm:time_to_first_token_seconds_sum{{{l}}} {sum}\n\
                 vllm:time_to_first_token_seconds_count{{{l}}} {}\n",
                b[0], b[1], b[2], b[2]
            ));
        }
        p
    }

    #[test]
    fn several_series_are_merged_by_bound_and_interpolated() {
        // Two models, each 2 observations at or under 10 ms and 2 more at or under 20 ms,
        // 0.06 s: merged, 4 + 4 observations and 0.12 s.
        let e = endpoint(&[
            ttft_page(&[("a", [0, 0, 0], 0.0), ("b", [0, 0, 0], 0.0)]),
            ttft_page(&[("a", [2, 4, 4], 0.06), ("b", [2, 4, 4], 0.06)]),
        ]);
        let l = histogram_latency_ms(metric(&e, LATENCIES[0].names).unwrap()).unwrap();
        // avg = 0.12 s / 8 = 15 ms.
        assert!((l.avg_ms.unwrap() - 15.0).abs() < 1e-9);
        // p50: rank 4 of 8 is the top of the first bucket: 10 ms.
        assert!((l.p50_ms.unwrap() - 10.0).abs() < 1e-9);
        // p99: rank 7.92, the second bucket (4 from rank 4 to 8) interpolated: 10 + 10*3.92/4.
        assert!((l.p99_ms.unwrap() - 19.8).abs() < 1e-9);
    }

    #[test]
    fn a_single_series_uses_aiperf_s_estimates() {
        // 8 observations that sum to exactly 0 s (a queue nobody waited in): AIPerf's
        // estimator says 0; interpolating inside the first bucket would say 5 ms.
        let e = endpoint(&[
            ttft_page(&[("a", [0, 0, 0], 0.0)]),
            ttft_page(&[("a", [8, 8, 8], 0.0)]),
        ]);
        let l = histogram_latency_ms(metric(&e, LATENCIES[0].names).unwrap()).unwrap();
        assert_eq!(
            (l.avg_ms, l.p50_ms, l.p99_ms),
            (Some(0.0), Some(0.0), Some(0.0))
        );
    }

    #[test]
    fn triton_average_latency_is_total_microseconds_over_successes() {
        let page = |us: u64, n: u64| {
            format!(
                "# TYPE nv_inference_request_duration_us counter\nnv_inference_request_duration_us {us}\n\
                 # TYPE nv_inference_request_success counter\nnv_inference_request_success {n}\n"
            )
        };
        let e = endpoint(&[page(1_000, 1), page(41_000, 5)]);
        // 40,000 us over 4 requests: 10 ms.
        let l = triton_latency_ms(&e, "nv_inference_request_duration_us").unwrap();
        assert_eq!(l.avg_ms, Some(10.0));
        assert_eq!(
            state_rows(&e)[0],
            ["Requests completed", "N/A", "N/A", "4.00"]
        );
    }

    #[test]
    fn unknown_pages_print_nothing() {
        let e = endpoint(&["# TYPE x gauge\nx 1\n".into(), "x 2\n".into()]);
        let r = ServerMetricsReport {
            benchmark_id: "b".into(),
            endpoints_configured: vec!["http://h:1/metrics".into()],
            start_time: String::new(),
            end_time: String::new(),
            input_config: None,
            endpoints: vec![e],
            window_ns: (0, 1),
        };
        assert_eq!(render(&r, &Summary::default(), 120), "");
    }
}
