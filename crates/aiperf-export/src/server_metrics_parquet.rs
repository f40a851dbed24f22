//! `server_metrics_export.parquet` (`--server-metrics-formats parquet`): every scrape's
//! samples as rows, written as AIPerf 0.13's `ServerMetricsParquetExporter`
//! (`aiperf/server_metrics/parquet_exporter.py`) writes them.
//!
//! **Rows.** One row per (endpoint, series, scrape) for counters, gauges and untyped
//! metrics, and one row per (endpoint, series, scrape, bucket) for histograms (a "normalized"
//! layout: buckets are rows, not columns). A series is a metric name plus its label set.
//! Endpoints come in the order of their first stored scrape, series in the order they were
//! first seen (page order within a scrape), a series' rows in time order and, for a
//! histogram, a timestamp's buckets by `le` value (`+Inf` last).
//!
//! **Window.** Only scrapes with `start_ns <= t <= end_ns` give rows, `start_ns` being the
//! profiling start and `end_ns` the profiling end widened, as AIPerf widens it, to the last
//! scrape of any endpoint whose page changed ([`aiperf_window_end`]). Values:
//! - gauges and untyped metrics: the scraped value;
//! - counters: the increase from the *reference* (the last point before `start_ns`, else the
//!   series' first point in the window), negative increases (resets) written as 0;
//! - histograms: `sum`, `count` and each bucket's cumulative count as the same increase from
//!   the reference, each clamped at 0.
//!
//! **What is collected** (AIPerf's collector): summaries and families named `*_created`,
//! `*_uptime` or `*_uptime_*` are not; `_info` families are (they are plain gauges here).
//! Counters drop a trailing `_total`. Non-finite samples are dropped (for a histogram, the
//! whole label set in that scrape); within a page the last sample of a label set wins. A
//! histogram's buckets are fixed by its first point; later points read a missing bucket as
//! 0 and ignore extra ones; a missing `_sum` / `_count` reads as 0.
//!
//! **Schema** (every field nullable): `endpoint_url`, `metric_name`, `metric_type`
//! (`counter`/`gauge`/`histogram`/`unknown`), `unit`, `description` (the HELP text of the
//! scrape that first had the series, `""` without one), `timestamp_ns` (int64), one utf8
//! column per label name seen in any series of any endpoint (sorted; names clashing with the
//! fixed columns are left out), then `value`, `sum`, `count` (float64), `bucket_le` (the `le`
//! label as written, e.g. `0.1`, `+Inf`) and `bucket_count` (float64). `unit` is AIPerf's
//! inference from the name and HELP text ([`infer_unit`]), not the OpenMetrics `# UNIT`.
//!
//! **File.** Snappy compression, row groups of 10 000 rows (AIPerf writes in batches of
//! 10 000), AIPerf's `aiperf.*` key-value metadata. No rows: no file, as in AIPerf.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aiperf_telemetry::aggregate::aiperf_window_end;
use aiperf_telemetry::series::{page_families, Labels, PageSample};
use aiperf_telemetry::{MetricType, Scrape};
use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use crate::ExportError;

/// AIPerf's default file name.
pub const SERVER_METRICS_PARQUET_FILE: &str = "server_metrics_export.parquet";

/// Rows per write, and so per row group (AIPerf's `batch_size`).
const BATCH_ROWS: usize = 10_000;

/// Fixed columns; a label of one of these names gets no column.
const RESERVED: [&str; 11] = [
    "endpoint_url",
    "metric_name",
    "metric_type",
    "unit",
    "description",
    "timestamp_ns",
    "value",
    "sum",
    "count",
    "bucket_le",
    "bucket_count",
];

/// Run-level facts for the file's `aiperf.*` key-value metadata.
#[derive(Debug, Clone, Copy)]
pub struct ParquetRunMeta<'a> {
    /// `aiperf.benchmark_id`.
    pub benchmark_id: &'a str,
    /// `aiperf.input_config`, written as compact JSON (AIPerf: its run config dumped with
    /// `exclude_unset` / `exclude_none`).
    pub input_config: &'a Value,
    /// `aiperf.model_names`.
    pub model_names: &'a [String],
    /// `aiperf.concurrency`: the first profiling phase's concurrency (`None` is written as
    /// `"None"`, as AIPerf writes it).
    pub concurrency: Option<u64>,
    /// `aiperf.request_rate`: its request rate, requests/s (key left out when `None`).
    pub request_rate: Option<f64>,
}

/// Writes `path` from every endpoint's scrapes (`(url, scrapes)`, scrapes in any order) over
/// the profiling window `profiling_ns = (start_ns, end_ns)` (see the module docs), via a
/// temporary file and a rename. Returns the number of rows written; 0 means no file was
/// written (no row in the window, as AIPerf skips the file then).
pub fn write_server_metrics_parquet(
    path: &Path,
    endpoints: &[(&str, &[Scrape])],
    profiling_ns: (u64, u64),
    meta: &ParquetRunMeta<'_>,
) -> Result<usize, ExportError> {
    let (start_ns, profiling_end_ns) = profiling_ns;
    let end_ns = endpoints
        .iter()
        .map(|(_, scrapes)| aiperf_window_end(scrapes, profiling_end_ns))
        .fold(profiling_end_ns, u64::max);
    if start_ns >= end_ns {
        return Ok(0);
    }
    let stores = collect(endpoints);
    let label_keys = label_columns(&stores);
    let kv = metadata(meta, &stores, &label_keys, (start_ns, end_ns));
    let schema = Arc::new(arrow_schema(&label_keys, &kv));

    let tmp = tmp_path(path);
    let mut sink = Sink {
        tmp: &tmp,
        schema,
        kv: kv.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
        writer: None,
        columns: Columns::new(label_keys.len()),
        rows: 0,
    };
    let written = write_rows(&mut sink, &stores, &label_keys, (start_ns, end_ns))
        .and_then(|()| sink.finish())
        .and_then(|rows| {
            if rows > 0 {
                std::fs::rename(&tmp, path).map_err(crate::io_err(path))?;
            }
            Ok(rows)
        });
    if !matches!(written, Ok(rows) if rows > 0) {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `<name>.tmp` beside `path` (the whole file name kept, so it cannot meet another
/// artifact's temporary file).
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn other_err(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> ExportError {
    ExportError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

// ---------------------------------------------------------------------------------------
// Storage: AIPerf's per-endpoint `{(name, labels): entry}` built scrape by scrape.
// ---------------------------------------------------------------------------------------

struct Series {
    name: String,
    kind: MetricType,
    description: String,
    /// Sorted by label name.
    labels: Labels,
    data: SeriesData,
}

enum SeriesData {
    /// `(t_ns, value)`.
    Scalar(Vec<(u64, f64)>),
    Histogram {
        /// Bucket `le` texts, fixed by the first point, sorted by value.
        les: Vec<String>,
        points: Vec<HistPoint>,
    },
}

struct HistPoint {
    t_ns: u64,
    sum: f64,
    count: f64,
    /// Aligned with `les`.
    buckets: Vec<f64>,
}

struct EndpointStore<'a> {
    url: &'a str,
    /// Time of the first scrape that stored anything (orders the endpoints).
    first_ns: u64,
    series: Vec<Series>,
    index: HashMap<(String, Labels), usize>,
}

impl<'a> EndpointStore<'a> {
    fn add_scrape(&mut self, scrape: &Scrape) -> bool {
        let families = page_families(&scrape.page);
        for pf in &families {
            let (name, f) = (pf.name, pf.family);
            for (labels, sample) in &pf.series {
                let key = (name.to_string(), labels.clone());
                let i = match self.index.get(&key) {
                    Some(&i) => i,
                    None => {
                        let data = if f.kind == MetricType::Histogram {
                            SeriesData::Histogram {
                                les: Vec::new(),
                                points: Vec::new(),
                            }
                        } else {
                            SeriesData::Scalar(Vec::new())
                        };
                        self.series.push(Series {
                            name: name.to_string(),
                            kind: f.kind,
                            description: f.help.clone().unwrap_or_default(),
                            labels: labels.clone(),
                            data,
                        });
                        self.index.insert(key, self.series.len() - 1);
                        self.series.len() - 1
                    }
                };
                push_point(&mut self.series[i].data, scrape.t_ns, sample);
            }
        }
        !families.is_empty()
    }
}

/// Appends one point; a sample of the other shape than the series' first is ignored.
fn push_point(data: &mut SeriesData, t_ns: u64, sample: &PageSample) {
    match (data, sample) {
        (SeriesData::Scalar(points), PageSample::Scalar(v)) => points.push((t_ns, *v)),
        (SeriesData::Histogram { les, points }, PageSample::Histogram(raw)) => {
            if points.is_empty() {
                *les = raw.bucket_schema().into_iter().map(|(le, _)| le).collect();
            }
            points.push(HistPoint {
                t_ns,
                sum: raw.sum.unwrap_or(0.0),
                count: raw.count.unwrap_or(0.0),
                buckets: les.iter().map(|le| raw.bucket(le)).collect(),
            });
        }
        _ => {}
    }
}

/// Every endpoint's store, in the order of their first stored scrape (URLs given twice are
/// merged; endpoints that stored nothing are left out, as AIPerf never creates them).
fn collect<'a>(endpoints: &[(&'a str, &[Scrape])]) -> Vec<EndpointStore<'a>> {
    let mut stores: Vec<EndpointStore<'a>> = Vec::new();
    for (url, scrapes) in endpoints {
        let mut sorted: Vec<&Scrape> = scrapes.iter().collect();
        sorted.sort_by_key(|s| s.t_ns);
        let i = match stores.iter().position(|s| s.url == *url) {
            Some(i) => i,
            None => {
                stores.push(EndpointStore {
                    url,
                    first_ns: u64::MAX,
                    series: Vec::new(),
                    index: HashMap::new(),
                });
                stores.len() - 1
            }
        };
        for scrape in sorted {
            if stores[i].add_scrape(scrape) {
                stores[i].first_ns = stores[i].first_ns.min(scrape.t_ns);
            }
        }
    }
    stores.retain(|s| s.first_ns != u64::MAX);
    stores.sort_by_key(|s| s.first_ns);
    stores
}

/// Label names of every series of every endpoint, sorted, less the fixed column names.
fn label_columns(stores: &[EndpointStore<'_>]) -> Vec<String> {
    let mut keys: Vec<String> = stores
        .iter()
        .flat_map(|e| e.series.iter())
        .flat_map(|s| s.labels.iter().map(|(k, _)| k.clone()))
        .filter(|k| !RESERVED.contains(&k.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn type_name(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::Summary => "summary",
        MetricType::Untyped => "unknown",
    }
}

// ---------------------------------------------------------------------------------------
// Schema and metadata.
// ---------------------------------------------------------------------------------------

fn arrow_schema(label_keys: &[String], metadata: &[(String, String)]) -> Schema {
    let mut fields = vec![
        Field::new("endpoint_url", DataType::Utf8, true),
        Field::new("metric_name", DataType::Utf8, true),
        Field::new("metric_type", DataType::Utf8, true),
        Field::new("unit", DataType::Utf8, true),
        Field::new("description", DataType::Utf8, true),
        Field::new("timestamp_ns", DataType::Int64, true),
    ];
    fields.extend(
        label_keys
            .iter()
            .map(|k| Field::new(k, DataType::Utf8, true)),
    );
    fields.extend([
        Field::new("value", DataType::Float64, true),
        Field::new("sum", DataType::Float64, true),
        Field::new("count", DataType::Float64, true),
        Field::new("bucket_le", DataType::Utf8, true),
        Field::new("bucket_count", DataType::Float64, true),
    ]);
    Schema::new_with_metadata(
        fields,
        metadata
            .iter()
            .cloned()
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
}

fn json_str<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// AIPerf's `aiperf.*` keys, in its order. Two are its Python runtime's and are written as
/// AIPerf writes them when it cannot tell: `aiperf.pyarrow_version` is `unknown`, and
/// `aiperf.python_version` is left out.
fn metadata(
    meta: &ParquetRunMeta<'_>,
    stores: &[EndpointStore<'_>],
    label_keys: &[String],
    (start_ns, end_ns): (u64, u64),
) -> Vec<(String, String)> {
    let mut m: Vec<(&str, String)> = vec![
        ("aiperf.schema_version", "1.0".into()),
        ("aiperf.version", env!("CARGO_PKG_VERSION").into()),
        ("aiperf.benchmark_id", meta.benchmark_id.into()),
        (
            "aiperf.export_timestamp_utc",
            utc_isoformat(chrono::Utc::now()),
        ),
        ("aiperf.exporter", "ServerMetricsParquetExporter".into()),
        ("aiperf.hostname", hostname()),
        ("aiperf.pyarrow_version", "unknown".into()),
        ("aiperf.time_filter_start_ns", start_ns.to_string()),
        ("aiperf.time_filter_end_ns", end_ns.to_string()),
        (
            "aiperf.profiling_duration_ns",
            (end_ns - start_ns).to_string(),
        ),
        (
            "aiperf.profiling_duration_seconds",
            aiperf_config::resolve::python_float((end_ns - start_ns) as f64 / 1e9),
        ),
        ("aiperf.input_config", json_str(meta.input_config)),
        ("aiperf.model_names", json_str(meta.model_names)),
        (
            "aiperf.concurrency",
            meta.concurrency.map_or("None".into(), |c| c.to_string()),
        ),
    ];
    if let Some(rate) = meta.request_rate {
        m.push((
            "aiperf.request_rate",
            aiperf_config::resolve::python_float(rate),
        ));
    }
    let mut urls: Vec<&str> = stores.iter().map(|s| s.url).collect();
    urls.sort_unstable();
    m.push(("aiperf.endpoint_urls", json_str(&urls)));
    m.push(("aiperf.endpoint_count", urls.len().to_string()));
    m.push(("aiperf.label_columns", json_str(label_keys)));
    m.push(("aiperf.label_count", label_keys.len().to_string()));
    let mut counts = [
        ("gauge", 0usize),
        ("counter", 0),
        ("histogram", 0),
        ("unknown", 0),
    ];
    let mut total = 0;
    for s in stores.iter().flat_map(|e| e.series.iter()) {
        total += 1;
        if let Some(c) = counts.iter_mut().find(|(n, _)| *n == type_name(s.kind)) {
            c.1 += 1;
        }
    }
    m.push(("aiperf.metric_count", total.to_string()));
    let counts: serde_json::Map<String, Value> = counts
        .iter()
        .map(|(n, c)| (n.to_string(), Value::from(*c)))
        .collect();
    m.push(("aiperf.metric_type_counts", json_str(&counts)));
    m.push((
        "aiperf.schema_note",
        "Label columns vary by endpoint/model. Use union_by_name=true for cross-file queries."
            .into(),
    ));
    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Python's `datetime.now(UTC).isoformat()`: microseconds unless 0, `+00:00`.
fn utc_isoformat(t: chrono::DateTime<chrono::Utc>) -> String {
    let micros = t.timestamp_subsec_micros();
    let base = t.format("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// `socket.gethostname()`, as far as std can tell.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .or_else(|| std::env::var("COMPUTERNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

// ---------------------------------------------------------------------------------------
// Rows.
// ---------------------------------------------------------------------------------------

/// The columns every row of one series shares.
struct RowHead<'a> {
    endpoint_url: &'a str,
    metric_name: &'a str,
    metric_type: &'static str,
    unit: Option<&'static str>,
    description: &'a str,
    labels: Vec<Option<&'a str>>,
}

struct Columns {
    endpoint_url: StringBuilder,
    metric_name: StringBuilder,
    metric_type: StringBuilder,
    unit: StringBuilder,
    description: StringBuilder,
    timestamp_ns: Int64Builder,
    labels: Vec<StringBuilder>,
    value: Float64Builder,
    sum: Float64Builder,
    count: Float64Builder,
    bucket_le: StringBuilder,
    bucket_count: Float64Builder,
    len: usize,
}

impl Columns {
    fn new(labels: usize) -> Columns {
        Columns {
            endpoint_url: StringBuilder::new(),
            metric_name: StringBuilder::new(),
            metric_type: StringBuilder::new(),
            unit: StringBuilder::new(),
            description: StringBuilder::new(),
            timestamp_ns: Int64Builder::new(),
            labels: (0..labels).map(|_| StringBuilder::new()).collect(),
            value: Float64Builder::new(),
            sum: Float64Builder::new(),
            count: Float64Builder::new(),
            bucket_le: StringBuilder::new(),
            bucket_count: Float64Builder::new(),
            len: 0,
        }
    }

    fn push(&mut self, head: &RowHead<'_>, t_ns: u64, vals: RowValues<'_>) {
        self.endpoint_url.append_value(head.endpoint_url);
        self.metric_name.append_value(head.metric_name);
        self.metric_type.append_value(head.metric_type);
        self.unit.append_option(head.unit);
        self.description.append_value(head.description);
        self.timestamp_ns
            .append_value(i64::try_from(t_ns).unwrap_or(i64::MAX));
        for (b, v) in self.labels.iter_mut().zip(&head.labels) {
            b.append_option(*v);
        }
        self.value.append_option(vals.value);
        self.sum.append_option(vals.sum);
        self.count.append_option(vals.count);
        self.bucket_le.append_option(vals.bucket_le);
        self.bucket_count.append_option(vals.bucket_count);
        self.len += 1;
    }

    fn finish(&mut self) -> Vec<ArrayRef> {
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(self.endpoint_url.finish()),
            Arc::new(self.metric_name.finish()),
            Arc::new(self.metric_type.finish()),
            Arc::new(self.unit.finish()),
            Arc::new(self.description.finish()),
            Arc::new(self.timestamp_ns.finish()),
        ];
        cols.extend(
            self.labels
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        cols.extend([
            Arc::new(self.value.finish()) as ArrayRef,
            Arc::new(self.sum.finish()),
            Arc::new(self.count.finish()),
            Arc::new(self.bucket_le.finish()),
            Arc::new(self.bucket_count.finish()),
        ]);
        self.len = 0;
        cols
    }
}

#[derive(Default, Clone, Copy)]
struct RowValues<'a> {
    value: Option<f64>,
    sum: Option<f64>,
    count: Option<f64>,
    bucket_le: Option<&'a str>,
    bucket_count: Option<f64>,
}

/// Rows in, row groups out; the file is created with the first full or final batch.
struct Sink<'p> {
    tmp: &'p Path,
    schema: SchemaRef,
    /// The `aiperf.*` metadata in AIPerf's order (the schema keeps it too, sorted).
    kv: Vec<KeyValue>,
    writer: Option<ArrowWriter<BufWriter<File>>>,
    columns: Columns,
    rows: usize,
}

impl Sink<'_> {
    fn push(
        &mut self,
        head: &RowHead<'_>,
        t_ns: u64,
        vals: RowValues<'_>,
    ) -> Result<(), ExportError> {
        self.columns.push(head, t_ns, vals);
        if self.columns.len >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        if self.columns.len == 0 {
            return Ok(());
        }
        let n = self.columns.len;
        let batch = RecordBatch::try_new(self.schema.clone(), self.columns.finish())
            .map_err(|e| other_err(self.tmp, e))?;
        let writer = match &mut self.writer {
            Some(w) => w,
            None => {
                let file = File::create(self.tmp).map_err(crate::io_err(self.tmp))?;
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(BATCH_ROWS))
                    .set_key_value_metadata(Some(self.kv.clone()))
                    .build();
                // pyarrow names the root group `schema`.
                let options = ArrowWriterOptions::new()
                    .with_properties(props)
                    .with_schema_root("schema".into());
                let w = ArrowWriter::try_new_with_options(
                    BufWriter::new(file),
                    self.schema.clone(),
                    options,
                )
                .map_err(|e| other_err(self.tmp, e))?;
                self.writer.insert(w)
            }
        };
        writer.write(&batch).map_err(|e| other_err(self.tmp, e))?;
        self.rows += n;
        Ok(())
    }

    fn finish(mut self) -> Result<usize, ExportError> {
        self.flush()?;
        if let Some(w) = self.writer.take() {
            let inner = w.into_inner().map_err(|e| other_err(self.tmp, e))?;
            let file = inner
                .into_inner()
                .map_err(|e| other_err(self.tmp, e.into_error()))?;
            file.sync_all().map_err(crate::io_err(self.tmp))?;
        }
        Ok(self.rows)
    }
}

fn write_rows(
    sink: &mut Sink<'_>,
    stores: &[EndpointStore<'_>],
    label_keys: &[String],
    (start_ns, end_ns): (u64, u64),
) -> Result<(), ExportError> {
    for store in stores {
        for s in &store.series {
            let head = RowHead {
                endpoint_url: store.url,
                metric_name: &s.name,
                metric_type: type_name(s.kind),
                unit: aiperf_telemetry::units::infer_unit(&s.name, &s.description),
                description: &s.description,
                labels: label_keys
                    .iter()
                    .map(|k| {
                        s.labels
                            .iter()
                            .find(|(n, _)| n == k)
                            .map(|(_, v)| v.as_str())
                    })
                    .collect(),
            };
            match &s.data {
                SeriesData::Scalar(points) => {
                    // Points are in time order (scrapes were sorted).
                    let first = points.partition_point(|p| p.0 < start_ns);
                    let last = points.partition_point(|p| p.0 <= end_ns);
                    if first >= last {
                        continue;
                    }
                    let counter = s.kind == MetricType::Counter;
                    let reference = first
                        .checked_sub(1)
                        .map_or(points[first].1, |i| points[i].1);
                    for &(t, v) in &points[first..last] {
                        let value = if counter { clamp(v - reference) } else { v };
                        sink.push(
                            &head,
                            t,
                            RowValues {
                                value: Some(value),
                                ..Default::default()
                            },
                        )?;
                    }
                }
                SeriesData::Histogram { les, points } => {
                    let first = points.partition_point(|p| p.t_ns < start_ns);
                    let last = points.partition_point(|p| p.t_ns <= end_ns);
                    if first >= last {
                        continue;
                    }
                    let reference = &points[first.checked_sub(1).unwrap_or(first)];
                    for p in &points[first..last] {
                        let sum = clamp(p.sum - reference.sum);
                        let count = clamp(p.count - reference.count);
                        for (j, le) in les.iter().enumerate() {
                            sink.push(
                                &head,
                                p.t_ns,
                                RowValues {
                                    value: None,
                                    sum: Some(sum),
                                    count: Some(count),
                                    bucket_le: Some(le),
                                    bucket_count: Some(clamp(p.buckets[j] - reference.buckets[j])),
                                },
                            )?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// `np.maximum(delta, 0.0)`.
fn clamp(delta: f64) -> f64 {
    if delta > 0.0 {
        delta
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_telemetry::{parse, Page};
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    const S: u64 = 1_000_000_000;

    /// The same pages as the reference file made with AIPerf 0.13's own exporter
    /// (`ServerMetricsParquetExporter`, pyarrow 26) over the window 1 s ..= 3 s.
    fn page(reqs: u32, running: u32, b1: u32, b2: u32, hsum: f64, tok: Option<u32>) -> Page {
        let mut s = format!(
            "# HELP vllm:request_success_total Count of successfully processed requests.\n\
             # TYPE vllm:request_success_total counter\n\
             vllm:request_success_total{{model_name=\"m\",finished_reason=\"stop\"}} {reqs}\n\
             # HELP vllm:num_requests_running Number of requests in model execution batches.\n\
             # TYPE vllm:num_requests_running gauge\n\
             vllm:num_requests_running{{model_name=\"m\"}} {running}\n\
             # HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.\n\
             # TYPE vllm:time_to_first_token_seconds histogram\n\
             vllm:time_to_first_token_seconds_bucket{{le=\"0.1\",model_name=\"m\"}} {b1}\n\
             vllm:time_to_first_token_seconds_bucket{{le=\"1.0\",model_name=\"m\"}} {b2}\n\
             vllm:time_to_first_token_seconds_bucket{{le=\"+Inf\",model_name=\"m\"}} {b2}\n\
             vllm:time_to_first_token_seconds_sum{{model_name=\"m\"}} {hsum}\n\
             vllm:time_to_first_token_seconds_count{{model_name=\"m\"}} {b2}\n\
             # TYPE cache_config_info gauge\n\
             cache_config_info{{block_size=\"16\",endpoint=\"x\"}} 1\n\
             # TYPE process_uptime_seconds gauge\n\
             process_uptime_seconds 12\n\
             # TYPE rpc_seconds summary\n\
             rpc_seconds{{quantile=\"0.5\"}} 0.2\n\
             rpc_seconds_sum 3\n\
             rpc_seconds_count 9\n"
        );
        if let Some(tok) = tok {
            s += &format!(
                "# TYPE plain_counter counter\nplain_counter {tok}\n\
                 # TYPE u_metric untyped\nu_metric 2.5\n"
            );
        }
        parse(&s).unwrap()
    }

    fn scrapes() -> (Vec<Scrape>, Vec<Scrape>) {
        let sc = |t_ns, page| Scrape { t_ns, page };
        let a = vec![
            // Out of order on purpose: the writer sorts by time.
            sc(2 * S, page(9, 4, 3, 4, 1.5, Some(130))),
            sc(0, page(5, 0, 1, 1, 0.05, None)),
            sc(S, page(5, 2, 1, 1, 0.05, Some(100))),
            sc(3 * S, page(15, 1, 6, 11, 4.25, Some(90))),
        ];
        let b = vec![sc(
            1_500_000_000,
            parse("# TYPE g gauge\ng{method=\"GET\",value=\"v\"} 7\n").unwrap(),
        )];
        (a, b)
    }

    fn meta_json() -> Value {
        serde_json::json!({"endpoint": {"model_names": ["m"]}})
    }

    fn write(dir: &Path, a: &[Scrape], b: &[Scrape], window: (u64, u64)) -> (PathBuf, usize) {
        let path = dir.join(SERVER_METRICS_PARQUET_FILE);
        let config = meta_json();
        let models = vec!["m".to_string()];
        let meta = ParquetRunMeta {
            benchmark_id: "bench-1",
            input_config: &config,
            model_names: &models,
            concurrency: Some(4),
            request_rate: None,
        };
        // The second endpoint is listed first but scraped later: AIPerf orders endpoints by
        // their first record.
        let rows = write_server_metrics_parquet(
            &path,
            &[("http://h:2/metrics", b), ("http://h:1/metrics", a)],
            window,
            &meta,
        )
        .unwrap();
        (path, rows)
    }

    /// One row as text: `endpoint|name|type|unit|description|t|labels...|value|sum|count|le|bucket`.
    fn rows_of(path: &Path) -> (SchemaRef, Vec<String>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let schema = builder.schema().clone();
        let mut out = Vec::new();
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            for r in 0..batch.num_rows() {
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(r) {
                            return "-".to_string();
                        }
                        match c.data_type() {
                            DataType::Utf8 => c.as_string::<i32>().value(r).to_string(),
                            DataType::Int64 => c.as_primitive::<Int64Type>().value(r).to_string(),
                            DataType::Float64 => {
                                format!("{:?}", c.as_primitive::<Float64Type>().value(r))
                            }
                            t => panic!("unexpected type {t}"),
                        }
                    })
                    .collect();
                out.push(cells.join("|"));
            }
        }
        (schema, out)
    }

    #[test]
    fn schema_and_rows_match_aiperf() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = scrapes();
        let (path, rows) = write(dir.path(), &a, &b, (S, 3 * S));
        assert_eq!(rows, 25);
        assert!(!dir
            .path()
            .join("server_metrics_export.parquet.tmp")
            .exists());

        let (schema, got) = rows_of(&path);
        let fields: Vec<(String, DataType, bool)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
            .collect();
        let s = |n: &str, t: DataType| (n.to_string(), t, true);
        assert_eq!(
            fields,
            vec![
                s("endpoint_url", DataType::Utf8),
                s("metric_name", DataType::Utf8),
                s("metric_type", DataType::Utf8),
                s("unit", DataType::Utf8),
                s("description", DataType::Utf8),
                s("timestamp_ns", DataType::Int64),
                // Label columns, sorted; the `value` label clashes with a fixed column.
                s("block_size", DataType::Utf8),
                s("endpoint", DataType::Utf8),
                s("finished_reason", DataType::Utf8),
                s("method", DataType::Utf8),
                s("model_name", DataType::Utf8),
                s("value", DataType::Float64),
                s("sum", DataType::Float64),
                s("count", DataType::Float64),
                s("bucket_le", DataType::Utf8),
                s("bucket_count", DataType::Float64),
            ]
        );

        let h1 = "http://h:1/metrics";
        let req = "vllm:request_success|counter|requests|Count of successfully processed requests.";
        let run = "vllm:num_requests_running|gauge|requests|Number of requests in model execution batches.";
        let ttft = "vllm:time_to_first_token_seconds|histogram|seconds|Histogram of time to first token in seconds.";
        let want: Vec<String> = [
            // Counter: increase over the reference (5 at 0 s, before the window).
            format!("{h1}|{req}|1000000000|-|-|stop|-|m|0.0|-|-|-|-"),
            format!("{h1}|{req}|2000000000|-|-|stop|-|m|4.0|-|-|-|-"),
            format!("{h1}|{req}|3000000000|-|-|stop|-|m|10.0|-|-|-|-"),
            // Gauge: raw values in the window.
            format!("{h1}|{run}|1000000000|-|-|-|-|m|2.0|-|-|-|-"),
            format!("{h1}|{run}|2000000000|-|-|-|-|m|4.0|-|-|-|-"),
            format!("{h1}|{run}|3000000000|-|-|-|-|m|1.0|-|-|-|-"),
            // Histogram: a row per bucket, deltas from the 0 s point.
            format!("{h1}|{ttft}|1000000000|-|-|-|-|m|-|0.0|0.0|0.1|0.0"),
            format!("{h1}|{ttft}|1000000000|-|-|-|-|m|-|0.0|0.0|1.0|0.0"),
            format!("{h1}|{ttft}|1000000000|-|-|-|-|m|-|0.0|0.0|+Inf|0.0"),
            format!("{h1}|{ttft}|2000000000|-|-|-|-|m|-|1.45|3.0|0.1|2.0"),
            format!("{h1}|{ttft}|2000000000|-|-|-|-|m|-|1.45|3.0|1.0|3.0"),
            format!("{h1}|{ttft}|2000000000|-|-|-|-|m|-|1.45|3.0|+Inf|3.0"),
            format!("{h1}|{ttft}|3000000000|-|-|-|-|m|-|4.2|10.0|0.1|5.0"),
            format!("{h1}|{ttft}|3000000000|-|-|-|-|m|-|4.2|10.0|1.0|10.0"),
            format!("{h1}|{ttft}|3000000000|-|-|-|-|m|-|4.2|10.0|+Inf|10.0"),
            // `_info` gauges are kept; no HELP -> empty description, no unit.
            format!("{h1}|cache_config_info|gauge|-||1000000000|16|x|-|-|-|1.0|-|-|-|-"),
            format!("{h1}|cache_config_info|gauge|-||2000000000|16|x|-|-|-|1.0|-|-|-|-"),
            format!("{h1}|cache_config_info|gauge|-||3000000000|16|x|-|-|-|1.0|-|-|-|-"),
            // First seen in the window: its first point is the reference; 130 -> 90 is a reset.
            format!("{h1}|plain_counter|counter|-||1000000000|-|-|-|-|-|0.0|-|-|-|-"),
            format!("{h1}|plain_counter|counter|-||2000000000|-|-|-|-|-|30.0|-|-|-|-"),
            format!("{h1}|plain_counter|counter|-||3000000000|-|-|-|-|-|0.0|-|-|-|-"),
            format!("{h1}|u_metric|unknown|-||1000000000|-|-|-|-|-|2.5|-|-|-|-"),
            format!("{h1}|u_metric|unknown|-||2000000000|-|-|-|-|-|2.5|-|-|-|-"),
            format!("{h1}|u_metric|unknown|-||3000000000|-|-|-|-|-|2.5|-|-|-|-"),
            "http://h:2/metrics|g|gauge|-||1500000000|-|-|-|GET|-|7.0|-|-|-|-".to_string(),
        ]
        .into();
        assert_eq!(got, want);
    }

    #[test]
    fn file_layout_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = scrapes();
        let (path, _) = write(dir.path(), &a, &b, (S, 3 * S));
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let md = reader.metadata();
        assert_eq!(md.num_row_groups(), 1);
        for c in md.row_group(0).columns() {
            assert_eq!(c.compression(), Compression::SNAPPY, "{}", c.column_path());
        }
        let kv: HashMap<String, String> = md
            .file_metadata()
            .key_value_metadata()
            .unwrap()
            .iter()
            .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
            .collect();
        let want = [
            ("aiperf.schema_version", "1.0"),
            ("aiperf.benchmark_id", "bench-1"),
            ("aiperf.exporter", "ServerMetricsParquetExporter"),
            ("aiperf.time_filter_start_ns", "1000000000"),
            ("aiperf.time_filter_end_ns", "3000000000"),
            ("aiperf.profiling_duration_ns", "2000000000"),
            ("aiperf.profiling_duration_seconds", "2.0"),
            (
                "aiperf.input_config",
                r#"{"endpoint":{"model_names":["m"]}}"#,
            ),
            ("aiperf.model_names", r#"["m"]"#),
            ("aiperf.concurrency", "4"),
            (
                "aiperf.endpoint_urls",
                r#"["http://h:1/metrics","http://h:2/metrics"]"#,
            ),
            ("aiperf.endpoint_count", "2"),
            (
                "aiperf.label_columns",
                r#"["block_size","endpoint","finished_reason","method","model_name"]"#,
            ),
            ("aiperf.label_count", "5"),
            ("aiperf.metric_count", "7"),
            (
                "aiperf.metric_type_counts",
                r#"{"gauge":3,"counter":2,"histogram":1,"unknown":1}"#,
            ),
        ];
        for (k, v) in want {
            assert_eq!(kv.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(!kv.contains_key("aiperf.request_rate"));
        assert!(kv.contains_key("ARROW:schema"));
        let ts = &kv["aiperf.export_timestamp_utc"];
        assert!(ts.ends_with("+00:00") && ts.len() >= 25, "{ts}");
    }

    #[test]
    fn window_widens_to_the_last_changed_scrape_and_row_groups_hold_10000_rows() {
        // 3 400 histogram scrapes x 3 buckets = 10 200 rows: two row groups. The profiling
        // window ends at 0 but the pages keep changing, so it widens to the last scrape.
        let pages: Vec<Scrape> = (0..3_400u64)
            .map(|i| Scrape {
                t_ns: i,
                page: parse(&format!(
                    "# TYPE h histogram\nh_bucket{{le=\"1\"}} {i}\nh_bucket{{le=\"2\"}} {i}\n\
                     h_bucket{{le=\"+Inf\"}} {i}\nh_sum {i}\nh_count {i}\n"
                ))
                .unwrap(),
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (path, rows) = write(dir.path(), &pages, &[], (0, 0));
        assert_eq!(rows, 10_200);
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [10_000, 200]);
        let (_, got) = rows_of(&path);
        assert_eq!(
            got[10_199],
            "http://h:1/metrics|h|histogram|-||3399|-|3399.0|3399.0|+Inf|3399.0"
        );
    }

    #[test]
    fn no_rows_in_the_window_writes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = scrapes();
        // Every scrape is before the window.
        let (path, rows) = write(dir.path(), &a, &b, (10 * S, 20 * S));
        assert_eq!(rows, 0);
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
