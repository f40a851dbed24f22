//! Charts of one run from its per-request records, timeslices, server scrapes and GPU
//! samples, all on one time axis: seconds since the first request started
//! (docs/design/plots.md §2.2-2.3).

use serde_json::Value;

use crate::artifacts::{GpuSample, Outcome, Record, RunFiles, Scrape};
use crate::calc::{self, Generation};
use crate::chart::{Axis, Chart, Mark, Role, Series, STATS};
use crate::summary::Results;

/// Per-request charts draw at most this many points per series; beyond it every k-th request
/// is drawn (failed requests are always kept) and the caption says so.
pub const MAX_POINTS: usize = 50_000;
/// Rolling-percentile lines keep at most this many of their points.
pub const MAX_LINE_POINTS: usize = 2_000;
/// The request timeline draws at most this many rows.
pub const MAX_TIMELINE_ROWS: usize = 5_000;

/// Everything read from one run directory.
pub struct RunData {
    pub records: Vec<Record>,
    pub timeslices: Option<Value>,
    pub gpu: Vec<GpuSample>,
    pub scrapes: Vec<Scrape>,
    /// Things the reader should know about the files (unreadable lines).
    pub notes: Vec<String>,
}

impl RunData {
    /// Reads the run's optional files; a missing file is an empty source, a damaged one a note.
    pub fn load(files: &RunFiles) -> RunData {
        let mut notes = Vec::new();
        let mut records = Vec::new();
        match &files.records {
            Some(path) => match crate::artifacts::read_jsonl::<Record>(path) {
                Ok(lines) => {
                    notes.extend(lines.note("per-request records"));
                    records = lines.items;
                }
                Err(e) => notes.push(e.to_string()),
            },
            None => notes.push(format!(
                "{}: no per-request records (profile_export.jsonl): only summary charts",
                files.dir.display()
            )),
        }
        let timeslices = files.timeslices().and_then(|p| {
            crate::artifacts::read_json(&p)
                .map_err(|e| notes.push(e.to_string()))
                .ok()
        });
        let gpu = files
            .gpu_telemetry()
            .map_or_else(Vec::new, |p| read_lines(&p, "GPU telemetry", &mut notes));
        let scrapes = files
            .server_metrics()
            .map_or_else(Vec::new, |p| read_lines(&p, "server metrics", &mut notes));
        RunData {
            records,
            timeslices,
            gpu,
            scrapes,
            notes,
        }
    }

    /// The time origin: the earliest request start (ns since the epoch).
    pub fn t0(&self) -> Option<u64> {
        self.records
            .iter()
            .map(|r| r.metadata.request_start_ns)
            .min()
    }
}

fn read_lines<T: for<'de> serde::Deserialize<'de>>(
    path: &std::path::Path,
    what: &str,
    notes: &mut Vec<String>,
) -> Vec<T> {
    match crate::artifacts::read_jsonl::<T>(path) {
        Ok(lines) => {
            notes.extend(lines.note(what));
            lines.items
        }
        Err(e) => {
            notes.push(e.to_string());
            Vec::new()
        }
    }
}

/// Seconds from `t0` to `ns`.
fn secs(ns: u64, t0: u64) -> f64 {
    (ns as f64 - t0 as f64) / 1e9
}

/// All single-run charts, in the order the report shows them.
pub fn charts(data: &RunData, results: &Results) -> Vec<Chart> {
    let Some(t0) = data.t0() else {
        let why =
            "no per-request records: the run sent no request, or profile_export.jsonl is missing";
        return vec![Chart::absent("requests", "Requests", why)];
    };
    let mut out = vec![
        over_time(
            data,
            t0,
            "ttft_over_time",
            "Time to First Token over time",
            "TTFT (ms)",
            |r| r.metrics.time_to_first_token.map(|s| s.value),
        ),
        over_time(
            data,
            t0,
            "itl_over_time",
            "Inter-Token Latency over time",
            "ITL (ms)",
            |r| r.metrics.inter_token_latency.map(|s| s.value),
        ),
        over_time(
            data,
            t0,
            "latency_over_time",
            "Request Latency over time",
            "latency (ms)",
            |r| r.metrics.request_latency.map(|s| s.value),
        ),
        throughput(data, t0),
        timeline(data, t0),
        distribution(
            data,
            results,
            "ttft_distribution",
            "Time to First Token distribution",
            "time_to_first_token",
            "TTFT (ms)",
            |r| r.metrics.time_to_first_token.map(|s| s.value),
        ),
        distribution(
            data,
            results,
            "itl_distribution",
            "Inter-Token Latency distribution",
            "inter_token_latency",
            "ITL (ms)",
            |r| r.metrics.inter_token_latency.map(|s| s.value),
        ),
        errors_over_time(data, t0, results.slice_duration()),
    ];
    out.extend(timeslice_charts(data, results, t0));
    out.extend(server_charts(data, t0));
    out.extend(gpu_charts(data, t0));
    out
}

/// End time of a request in seconds, if it ended.
fn end_s(r: &Record, t0: u64) -> Option<f64> {
    r.metadata.request_end_ns.map(|e| secs(e, t0))
}

/// A per-request metric by end time: the points, and rolling p50/p90/p99 lines.
fn over_time(
    data: &RunData,
    t0: u64,
    id: &str,
    title: &str,
    y_label: &str,
    value: impl Fn(&Record) -> Option<f64>,
) -> Chart {
    let mut points: Vec<(f64, f64)> = data
        .records
        .iter()
        .filter(|r| r.outcome() == Outcome::Ok)
        .filter_map(|r| Some((end_s(r, t0)?, value(r)?)))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if points.is_empty() {
        return Chart::absent(
            id,
            title,
            "no successful request has this metric (non-streaming runs have no TTFT or ITL)",
        );
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut chart = Chart::new(
        id,
        title,
        Axis::linear("time since the first request (s)"),
        Axis::linear(y_label),
    );
    let keep = calc::decimate_indices(points.len(), MAX_POINTS);
    if keep.len() < points.len() {
        chart.caption = Some(format!(
            "{} of {} requests drawn (every {}th); the percentile lines use all",
            keep.len(),
            points.len(),
            points.len().div_ceil(MAX_POINTS)
        ));
    }
    chart.series.push(
        Series::new(
            "requests",
            Mark::Scatter,
            keep.iter().map(|&i| points[i].0).collect(),
            keep.iter().map(|&i| points[i].1).collect(),
        )
        .role(Role::Ok),
    );
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let window = calc::rolling_window(points.len());
    let rolled = calc::rolling_percentiles(&ys, window, &[50.0, 90.0, 99.0]);
    // A line needs far fewer points than the cloud it summarises.
    let along = calc::decimate_indices(points.len(), MAX_LINE_POINTS);
    for (p, column) in [50, 90, 99].iter().zip(rolled) {
        chart.series.push(Series::new(
            format!("rolling p{p} ({window} requests)"),
            Mark::Line,
            along.iter().map(|&i| points[i].0).collect(),
            along.iter().map(|&i| column[i]).collect(),
        ));
    }
    chart
}

/// AIPerf's dispersed output-token throughput with the number of requests generating.
fn throughput(data: &RunData, t0: u64) -> Chart {
    let id = "dispersed_throughput_over_time";
    let title = "Output token throughput over time";
    let Some(steps) = throughput_steps(data, t0) else {
        return Chart::absent(
            id,
            title,
            "no request produced output tokens with known start and end times",
        );
    };
    let mut chart = Chart::new(
        id,
        title,
        Axis::linear("time since the first request (s)"),
        Axis::linear("output tokens/s"),
    );
    chart.y2 = Some(Axis::linear("requests generating"));
    chart.caption = Some(match steps.resampled {
        Some(w) => format!("each request's output tokens spread evenly from its first token to its end (AIPerf's dispersed throughput), averaged over {} s steps (totals kept)", crate::report_data::round_significant(w, 3)),
        None => "each request's output tokens spread evenly from its first token to its end (AIPerf's dispersed throughput)".into(),
    });
    let (x, y): (Vec<f64>, Vec<f64>) = steps.tokens.into_iter().unzip();
    chart
        .series
        .push(Series::new("output tokens/s", Mark::Area, x, y).role(Role::Ok));
    let (x, y): (Vec<f64>, Vec<f64>) = steps.active.into_iter().unzip();
    chart
        .series
        .push(Series::new("requests generating", Mark::Step, x, y).right());
    chart
}

/// Steps a throughput chart draws; a long run's thousands of steps are averaged over equal
/// time steps (area kept), or the chart is noise and the report megabytes.
pub const MAX_STEPS: usize = 2_000;

/// The dispersed-throughput step functions of a run, ready to draw.
struct ThroughputSteps {
    tokens: Vec<(f64, f64)>,
    active: Vec<(f64, f64)>,
    /// The step width when averaged.
    resampled: Option<f64>,
}

fn throughput_steps(data: &RunData, t0: u64) -> Option<ThroughputSteps> {
    let steps = calc::dispersed_throughput(&generations(data, t0));
    if steps.is_empty() {
        return None;
    }
    let tokens: Vec<(f64, f64)> = steps.iter().map(|s| (s.0, s.1)).collect();
    let active: Vec<(f64, f64)> = steps.iter().map(|s| (s.0, s.2)).collect();
    let resampled = (steps.len() > MAX_STEPS).then(|| {
        let (first, last) = (steps[0].0, steps[steps.len() - 1].0);
        (last - first) / (MAX_STEPS - 1) as f64
    });
    Some(ThroughputSteps {
        tokens: calc::resample_step(&tokens, MAX_STEPS),
        active: calc::resample_step(&active, MAX_STEPS),
        resampled,
    })
}

fn generations(data: &RunData, t0: u64) -> Vec<Generation> {
    data.records
        .iter()
        .filter_map(|r| {
            Some(Generation {
                start: secs(r.metadata.request_start_ns, t0),
                ttft: r.metrics.time_to_first_token.map(|s| s.value / 1000.0),
                end: end_s(r, t0)?,
                output_tokens: r.metrics.output_sequence_length?.value,
            })
        })
        .collect()
}

/// A timeline lane: name, colour, span starts, span ends, rows.
type Lane = (&'static str, Role, Vec<f64>, Vec<f64>, Vec<f64>);

/// One row per request sorted by start: waiting to be sent, prefill, decode; failed and
/// cancelled requests in their own colours.
fn timeline(data: &RunData, t0: u64) -> Chart {
    let id = "request_timeline";
    let title = "Request timeline";
    let mut reqs: Vec<&Record> = data
        .records
        .iter()
        .filter(|r| r.metadata.request_end_ns.is_some())
        .collect();
    if reqs.is_empty() {
        return Chart::absent(id, title, "no request has an end time");
    }
    reqs.sort_by_key(|r| r.metadata.request_start_ns);
    let keep = calc::decimate_indices(reqs.len(), MAX_TIMELINE_ROWS);
    let mut chart = Chart::new(
        id,
        title,
        Axis::linear("time since the first request (s)"),
        Axis::linear("request (by start)"),
    );
    if keep.len() < reqs.len() {
        chart.caption = Some(format!(
            "{} of {} requests drawn (every {}th)",
            keep.len(),
            reqs.len(),
            reqs.len().div_ceil(MAX_TIMELINE_ROWS)
        ));
    }
    let mut lanes: [Lane; 5] = [
        ("waiting to send", Role::Reference, vec![], vec![], vec![]),
        (
            "prefill (to first token)",
            Role::Palette,
            vec![],
            vec![],
            vec![],
        ),
        ("decode", Role::Ok, vec![], vec![], vec![]),
        ("failed", Role::Error, vec![], vec![], vec![]),
        ("cancelled", Role::Cancelled, vec![], vec![], vec![]),
    ];
    let mut push = |lane: usize, row: f64, from: f64, to: f64| {
        if to >= from && from.is_finite() && to.is_finite() {
            lanes[lane].2.push(from);
            lanes[lane].3.push(to);
            lanes[lane].4.push(row);
        }
    };
    for &i in &keep {
        let r = reqs[i];
        // The request's rank among all, so the axis counts requests even when thinned.
        let row = i as f64;
        let start = secs(r.metadata.request_start_ns, t0);
        let Some(end) = end_s(r, t0) else { continue };
        let scheduled = r.metadata.intended_send_ns.or(r.metadata.credit_issued_ns);
        if let Some(s) = scheduled.filter(|s| *s < r.metadata.request_start_ns) {
            push(0, row, secs(s, t0), start);
        }
        match r.outcome() {
            Outcome::Error => push(3, row, start, end),
            Outcome::Cancelled => push(4, row, start, end),
            Outcome::Ok => match r.metrics.time_to_first_token {
                Some(ttft) if start + ttft.value / 1000.0 <= end => {
                    let first = start + ttft.value / 1000.0;
                    push(1, row, start, first);
                    push(2, row, first, end);
                }
                _ => push(2, row, start, end),
            },
        }
    }
    for (name, role, from, to, rows) in lanes {
        if !from.is_empty() {
            chart.series.push(
                Series::new(name, Mark::Spans, from, rows)
                    .ends(to)
                    .role(role),
            );
        }
    }
    chart
}

/// A histogram of a per-request metric with the summary's p50/p90/p99 marked.
fn distribution(
    data: &RunData,
    results: &Results,
    id: &str,
    title: &str,
    tag: &str,
    x_label: &str,
    value: impl Fn(&Record) -> Option<f64>,
) -> Chart {
    let values: Vec<f64> = data
        .records
        .iter()
        .filter(|r| r.outcome() == Outcome::Ok)
        .filter_map(&value)
        .collect();
    let (centres, counts, width) = calc::histogram(&values, 40);
    if centres.is_empty() {
        return Chart::absent(id, title, "no successful request has this metric");
    }
    let top = counts.iter().copied().fold(0.0, f64::max);
    let mut chart = Chart::new(id, title, Axis::linear(x_label), Axis::linear("requests"));
    chart.series.push(
        Series::new("requests", Mark::Bars, centres, counts)
            .width(width)
            .role(Role::Ok),
    );
    let marks: Vec<(String, f64)> = ["p50", "p90", "p99"]
        .iter()
        .filter_map(|p| Some((p.to_string(), results.estimate(tag, p)?.value)))
        .collect();
    if !marks.is_empty() {
        chart.series.push(
            Series::new(
                "percentiles (summary)",
                Mark::Marker,
                marks.iter().map(|m| m.1).collect(),
                vec![top; marks.len()],
            )
            .labels(marks.into_iter().map(|m| m.0).collect())
            .role(Role::Knee),
        );
    }
    chart
}

/// Failed requests per time bucket, one series per error type.
fn errors_over_time(data: &RunData, t0: u64, slice: Option<f64>) -> Chart {
    let id = "errors_over_time";
    let title = "Errors over time";
    let duration = data
        .records
        .iter()
        .filter_map(|r| end_s(r, t0))
        .fold(0.0, f64::max);
    let mut by_kind: Vec<(String, Vec<f64>)> = Vec::new();
    for r in data.records.iter().filter(|r| r.outcome() != Outcome::Ok) {
        let Some(t) = end_s(r, t0) else { continue };
        let kind = match (r.outcome(), r.error.as_ref()) {
            (Outcome::Cancelled, _) => "cancelled",
            (_, Some(e)) if !e.kind.is_empty() => e.kind.as_str(),
            _ => "error",
        };
        match by_kind.iter_mut().find(|(k, _)| k == kind) {
            Some((_, ts)) => ts.push(t),
            None => by_kind.push((kind.to_string(), vec![t])),
        }
    }
    if by_kind.is_empty() {
        return Chart::absent(id, title, "no request failed or was cancelled");
    }
    let width = calc::bucket_width(duration, slice, 120);
    let mut chart = Chart::new(
        id,
        title,
        Axis::linear("time since the first request (s)"),
        Axis::linear(format!("failed requests per {width} s")),
    );
    for (kind, ts) in by_kind {
        let counts = calc::bucket_counts(&ts, width, duration.max(width));
        let xs = (0..counts.len())
            .map(|i| (i as f64 + 0.5) * width)
            .collect();
        chart
            .series
            .push(Series::new(kind, Mark::Bars, xs, counts).width(width));
    }
    if let Some(first) = chart.series.first_mut() {
        first.role = Role::Error;
    }
    chart
}

/// Metrics with a timeslice chart: AIPerf's four plus output token throughput.
const TIMESLICE_METRICS: [(&str, &str, &str); 5] = [
    (
        "time_to_first_token",
        "Time to First Token per timeslice",
        "TTFT (ms)",
    ),
    (
        "inter_token_latency",
        "Inter-Token Latency per timeslice",
        "ITL (ms)",
    ),
    (
        "request_latency",
        "Request Latency per timeslice",
        "latency (ms)",
    ),
    (
        "request_throughput",
        "Request throughput per timeslice",
        "requests/s",
    ),
    (
        "output_token_throughput",
        "Output token throughput per timeslice",
        "tokens/s",
    ),
];

/// Per-timeslice statistics (`--slice-duration`): one line per statistic (the report switches
/// between them), the avg ± std band, and the run's overall value.
fn timeslice_charts(data: &RunData, results: &Results, t0: u64) -> Vec<Chart> {
    let Some(slices) = data
        .timeslices
        .as_ref()
        .and_then(|t| t.get("timeslices"))
        .and_then(Value::as_array)
    else {
        return vec![Chart::absent(
            "timeslices",
            "Timeslices",
            "the run had no --slice-duration, so there are no per-timeslice statistics",
        )];
    };
    let mids: Vec<Option<f64>> = slices
        .iter()
        .map(|s| {
            let start = s.get("start_ns")?.as_u64()?;
            let end = s.get("end_ns")?.as_u64()?;
            Some((secs(start, t0) + secs(end, t0)) / 2.0)
        })
        .collect();
    let mut out = Vec::new();
    for (tag, title, label) in TIMESLICE_METRICS {
        let id = format!("timeslices_{tag}");
        let column = |stat: &str| -> (Vec<f64>, Vec<f64>) {
            slices
                .iter()
                .zip(&mids)
                .filter_map(|(s, m)| Some((((*m)?), s.get(tag)?.get(stat)?.as_f64()?)))
                .unzip()
        };
        let (xs, avg) = column("avg");
        if xs.is_empty() {
            continue;
        }
        let mut chart = Chart::new(
            &id,
            title,
            Axis::linear("time since the first request (s)"),
            Axis::linear(label),
        );
        // A rate per slice (requests/s) has one value, not a distribution: it is drawn
        // whatever statistic the report shows.
        let percentiles: Vec<(&str, Vec<f64>, Vec<f64>)> = STATS
            .iter()
            .filter(|s| **s != "avg")
            .map(|s| {
                let (x, y) = column(s);
                (*s, x, y)
            })
            .filter(|(_, x, _)| !x.is_empty())
            .collect();
        let per_stat = !percentiles.is_empty();
        let tag_stat =
            |series: Series, stat: &str| if per_stat { series.stat(stat) } else { series };
        let (sx, std) = column("std");
        if sx.len() == xs.len() {
            let low = avg.iter().zip(&std).map(|(a, s)| a - s).collect();
            let high = avg.iter().zip(&std).map(|(a, s)| a + s).collect();
            chart.series.push(tag_stat(
                Series::new("avg ± std", Mark::Band, xs.clone(), avg.clone()).y_range(low, high),
                "avg",
            ));
        } else {
            let name = if per_stat { "avg" } else { "per timeslice" };
            chart.series.push(tag_stat(
                Series::new(name, Mark::Line, xs.clone(), avg),
                "avg",
            ));
        }
        for (stat, x, y) in percentiles {
            chart
                .series
                .push(Series::new(stat, Mark::Line, x, y).stat(stat));
        }
        let overall_stats: &[&str] = if per_stat { &STATS } else { &["avg"] };
        for stat in overall_stats {
            if let (Some(overall), Some(first), Some(last)) =
                (results.estimate(tag, stat), xs.first(), xs.last())
            {
                let name = if per_stat {
                    format!("whole run {stat}")
                } else {
                    "whole run".to_string()
                };
                chart.series.push(tag_stat(
                    Series::new(
                        name,
                        Mark::Line,
                        vec![*first, *last],
                        vec![overall.value; 2],
                    )
                    .role(Role::Reference),
                    stat,
                ));
            }
        }
        out.push(chart);
    }
    out
}

/// Server metrics worth a chart, by what they mean, with the names each server uses.
const SERVER_GAUGES: [(&str, &str, &[&str]); 3] = [
    (
        "server_running_requests",
        "Requests running on the server",
        &[
            "vllm:num_requests_running",
            "sglang:num_running_reqs",
            "trtllm_num_requests_running",
            "dynamo_frontend_inflight_requests",
        ],
    ),
    (
        "server_waiting_requests",
        "Requests waiting on the server",
        &[
            "vllm:num_requests_waiting",
            "sglang:num_queue_reqs",
            "trtllm_num_requests_waiting",
            "dynamo_frontend_queued_requests",
            "nv_inference_pending_request_count",
        ],
    ),
    (
        "server_kv_cache_usage",
        "KV-cache usage",
        &[
            "vllm:kv_cache_usage_perc",
            "vllm:gpu_cache_usage_perc",
            "sglang:token_usage",
            "trtllm_kv_cache_utilization",
            "dynamo_component_kvstats_gpu_cache_usage_percent",
        ],
    ),
];

/// Server gauges over time, one line per endpoint and label set.
fn server_charts(data: &RunData, t0: u64) -> Vec<Chart> {
    if data.scrapes.is_empty() {
        return vec![Chart::absent("server_metrics", "Server metrics", "no per-scrape server metrics in this run (they are recorded with --server-metrics-formats jsonl)")];
    }
    let mut out = Vec::new();
    for (id, title, names) in SERVER_GAUGES {
        let Some(name) = names
            .iter()
            .find(|n| data.scrapes.iter().any(|s| s.metrics.contains_key(**n)))
        else {
            continue;
        };
        let mut lines: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
        for scrape in &data.scrapes {
            let t = secs(scrape.timestamp_ns, t0);
            for sample in scrape
                .metrics
                .get(*name)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(v) = sample.get("value").and_then(Value::as_f64) else {
                    continue;
                };
                let key = format!(
                    "{} {}",
                    scrape.endpoint_url,
                    labels_text(sample.get("labels"))
                );
                match lines.iter_mut().find(|l| l.0 == key) {
                    Some(l) => {
                        l.1.push(t);
                        l.2.push(v);
                    }
                    None => lines.push((key, vec![t], vec![v])),
                }
            }
        }
        let mut chart = Chart::new(
            id,
            &format!("{title} ({name})"),
            Axis::linear("time since the first request (s)"),
            Axis::linear(*name),
        );
        for (key, xs, ys) in lines {
            chart
                .series
                .push(Series::new(key.trim(), Mark::Line, xs, ys));
        }
        out.push(chart);
    }
    if out.is_empty() {
        out.push(Chart::absent("server_metrics", "Server metrics", "the server's metrics have none of the running/waiting/KV-cache gauges aiperf recognises (vLLM, SGLang, TensorRT-LLM, Dynamo, Triton)"));
    }
    out
}

fn labels_text(labels: Option<&Value>) -> String {
    let Some(obj) = labels.and_then(Value::as_object) else {
        return String::new();
    };
    let parts: Vec<String> = obj
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// GPU telemetry fields with a chart: (chart id, title, axis, DCGM field, AMD field).
const GPU_FIELDS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "gpu_utilization",
        "GPU utilisation",
        "utilisation (%)",
        "nvidia_gpu_utilization",
        "amd_gfx_activity",
    ),
    (
        "gpu_power",
        "GPU power",
        "power (W)",
        "nvidia_power_usage",
        "amd_power_usage",
    ),
    (
        "gpu_memory_used",
        "GPU memory used",
        "memory used (GB)",
        "nvidia_memory_used",
        "amd_memory_used",
    ),
];

/// GPU samples over time, one line per GPU, and AIPerf's throughput-with-utilisation chart.
fn gpu_charts(data: &RunData, t0: u64) -> Vec<Chart> {
    if data.gpu.is_empty() {
        return vec![Chart::absent(
            "gpu_telemetry",
            "GPU telemetry",
            "no GPU telemetry in this run (no DCGM exporter answered, or --no-gpu-telemetry)",
        )];
    }
    let mut out = Vec::new();
    for (id, title, label, nvidia, amd) in GPU_FIELDS {
        let lines = gpu_lines(&data.gpu, t0, &[nvidia, amd]);
        if lines.is_empty() {
            continue;
        }
        let mut chart = Chart::new(
            id,
            title,
            Axis::linear("time since the first request (s)"),
            Axis::linear(label),
        );
        for (name, xs, ys) in lines {
            chart.series.push(Series::new(name, Mark::Line, xs, ys));
        }
        out.push(chart);
    }
    let util = gpu_mean(
        &data.gpu,
        t0,
        &[
            "nvidia_gpu_utilization",
            "amd_gfx_activity",
            "gpu_utilization",
        ],
    );
    if let Some(steps) = throughput_steps(data, t0).filter(|_| !util.0.is_empty()) {
        let mut chart = Chart::new(
            "gpu_utilization_and_throughput_over_time",
            "Output token throughput and GPU utilisation",
            Axis::linear("time since the first request (s)"),
            Axis::linear("output tokens/s"),
        );
        chart.y2 = Some(Axis::linear("mean GPU utilisation (%)"));
        chart.series.push(
            Series::new(
                "output tokens/s",
                Mark::Area,
                steps.tokens.iter().map(|s| s.0).collect(),
                steps.tokens.iter().map(|s| s.1).collect(),
            )
            .role(Role::Ok),
        );
        chart
            .series
            .push(Series::new("mean GPU utilisation", Mark::Line, util.0, util.1).right());
        out.push(chart);
    }
    out
}

/// Per GPU (by URL and index), the first of `fields` present: (name, t, value).
fn gpu_lines(samples: &[GpuSample], t0: u64, fields: &[&str]) -> Vec<(String, Vec<f64>, Vec<f64>)> {
    let mut lines: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for s in samples {
        let Some(v) = fields
            .iter()
            .find_map(|f| s.telemetry_data.get(*f).and_then(Value::as_f64))
        else {
            continue;
        };
        let name = format!(
            "GPU {}{}",
            s.gpu_index
                .map_or_else(|| s.gpu_uuid.clone(), |i| i.to_string()),
            host_suffix(&s.telemetry_source_url)
        );
        let t = secs(s.timestamp_ns, t0);
        match lines.iter_mut().find(|l| l.0 == name) {
            Some(l) => {
                l.1.push(t);
                l.2.push(v);
            }
            None => lines.push((name, vec![t], vec![v])),
        }
    }
    lines
}

/// " @host:port" for telemetry from a named exporter, to tell GPUs of two machines apart.
fn host_suffix(url: &str) -> String {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or("");
    if host.is_empty() {
        String::new()
    } else {
        format!(" @{host}")
    }
}

/// Mean over GPUs per sample time (AIPerf's grouping by timestamp).
fn gpu_mean(samples: &[GpuSample], t0: u64, fields: &[&str]) -> (Vec<f64>, Vec<f64>) {
    let mut by_time: std::collections::BTreeMap<u64, (f64, f64)> = Default::default();
    for s in samples {
        let Some(v) = fields
            .iter()
            .find_map(|f| s.telemetry_data.get(*f).and_then(Value::as_f64))
        else {
            continue;
        };
        let e = by_time.entry(s.timestamp_ns).or_insert((0.0, 0.0));
        e.0 += v;
        e.1 += 1.0;
    }
    by_time
        .iter()
        .map(|(t, (sum, n))| (secs(*t, t0), sum / n))
        .unzip()
}
