//! `server_metrics_export.json` and `.csv`: what each server's Prometheus page said over the
//! profiling window, per metric and label set, with AIPerf 0.13's keys and columns
//! (`aiperf/server_metrics/json_exporter.py`, `csv_exporter.py`, spec §8.1); and
//! `server_metrics_export.jsonl`, every scrape as one line in AIPerf's slim record format.
//!
//! JSON `metrics`: `{name: {type, description, unit?, series: [{endpoint_url, labels?, stats,
//! buckets?, timeslices?}]}}`, metrics sorted by name, series by endpoint then labels; keys
//! that AIPerf leaves out when empty (`None`) are left out. `stats` per type: gauge (and
//! `unknown`) `avg, min, max, std, p1..p99`; counter `total, rate[, rate_avg, rate_min,
//! rate_max, rate_std]`; histogram `count[, sum, avg, count_rate, sum_rate,
//! p1_estimate..p99_estimate]` with `count` and the bucket counts as integers.
//!
//! CSV: six comment lines, then one section per type (gauge, counter, histogram, unknown) with
//! the header `Endpoint,Type,Metric,Unit,<stats>,<one column per label>,Description[,buckets]`
//! and, last, the `_info` gauges transposed (`Endpoint,Metric,Key,Value,Description`).
//! Sections are separated by an empty row; rows end in CRLF as Python's `csv` writes them,
//! the comment lines in LF. Integers are written as such, other numbers with 4 decimals.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use aiperf_telemetry::aggregate::{Bucket, PERCENTILE_LABELS};
use aiperf_telemetry::{MetricSummary, MetricType, Scrape, SeriesStats};
use serde_json::{json, Map, Value};

use crate::aggregate::csv_field;
use crate::json::finite;
use crate::{write_atomic, ExportError};

pub const SERVER_METRICS_JSON_FILE: &str = "server_metrics_export.json";
pub const SERVER_METRICS_CSV_FILE: &str = "server_metrics_export.csv";
pub const SERVER_METRICS_JSONL_FILE: &str = "server_metrics_export.jsonl";

/// One endpoint's fetch statistics and aggregated metrics.
#[derive(Debug, Clone)]
pub struct EndpointMetrics {
    pub url: String,
    pub fetches: u64,
    pub failed_fetches: u64,
    pub avg_fetch_latency_ms: Option<f64>,
    /// When pages were read and when they changed (AIPerf's `endpoint_info`).
    pub updates: UpdateStats,
    /// Why the endpoint stopped being read early, if it did.
    pub dropped: Option<String>,
    pub metrics: Vec<MetricSummary>,
}

/// When an endpoint's pages were read and when they changed: AIPerf's `endpoint_info`
/// timing fields (a page identical to the one before is a fetch, not an update).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateStats {
    /// Wall-clock ns of the first and last page read.
    pub first_fetch_ns: u64,
    pub last_fetch_ns: u64,
    /// Wall-clock ns of every page that differed from the one before (the first counts).
    pub update_times: Vec<u64>,
}

impl UpdateStats {
    /// From the pages read, oldest first.
    pub fn of(scrapes: &[Scrape]) -> Self {
        let mut previous = None;
        let mut update_times = Vec::new();
        for s in scrapes {
            if previous != Some(&s.page) {
                update_times.push(s.t_ns);
            }
            previous = Some(&s.page);
        }
        UpdateStats {
            first_fetch_ns: scrapes.first().map_or(0, |s| s.t_ns),
            last_fetch_ns: scrapes.last().map_or(0, |s| s.t_ns),
            update_times,
        }
    }

    fn json(&self) -> Map<String, Value> {
        let first = self.update_times.first().copied().unwrap_or(0);
        let last = self.update_times.last().copied().unwrap_or(0);
        let mut gaps: Vec<f64> = self
            .update_times
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]) as f64 / 1e6)
            .collect();
        let avg = if gaps.is_empty() {
            0.0
        } else {
            gaps.iter().sum::<f64>() / gaps.len() as f64
        };
        let mut m = Map::new();
        m.insert("first_fetch_ns".into(), Value::from(self.first_fetch_ns));
        m.insert("last_fetch_ns".into(), Value::from(self.last_fetch_ns));
        m.insert(
            "unique_updates".into(),
            Value::from(self.update_times.len()),
        );
        m.insert("first_update_ns".into(), Value::from(first));
        m.insert("last_update_ns".into(), Value::from(last));
        let span_s = last.saturating_sub(first) as f64 / 1e9;
        m.insert("duration_seconds".into(), num(Some(span_s)));
        m.insert("avg_update_interval_ms".into(), num(Some(avg)));
        if gaps.len() >= 2 {
            gaps.sort_by(f64::total_cmp);
            let mid = gaps.len() / 2;
            let median = if gaps.len().is_multiple_of(2) {
                (gaps[mid - 1] + gaps[mid]) / 2.0
            } else {
                gaps[mid]
            };
            m.insert("median_update_interval_ms".into(), num(Some(median)));
        }
        m
    }
}

/// What the files are made of.
#[derive(Debug, Clone)]
pub struct ServerMetricsReport {
    pub benchmark_id: String,
    /// Every endpoint tried (answering or not), by URL.
    pub endpoints_configured: Vec<String>,
    /// ISO-8601 local times of the window (AIPerf's `start_time` / `end_time`).
    pub start_time: String,
    pub end_time: String,
    /// The run's `input_config` echo, as in the summary JSON.
    pub input_config: Option<Value>,
    pub endpoints: Vec<EndpointMetrics>,
    /// The profiling window on the run clock (ns).
    pub window_ns: (u64, u64),
}

/// AIPerf's `PrometheusMetricType` value.
fn kind_name(k: MetricType) -> &'static str {
    match k {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::Summary => "summary",
        MetricType::Untyped => "unknown",
    }
}

fn num(v: Option<f64>) -> Value {
    v.and_then(finite).map_or(Value::Null, Value::from)
}

/// Inserts `key: v` when `v` is present (AIPerf dumps with `exclude_none`).
fn put(m: &mut Map<String, Value>, key: &str, v: Option<f64>) {
    if let Some(v) = v {
        m.insert(key.to_string(), num(Some(v)));
    }
}

fn buckets_json(buckets: &[Bucket]) -> Value {
    Value::Object(
        buckets
            .iter()
            .map(|b| (b.le.clone(), Value::from(b.count)))
            .collect(),
    )
}

/// Start, end and (only when `false`) `is_complete`, the fields every timeslice begins with.
fn slice_head(start_ns: u64, end_ns: u64, is_complete: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("start_ns".into(), Value::from(start_ns));
    m.insert("end_ns".into(), Value::from(end_ns));
    if !is_complete {
        m.insert("is_complete".into(), Value::from(false));
    }
    m
}

/// A series' `timeslices` array: each slice's bounds (`slice_head`) and then its statistics.
fn slices_json<T>(
    slices: &Option<Vec<T>>,
    bounds: impl Fn(&T) -> (u64, u64, bool),
    fill: impl Fn(&T, &mut Map<String, Value>),
) -> Option<Value> {
    slices.as_ref().map(|t| {
        Value::Array(
            t.iter()
                .map(|t| {
                    let (start, end, complete) = bounds(t);
                    let mut o = slice_head(start, end, complete);
                    fill(t, &mut o);
                    Value::Object(o)
                })
                .collect(),
        )
    })
}

/// `(stats, buckets, timeslices)` of one series.
fn stats_json(s: &SeriesStats) -> (Value, Option<Value>, Option<Value>) {
    let mut m = Map::new();
    match s {
        SeriesStats::Gauge {
            avg,
            min,
            max,
            std,
            percentiles,
            timeslices,
            ..
        } => {
            for (k, v) in [("avg", avg), ("min", min), ("max", max), ("std", std)] {
                put(&mut m, k, Some(*v));
            }
            for (k, v) in PERCENTILE_LABELS.iter().zip(percentiles) {
                put(&mut m, k, Some(*v));
            }
            let slices = slices_json(
                timeslices,
                |t| (t.start_ns, t.end_ns, t.is_complete),
                |t, o| {
                    put(o, "avg", Some(t.avg));
                    put(o, "min", Some(t.min));
                    put(o, "max", Some(t.max));
                },
            );
            (Value::Object(m), None, slices)
        }
        SeriesStats::Counter {
            total,
            rate,
            rate_avg,
            rate_min,
            rate_max,
            rate_std,
            timeslices,
        } => {
            put(&mut m, "total", Some(*total));
            put(&mut m, "rate", Some(*rate));
            put(&mut m, "rate_avg", *rate_avg);
            put(&mut m, "rate_min", *rate_min);
            put(&mut m, "rate_max", *rate_max);
            put(&mut m, "rate_std", *rate_std);
            let slices = slices_json(
                timeslices,
                |t| (t.start_ns, t.end_ns, t.is_complete),
                |t, o| {
                    put(o, "total", Some(t.total));
                    put(o, "rate", Some(t.rate));
                },
            );
            (Value::Object(m), None, slices)
        }
        SeriesStats::Histogram {
            count,
            sum,
            avg,
            count_rate,
            sum_rate,
            estimates,
            buckets,
            timeslices,
        } => {
            m.insert("count".into(), Value::from(*count));
            put(&mut m, "sum", *sum);
            put(&mut m, "avg", *avg);
            put(&mut m, "count_rate", *count_rate);
            put(&mut m, "sum_rate", *sum_rate);
            if let Some(e) = estimates {
                for (k, v) in PERCENTILE_LABELS.iter().zip(e) {
                    put(&mut m, &format!("{k}_estimate"), Some(*v));
                }
            }
            let slices = slices_json(
                timeslices,
                |t| (t.start_ns, t.end_ns, t.is_complete),
                |t, o| {
                    o.insert("count".into(), Value::from(t.count));
                    put(o, "sum", Some(t.sum));
                    put(o, "avg", Some(t.avg));
                    if let Some(b) = &t.buckets {
                        o.insert("buckets".into(), buckets_json(b));
                    }
                },
            );
            (
                Value::Object(m),
                buckets.as_deref().map(buckets_json),
                slices,
            )
        }
    }
}

/// `le` text for the JSONL records: `0.5`, `+Inf`.
fn le_text(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".into()
    } else {
        format!("{le}")
    }
}

/// Python's `repr()` of a `str`.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str(labels)` of AIPerf's labels dict (keys sorted), `""` for no labels: its sort key.
fn labels_sort_key(labels: &[(String, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let items: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_str_repr(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// AIPerf's `normalize_endpoint_display`: host:port plus the path without `/metrics`.
fn endpoint_display(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (netloc, tail) = rest.split_at(end);
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let path = &tail[..path_end];
    let path = path.strip_suffix("/metrics").unwrap_or(path);
    format!("{netloc}{path}")
}

/// A CSV number as AIPerf formats it: 4 decimals (`nan`/`inf` as Python writes them).
fn csv_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v:.4}")
    }
}

/// One CSV row (fields quoted as Python's `csv` does) ending in CRLF.
fn csv_row(out: &mut String, fields: &[String]) {
    let cells: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// The stat cells of one series, in the order of its section's header.
fn stat_cells(s: &SeriesStats) -> Vec<String> {
    let f = |v: Option<f64>| v.map_or(String::new(), csv_float);
    match s {
        SeriesStats::Gauge {
            avg,
            min,
            max,
            std,
            percentiles,
            ..
        } => [*avg, *min, *max, *std]
            .iter()
            .chain(percentiles)
            .map(|v| csv_float(*v))
            .collect(),
        SeriesStats::Counter {
            total,
            rate,
            rate_avg,
            rate_min,
            rate_max,
            rate_std,
            ..
        } => vec![
            csv_float(*total),
            csv_float(*rate),
            f(*rate_avg),
            f(*rate_min),
            f(*rate_max),
            f(*rate_std),
        ],
        SeriesStats::Histogram {
            count,
            sum,
            avg,
            count_rate,
            sum_rate,
            estimates,
            ..
        } => {
            let mut v = vec![
                count.to_string(),
                f(*count_rate),
                f(*sum),
                f(*sum_rate),
                f(*avg),
            ];
            match estimates {
                Some(e) => v.extend(e.iter().map(|x| csv_float(*x))),
                None => v.extend(std::iter::repeat_n(String::new(), 9)),
            }
            v
        }
    }
}

/// A series' JSON with its sort key (endpoint URL, Python `str()` of its labels).
type SortedSeries = (String, String, Value);

/// One series as a CSV row candidate.
struct CsvSeries<'a> {
    endpoint: String,
    metric: &'a MetricSummary,
    labels: &'a [(String, String)],
    stats: &'a SeriesStats,
}

impl CsvSeries<'_> {
    fn is_info(&self) -> bool {
        self.metric.name.ends_with("_info")
    }
}

/// AIPerf's label-column order: labels that occur together form families (union-find over
/// each row's sorted labels); families by their smallest label, within one the labels of a
/// single row first, then those shared by several rows, each group sorted.
fn label_column_order(rows: &[CsvSeries]) -> Vec<String> {
    let label_sets: Vec<BTreeSet<&str>> = rows
        .iter()
        .filter(|r| !r.is_info() && !r.labels.is_empty())
        .map(|r| r.labels.iter().map(|(k, _)| k.as_str()).collect())
        .collect();
    let all: BTreeSet<&str> = label_sets.iter().flatten().copied().collect();
    if all.is_empty() {
        return Vec::new();
    }
    let mut parent: BTreeMap<&str, &str> = all.iter().map(|l| (*l, *l)).collect();
    fn find<'a>(parent: &BTreeMap<&'a str, &'a str>, mut x: &'a str) -> &'a str {
        while parent[x] != x {
            x = parent[x];
        }
        x
    }
    for set in &label_sets {
        let sorted: Vec<&str> = set.iter().copied().collect();
        for pair in sorted.windows(2) {
            let (ra, rb) = (find(&parent, pair[0]), find(&parent, pair[1]));
            parent.insert(rb, ra);
        }
    }
    let mut families: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in &all {
        families.entry(find(&parent, l)).or_default().push(l);
    }
    let bridge = |l: &str| label_sets.iter().filter(|s| s.contains(l)).count() > 1;
    let mut families: Vec<Vec<&str>> = families.into_values().collect();
    families.sort_by_key(|f| f.iter().min().copied());
    let mut out = Vec::new();
    for family in families {
        let (mut shared, mut own): (Vec<&str>, Vec<&str>) =
            family.into_iter().partition(|l| bridge(l));
        own.sort_unstable();
        shared.sort_unstable();
        out.extend(own.into_iter().chain(shared).map(str::to_string));
    }
    out
}

impl ServerMetricsReport {
    pub fn render_json(&self) -> String {
        let mut info = Map::new();
        for e in &self.endpoints {
            let mut m = Map::new();
            m.insert("total_fetches".into(), Value::from(e.fetches));
            m.insert("failed_fetches".into(), Value::from(e.failed_fetches));
            m.insert("avg_fetch_latency_ms".into(), num(e.avg_fetch_latency_ms));
            m.extend(e.updates.json());
            if let Some(d) = &e.dropped {
                m.insert("dropped".into(), Value::from(d.clone()));
            }
            info.insert(e.url.clone(), Value::Object(m));
        }
        // Metric name -> its type, description, unit and every endpoint's series.
        let mut metrics: BTreeMap<String, (Map<String, Value>, Vec<SortedSeries>)> =
            BTreeMap::new();
        for e in &self.endpoints {
            for m in &e.metrics {
                let entry = metrics.entry(m.name.clone()).or_insert_with(|| {
                    let mut head = Map::new();
                    head.insert("type".into(), Value::from(kind_name(m.kind)));
                    head.insert(
                        "description".into(),
                        Value::from(m.help.clone().unwrap_or_default()),
                    );
                    if let Some(u) = &m.unit {
                        head.insert("unit".into(), Value::from(u.clone()));
                    }
                    (head, Vec::new())
                });
                for s in &m.series {
                    let mut series = Map::new();
                    series.insert("endpoint_url".into(), Value::from(e.url.clone()));
                    if !s.labels.is_empty() {
                        let labels: Map<String, Value> = s
                            .labels
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                            .collect();
                        series.insert("labels".into(), Value::Object(labels));
                    }
                    let (stats, buckets, timeslices) = stats_json(&s.stats);
                    series.insert("stats".into(), stats);
                    if let Some(b) = buckets {
                        series.insert("buckets".into(), b);
                    }
                    if let Some(t) = timeslices {
                        series.insert("timeslices".into(), t);
                    }
                    entry.1.push((
                        e.url.clone(),
                        labels_sort_key(&s.labels),
                        Value::Object(series),
                    ));
                }
            }
        }
        let metrics: Map<String, Value> = metrics
            .into_iter()
            .map(|(name, (mut head, mut series))| {
                series.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
                head.insert(
                    "series".into(),
                    Value::Array(series.into_iter().map(|s| s.2).collect()),
                );
                (name, Value::Object(head))
            })
            .collect();
        let successful: Vec<&str> = self.endpoints.iter().map(|e| e.url.as_str()).collect();
        let mut doc = json!({
            "schema_version": "1.1",
            "aiperf_version": env!("CARGO_PKG_VERSION"),
            "benchmark_id": self.benchmark_id,
            "summary": {
                "endpoints_configured": self.endpoints_configured,
                "endpoints_successful": successful,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "endpoint_info": info,
                "phase_time_ranges": {
                    "profiling": {"start_ns": self.window_ns.0, "end_ns": self.window_ns.1},
                },
            },
            "metrics_phase": "profiling",
            "metrics": metrics,
        });
        if let Some(c) = &self.input_config {
            doc["input_config"] = c.clone();
        }
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// AIPerf's CSV layout (see the module docs).
    pub fn render_csv(&self) -> String {
        let mut out = format!(
            "# AIPerf Server Metrics Export (CSV)\n# aiperf_version: {}\n# schema_version: 1.0\n\
             # benchmark_id: {}\n\
             # Note: Same benchmark_id and version appear in JSON and Parquet exports\n#\n",
            env!("CARGO_PKG_VERSION"),
            self.benchmark_id
        );
        let mut by_kind: BTreeMap<u8, Vec<CsvSeries>> = BTreeMap::new();
        let mut info: Vec<CsvSeries> = Vec::new();
        for e in &self.endpoints {
            let endpoint = endpoint_display(&e.url);
            for m in &e.metrics {
                let rank = match m.kind {
                    MetricType::Gauge => 0,
                    MetricType::Counter => 1,
                    MetricType::Histogram => 2,
                    MetricType::Untyped => 3,
                    MetricType::Summary => continue,
                };
                for s in &m.series {
                    let row = CsvSeries {
                        endpoint: endpoint.clone(),
                        metric: m,
                        labels: &s.labels,
                        stats: &s.stats,
                    };
                    if rank == 0 && row.is_info() {
                        info.push(row);
                    } else {
                        by_kind.entry(rank).or_default().push(row);
                    }
                }
            }
        }
        let mut first = true;
        for (rank, rows) in by_kind {
            if !first {
                out.push_str("\r\n");
            }
            first = false;
            let (kind, stat_keys): (&str, Vec<String>) = match rank {
                1 => (
                    "counter",
                    [
                        "total", "rate", "rate_avg", "rate_min", "rate_max", "rate_std",
                    ]
                    .map(String::from)
                    .to_vec(),
                ),
                2 => (
                    "histogram",
                    ["count", "count_rate", "sum", "sum_rate", "avg"]
                        .iter()
                        .map(|s| s.to_string())
                        .chain(PERCENTILE_LABELS.iter().map(|p| format!("{p}_estimate")))
                        .collect(),
                ),
                r => (
                    if r == 0 { "gauge" } else { "unknown" },
                    ["avg", "min", "max", "std"]
                        .iter()
                        .chain(PERCENTILE_LABELS.iter())
                        .map(|s| s.to_string())
                        .collect(),
                ),
            };
            write_section(&mut out, kind, &stat_keys, rows);
        }
        if !info.is_empty() {
            if !first {
                out.push_str("\r\n");
            }
            csv_row(
                &mut out,
                &["Endpoint", "Metric", "Key", "Value", "Description"].map(String::from),
            );
            info.sort_by(|a, b| (&a.metric.name, &a.endpoint).cmp(&(&b.metric.name, &b.endpoint)));
            for r in &info {
                // Labels are sorted by key already.
                for (k, v) in r.labels {
                    csv_row(
                        &mut out,
                        &[
                            r.endpoint.clone(),
                            r.metric.name.clone(),
                            k.clone(),
                            v.clone(),
                            r.metric.help.clone().unwrap_or_default(),
                        ],
                    );
                }
            }
        }
        out
    }

    /// Writes the files `formats` asks for into `dir`; each is tried on its own.
    pub fn write(&self, dir: &Path, json_file: bool, csv_file: bool) -> Vec<ExportError> {
        self.write_named(
            dir,
            json_file.then_some(SERVER_METRICS_JSON_FILE),
            csv_file.then_some(SERVER_METRICS_CSV_FILE),
        )
    }

    /// [`Self::write`] under the given file names (`--profile-export-prefix`); `None` skips.
    pub fn write_named(
        &self,
        dir: &Path,
        json_file: Option<&str>,
        csv_file: Option<&str>,
    ) -> Vec<ExportError> {
        let mut failures = Vec::new();
        if let Some(name) = json_file {
            failures.extend(write_atomic(&dir.join(name), &self.render_json()).err());
        }
        if let Some(name) = csv_file {
            failures.extend(write_atomic(&dir.join(name), &self.render_csv()).err());
        }
        failures
    }
}

/// One type's section: header, then the rows clustered by which label columns they fill,
/// then by metric, endpoint and labels.
fn write_section(out: &mut String, kind: &str, stat_keys: &[String], mut rows: Vec<CsvSeries>) {
    let label_cols = label_column_order(&rows);
    let mut header: Vec<String> = ["Endpoint", "Type", "Metric", "Unit"]
        .map(String::from)
        .to_vec();
    header.extend(stat_keys.iter().cloned());
    header.extend(label_cols.iter().cloned());
    header.push("Description".into());
    let histogram = kind == "histogram";
    if histogram {
        header.push("buckets".into());
    }
    csv_row(out, &header);
    let has = |r: &CsvSeries, col: &str| r.labels.iter().any(|(k, _)| k == col);
    let mut keyed: Vec<((String, String, String, String), CsvSeries)> = rows
        .drain(..)
        .map(|r| {
            let pattern: String = label_cols
                .iter()
                .map(|c| if has(&r, c) { '1' } else { '0' })
                .collect();
            let key = (
                pattern,
                r.metric.name.clone(),
                r.endpoint.clone(),
                labels_sort_key(r.labels),
            );
            (key, r)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, r) in keyed {
        let mut row = vec![
            r.endpoint.clone(),
            kind.to_string(),
            r.metric.name.clone(),
            r.metric.unit.clone().unwrap_or_default(),
        ];
        row.extend(stat_cells(r.stats));
        for col in &label_cols {
            let v = if r.is_info() {
                None
            } else {
                r.labels
                    .iter()
                    .find(|(k, _)| k == col)
                    .map(|(_, v)| v.clone())
            };
            row.push(v.unwrap_or_default());
        }
        row.push(r.metric.help.clone().unwrap_or_default());
        if histogram {
            let b = match r.stats {
                SeriesStats::Histogram {
                    buckets: Some(b), ..
                } => b
                    .iter()
                    .map(|b| format!("{}={}", b.le, b.count))
                    .collect::<Vec<_>>()
                    .join(";"),
                _ => String::new(),
            };
            row.push(b);
        }
        csv_row(out, &row);
    }
}

/// One scrape as AIPerf's slim JSONL record: `{endpoint_url, timestamp_ns,
/// endpoint_latency_ns, metrics: {family: [sample]}}`, a sample being `{labels?, value}`,
/// `{labels?, histogram: {le: count}, sum, count}` or `{labels?, summary: {q: value}, sum,
/// count}`; `_info` families left out, as AIPerf keeps them in its metadata.
pub fn render_jsonl_line(url: &str, scrape: &Scrape, latency_ns: u64) -> String {
    let mut metrics = Map::new();
    for f in &scrape.page.families {
        if f.name.ends_with("_info") {
            continue;
        }
        let name = match f.kind {
            MetricType::Counter => f.name.strip_suffix("_total").unwrap_or(&f.name),
            _ => &f.name,
        };
        metrics.insert(name.to_string(), Value::Array(family_samples(f)));
    }
    let line = json!({"endpoint_url": url, "timestamp_ns": scrape.t_ns,
                      "endpoint_latency_ns": latency_ns, "metrics": metrics});
    let mut s = line.to_string();
    s.push('\n');
    s
}

fn labels_json(labels: &[(String, String)]) -> Option<Value> {
    (!labels.is_empty()).then(|| {
        Value::Object(
            labels
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect(),
        )
    })
}

fn with_labels(labels: &[(String, String)], mut sample: Value) -> Value {
    if let Some(l) = labels_json(labels) {
        sample["labels"] = l;
    }
    sample
}

fn family_samples(f: &aiperf_telemetry::Family) -> Vec<Value> {
    match f.kind {
        MetricType::Histogram => f
            .buckets()
            .iter()
            .map(|h| {
                let b: Map<String, Value> = h
                    .buckets
                    .iter()
                    .map(|(le, c)| (le_text(*le), num(Some(*c))))
                    .collect();
                with_labels(
                    &h.labels,
                    json!({"histogram": b, "sum": num(h.sum), "count": num(h.count)}),
                )
            })
            .collect(),
        MetricType::Summary => f
            .summaries()
            .iter()
            .map(|q| {
                let m: Map<String, Value> = q
                    .quantiles
                    .iter()
                    .map(|(q, v)| (format!("{q}"), num(Some(*v))))
                    .collect();
                with_labels(
                    &q.labels,
                    json!({"summary": m, "sum": num(q.sum), "count": num(q.count)}),
                )
            })
            .collect(),
        _ => f
            .samples
            .iter()
            .map(|s| with_labels(&s.labels, json!({"value": num(Some(s.value))})))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_telemetry::{aggregate, parse, Scrape};

    fn report() -> ServerMetricsReport {
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
            benchmark_id: "abc".into(),
            endpoints_configured: vec!["http://h:1/metrics".into(), "http://down:2/metrics".into()],
            start_time: "2026-12-07T08:00:01.000000".into(),
            end_time: "2026-12-07T08:00:03.000000".into(),
            input_config: None,
            endpoints: vec![EndpointMetrics {
                url: "http://h:1/metrics".into(),
                fetches: 4,
                failed_fetches: 0,
                avg_fetch_latency_ms: Some(1.0),
                updates: UpdateStats::of(&scrapes),
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
        assert_eq!(v["metrics_phase"], "profiling");
        assert_eq!(
            v["summary"]["endpoints_configured"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            v["summary"]["endpoints_successful"][0],
            "http://h:1/metrics"
        );
        assert_eq!(
            v["summary"]["phase_time_ranges"]["profiling"]["end_ns"],
            3_000_000_000u64
        );
        // Four distinct pages 1 s apart: 3 intervals of 1,000 ms.
        let info = &v["summary"]["endpoint_info"]["http://h:1/metrics"];
        assert_eq!(info["unique_updates"], 4);
        assert_eq!(info["duration_seconds"], 3.0);
        assert_eq!(info["avg_update_interval_ms"], 1000.0);
        assert_eq!(info["median_update_interval_ms"], 1000.0);
        // Counter: 15 - 5 from the reference (the last scrape before the window, at 0 s)
        // to the last scrape (3 s): 10 over 3 s. Unit as AIPerf infers it from the name.
        let c = &v["metrics"]["vllm:request_success"];
        assert_eq!(c["type"], "counter");
        assert_eq!(c["description"], "Requests answered.");
        assert_eq!(c["unit"], "requests");
        let stats = &c["series"][0]["stats"];
        assert_eq!(keys(stats), ["total", "rate"]);
        assert_eq!(stats["total"], 10.0);
        assert!((stats["rate"].as_f64().unwrap() - 10.0 / 3.0).abs() < 1e-12);
        assert_eq!(c["series"][0]["endpoint_url"], "http://h:1/metrics");
        assert_eq!(c["series"][0]["labels"]["model_name"], "m");
        assert!(c["series"][0].get("timeslices").is_none());
        // Gauge over the scrapes at 1, 2 and 3 s: 2, 4, 0; no HELP -> empty description.
        let g = &v["metrics"]["vllm:num_requests_running"];
        assert_eq!(
            (&g["type"], &g["description"]),
            (&json!("gauge"), &json!(""))
        );
        let gs = &g["series"][0]["stats"];
        assert_eq!(
            keys(gs),
            [
                "avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95",
                "p99"
            ]
        );
        assert_eq!(
            (gs["avg"].as_f64(), gs["max"].as_f64()),
            (Some(2.0), Some(4.0))
        );
        // [0, 2, 4]: p50 2, p25 index 0.5 -> 2 - 2 * 0.5 = 1.
        assert_eq!(
            (gs["p50"].as_f64(), gs["p25"].as_f64()),
            (Some(2.0), Some(1.0))
        );
        // Histogram: count 11 - 1 = 10 (an integer), +Inf bucket 10, le 0.1 bucket 6 - 1 = 5;
        // no labels -> no `labels` key.
        let h = &v["metrics"]["vllm:time_to_first_token_seconds"];
        assert_eq!(h["unit"], "seconds");
        let h = &h["series"][0];
        assert!(h.get("labels").is_none());
        assert_eq!(keys(h), ["endpoint_url", "stats", "buckets"]);
        assert!(h["stats"]["count"].is_u64());
        assert_eq!(h["stats"]["count"], 10);
        let hk = keys(&h["stats"]);
        assert_eq!(
            hk[..6],
            [
                "count",
                "sum",
                "avg",
                "count_rate",
                "sum_rate",
                "p1_estimate"
            ]
        );
        assert_eq!(hk.last().map(String::as_str), Some("p99_estimate"));
        assert_eq!(keys(&h["buckets"]), ["0.1", "+Inf"]);
        assert_eq!(h["buckets"]["0.1"], 5);
        assert_eq!(h["buckets"]["+Inf"], 10);
    }

    fn keys(v: &Value) -> Vec<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn json_timeslices_and_rate_stats_when_sliced() {
        let mut r = report();
        let page = |v: u32| parse(&format!("# TYPE c counter\nc_total {v}\n")).unwrap();
        let scrapes: Vec<Scrape> = [0, 10, 30, 60]
            .iter()
            .enumerate()
            .map(|(i, v)| Scrape {
                t_ns: i as u64 * 1_000_000_000,
                page: page(*v),
            })
            .collect();
        r.endpoints[0].metrics =
            aiperf_telemetry::aggregate::aggregate_sliced(&scrapes, 0, 3_500_000_000, Some(1.0));
        let v: Value = serde_json::from_str(&r.render_json()).unwrap();
        let s = &v["metrics"]["c"]["series"][0];
        assert_eq!(
            keys(&s["stats"]),
            ["total", "rate", "rate_avg", "rate_min", "rate_max", "rate_std"]
        );
        assert_eq!(s["stats"]["rate_std"], 10.0);
        let t = s["timeslices"].as_array().unwrap();
        assert_eq!(t.len(), 4);
        assert_eq!(keys(&t[0]), ["start_ns", "end_ns", "total", "rate"]);
        assert_eq!(
            keys(&t[3]),
            ["start_ns", "end_ns", "is_complete", "total", "rate"]
        );
        assert_eq!(t[3]["is_complete"], false);
        let csv = r.render_csv();
        assert!(
            csv.contains("\r\nh:1,counter,c,,60.0000,20.0000,20.0000,10.0000,30.0000,10.0000,\r\n"),
            "{csv}"
        );
    }

    #[test]
    fn series_sort_like_aiperf_by_endpoint_then_python_labels_repr() {
        // str({'a': '1', 'b': '2'}) < str({'a': '1'}) because ',' < '}'.
        let page = parse("# TYPE g gauge\ng{a=\"1\"} 1\ng{a=\"1\",b=\"2\"} 2\ng 3\n").unwrap();
        let scrapes = [
            Scrape {
                t_ns: 0,
                page: page.clone(),
            },
            Scrape { t_ns: 1, page },
        ];
        let mut r = report();
        r.endpoints[0].metrics = aggregate(&scrapes, 0, 1);
        let v: Value = serde_json::from_str(&r.render_json()).unwrap();
        let avgs: Vec<f64> = v["metrics"]["g"]["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stats"]["avg"].as_f64().unwrap())
            .collect();
        assert_eq!(avgs, [3.0, 2.0, 1.0]);
        assert_eq!(
            labels_sort_key(&[("a".into(), "it's".into())]),
            "{'a': \"it's\"}"
        );
    }

    #[test]
    fn jsonl_line_is_aiperf_s_slim_record() {
        let page = parse(
            "# TYPE vllm:prompt_tokens_total counter\n\
             vllm:prompt_tokens_total{model_name=\"m\"} 7\n\
             # TYPE up gauge\nup 1\n\
             # TYPE build_info gauge\nbuild_info{v=\"1\"} 1\n\
             # TYPE t histogram\nt_bucket{le=\"0.5\"} 2\nt_bucket{le=\"+Inf\"} 3\nt_sum 1.25\nt_count 3\n",
        )
        .unwrap();
        let line = render_jsonl_line("http://h:1/metrics", &Scrape { t_ns: 42, page }, 900);
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["endpoint_url"], "http://h:1/metrics");
        assert_eq!(
            (
                v["timestamp_ns"].as_u64(),
                v["endpoint_latency_ns"].as_u64()
            ),
            (Some(42), Some(900))
        );
        let m = &v["metrics"];
        assert_eq!(m["vllm:prompt_tokens"][0]["value"], 7.0);
        assert_eq!(m["vllm:prompt_tokens"][0]["labels"]["model_name"], "m");
        // No labels: no `labels` key, as AIPerf omits None.
        assert!(m["up"][0].get("labels").is_none());
        assert!(m.get("build_info").is_none());
        assert_eq!(m["t"][0]["histogram"]["0.5"], 2.0);
        assert_eq!(m["t"][0]["histogram"]["+Inf"], 3.0);
        assert_eq!(
            (m["t"][0]["sum"].as_f64(), m["t"][0]["count"].as_f64()),
            (Some(1.25), Some(3.0))
        );
    }

    #[test]
    fn csv_has_aiperf_s_sections_columns_and_number_formats() {
        let csv = report().render_csv();
        let v = env!("CARGO_PKG_VERSION");
        assert!(csv.starts_with(&format!(
            "# AIPerf Server Metrics Export (CSV)\n# aiperf_version: {v}\n# schema_version: 1.0\n\
             # benchmark_id: abc\n\
             # Note: Same benchmark_id and version appear in JSON and Parquet exports\n#\n\
             Endpoint,Type,Metric,Unit,avg,min,max,std,p1,p5,p10,p25,p50,p75,p90,p95,p99,model_name,Description\r\n"
        )), "{csv}");
        // Gauge [2, 4, 0]: avg 2, std 2, p1 index 0.02 -> 0.04.
        assert!(csv.contains(
            "\r\nh:1,gauge,vllm:num_requests_running,requests,2.0000,0.0000,4.0000,2.0000,0.0400,"
        ), "{csv}");
        assert!(csv.contains(
            "\r\n\r\nEndpoint,Type,Metric,Unit,total,rate,rate_avg,rate_min,rate_max,rate_std,model_name,Description\r\n\
             h:1,counter,vllm:request_success,requests,10.0000,3.3333,,,,,m,Requests answered.\r\n"
        ), "{csv}");
        let est: Vec<String> = PERCENTILE_LABELS
            .iter()
            .map(|p| format!("{p}_estimate"))
            .collect();
        assert!(csv.contains(&format!(
            "\r\n\r\nEndpoint,Type,Metric,Unit,count,count_rate,sum,sum_rate,avg,{},Description,buckets\r\n\
             h:1,histogram,vllm:time_to_first_token_seconds,seconds,10,",
            est.join(",")
        )), "{csv}");
        assert!(csv.ends_with(",0.1=5;+Inf=10\r\n"), "{csv}");
    }

    #[test]
    fn csv_unknown_and_info_sections() {
        let page = parse(
            "# HELP build_info Build.\n# TYPE build_info gauge\nbuild_info{version=\"1.2\",commit=\"ab\"} 1\n\
             plain{x=\"1\"} 3\n",
        )
        .unwrap();
        let scrapes = [
            Scrape {
                t_ns: 0,
                page: page.clone(),
            },
            Scrape { t_ns: 1, page },
        ];
        let mut r = report();
        r.endpoints[0].metrics = aggregate(&scrapes, 0, 1);
        let csv = r.render_csv();
        let body = csv.split("#\n").nth(1).unwrap();
        assert_eq!(
            body,
            "Endpoint,Type,Metric,Unit,avg,min,max,std,p1,p5,p10,p25,p50,p75,p90,p95,p99,x,Description\r\n\
             h:1,unknown,plain,,3.0000,3.0000,3.0000,0.0000,3.0000,3.0000,3.0000,3.0000,3.0000,3.0000,3.0000,3.0000,3.0000,1,\r\n\
             \r\n\
             Endpoint,Metric,Key,Value,Description\r\n\
             h:1,build_info,commit,ab,Build.\r\n\
             h:1,build_info,version,1.2,Build.\r\n"
        );
    }

    #[test]
    fn label_columns_group_families_own_labels_first() {
        let mk = |name: &str, labels: &[&str]| {
            let page = parse(&format!(
                "# TYPE {name} gauge\n{name}{{{}}} 1\n",
                labels
                    .iter()
                    .map(|l| format!("{l}=\"v\""))
                    .collect::<Vec<_>>()
                    .join(",")
            ))
            .unwrap();
            aggregate(
                &[
                    Scrape {
                        t_ns: 0,
                        page: page.clone(),
                    },
                    Scrape { t_ns: 1, page },
                ],
                0,
                1,
            )
        };
        let mut metrics = mk("m1", &["model", "engine"]);
        metrics.extend(mk("m2", &["model", "gpu"]));
        metrics.extend(mk("m3", &["zone"]));
        let rows: Vec<CsvSeries> = metrics
            .iter()
            .map(|m| CsvSeries {
                endpoint: "e".into(),
                metric: m,
                labels: &m.series[0].labels,
                stats: &m.series[0].stats,
            })
            .collect();
        // {engine, model, gpu} is one family (model bridges m1 and m2), zone another:
        // own labels first (engine, gpu), then the shared one (model).
        assert_eq!(
            label_column_order(&rows),
            ["engine", "gpu", "model", "zone"]
        );
    }

    #[test]
    fn endpoint_display_like_aiperf() {
        assert_eq!(endpoint_display("http://h:1/metrics"), "h:1");
        assert_eq!(
            endpoint_display("https://host:9400/api/metrics"),
            "host:9400/api"
        );
        assert_eq!(endpoint_display("http://h:2/custom?x=1"), "h:2/custom");
    }
}
