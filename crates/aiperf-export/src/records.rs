//! `profile_export.jsonl`: one line per profiled request (errors included), streamed to disk
//! while the run goes on so nothing measured is lost if the process dies.

use std::path::Path;

use aiperf_core::ErrorDetails;
use aiperf_metrics::record::RecordValue;
use aiperf_metrics::{Applicability, MetricKind, MetricSpec, RecordValues, REGISTRY};
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::json::ErrorJson;
use crate::jsonl::LineFile;
use crate::ExportError;

/// Identity and timestamps of one request (wall-clock epoch ns).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RecordMetadata {
    pub session_num: u64,
    pub x_request_id: String,
    pub x_correlation_id: String,
    pub conversation_id: String,
    pub turn_index: usize,
    pub credit_issued_ns: u64,
    /// When the schedule meant the request to go out (rate and replay modes), epoch ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intended_send_ns: Option<u64>,
    pub request_start_ns: u64,
    pub request_ack_ns: Option<u64>,
    pub request_end_ns: u64,
    pub worker_id: &'static str,
    pub record_processor_id: &'static str,
    pub benchmark_phase: &'static str,
    pub phase_index: u32,
    pub profiling_index: u64,
    pub phase_name: &'static str,
    pub phase_kind: &'static str,
    pub was_cancelled: bool,
    /// The response ended without the stream's `[DONE]` sentinel (partial stream); written
    /// only when true (`default` tells the schema it may be absent).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream_incomplete: bool,
    /// A failed request that had already received part of its response: what arrived and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_response: Option<PartialResponse>,
    /// SSE messages of this response dropped as malformed (not SSE, or `data` not JSON);
    /// written only when some were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub malformed_sse_events: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a failed request received before it failed (reset mid-stream, timeout, error event).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PartialResponse {
    /// HTTP status of the response head, if one arrived.
    pub status: Option<u16>,
    /// When the response head arrived (epoch ns).
    pub response_head_ns: Option<u64>,
    /// Body reads received, and their bytes.
    pub chunks_received: u64,
    pub bytes_received: u64,
    /// Arrival of the first and last body read (epoch ns).
    pub first_chunk_ns: Option<u64>,
    pub last_chunk_ns: Option<u64>,
}

/// One line of the records file.
#[derive(Debug, Clone)]
pub struct RecordLine {
    pub metadata: RecordMetadata,
    pub values: RecordValues,
    pub error: Option<ErrorDetails>,
}

/// The metrics that may appear in a records line of this run, in registry order.
fn record_specs(run: &Applicability) -> Vec<&'static MetricSpec> {
    REGISTRY
        .iter()
        .filter(|spec| spec.in_records() && spec.applies(run))
        .collect()
}

/// A records line as written, serialized straight to the writer (no `Value` tree per line).
/// Its JSON Schema is `docs/schemas/profile_export_record.schema.json`.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "profile_export.jsonl record", deny_unknown_fields)]
pub struct RecordJson<'a> {
    pub metadata: &'a RecordMetadata,
    /// Metric tag to value, in registry order; a metric that does not apply to this request (or
    /// is not finite) is absent.
    #[schemars(with = "IndexMap<String, MetricJson>")]
    metrics: MetricsJson<'a>,
    /// Present on failed requests only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorJson<'a>>,
    /// `--export-http-trace` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_data: Option<&'a TraceData>,
}

impl<'a> RecordJson<'a> {
    fn new(line: &'a RecordLine, specs: &'a [&'static MetricSpec]) -> Self {
        Self {
            metadata: &line.metadata,
            metrics: MetricsJson { line, specs },
            error: line.error.as_ref().map(ErrorJson::from),
            trace_data: None,
        }
    }
}

/// The `metrics` object of a line: the run's record metrics that this request has.
struct MetricsJson<'a> {
    line: &'a RecordLine,
    specs: &'a [&'static MetricSpec],
}

impl Serialize for MetricsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let MetricsJson { line, specs } = self;
        let mut map = serializer.serialize_map(None)?;
        for spec in specs.iter() {
            let Some(value) = display_value(spec, &line.values, line.error.is_some()) else {
                continue;
            };
            map.serialize_entry(
                spec.tag,
                &MetricJson {
                    value,
                    unit: spec.display_unit.label(),
                },
            )?;
        }
        map.end()
    }
}

/// A record metric of one request in its display unit: `None` when it does not apply to the
/// request (an error-only metric of a success, or the reverse), is absent or not finite.
pub(crate) fn display_value(
    spec: &MetricSpec,
    values: &RecordValues,
    failed: bool,
) -> Option<MetricValue> {
    let get = match (spec.kind, failed) {
        (MetricKind::Record(g), false) | (MetricKind::ErrorRecord(g), true) => g,
        _ => return None,
    };
    let factor = spec.unit.factor_to(spec.display_unit);
    match get(values) {
        Some(RecordValue::Scalar(v)) if v.is_finite() => Some(MetricValue::Scalar(v * factor)),
        Some(RecordValue::List(l)) => Some(MetricValue::List(l, factor)),
        _ => None,
    }
}

/// One metric of a line, in its display unit.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct MetricJson {
    #[schemars(with = "ValueSchema")]
    value: MetricValue,
    unit: &'static str,
}

/// What a metric value looks like on the wire (schema only): a number, or a list of numbers
/// (per-chunk latencies).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ValueSchema {
    Number(f64),
    List(Vec<f64>),
}

/// A value in display units: a scalar, or a list (non-finite entries left out) times `factor`.
pub(crate) enum MetricValue {
    Scalar(f64),
    List(Vec<f64>, f64),
}

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Scalar(v) => Number(*v).serialize(serializer),
            Self::List(l, factor) => serializer.collect_seq(
                l.iter()
                    .filter(|v| v.is_finite())
                    .map(|v| Number(v * factor)),
            ),
        }
    }
}

/// Integers stay integers (token counts), everything else is a float.
pub(crate) struct Number(pub(crate) f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            serializer.serialize_i64(v as i64)
        } else {
            serializer.serialize_f64(v)
        }
    }
}

/// Appends record lines to `profile_export.jsonl`, flushing regularly. When a write fails (a
/// full disk) the file is cut back to the last flush that succeeded, so it holds only whole
/// lines, and later writes are refused.
pub struct RecordWriter {
    file: LineFile,
    /// The metrics a line may carry in this run (the registry filtered once).
    specs: Vec<&'static MetricSpec>,
}

impl RecordWriter {
    pub fn create(path: &Path, run: Applicability) -> Result<Self, ExportError> {
        Ok(Self {
            file: LineFile::create(path)?,
            specs: record_specs(&run),
        })
    }

    pub fn write(&mut self, line: &RecordLine) -> Result<(), ExportError> {
        self.write_traced(line, None)
    }

    /// Writes a line with its `trace_data` (`--export-http-trace`) when given.
    pub fn write_traced(
        &mut self,
        line: &RecordLine,
        trace: Option<&TraceData>,
    ) -> Result<(), ExportError> {
        let mut json = RecordJson::new(line, &self.specs);
        json.trace_data = trace;
        self.file.write(&json)
    }

    /// Pushes buffered lines to the OS (called periodically so a crash loses little).
    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.file.flush()
    }

    /// Lines written (after a failure: lines kept in the file).
    pub fn lines(&self) -> u64 {
        self.file.lines()
    }
}

/// `trace_data` of a records line (`--export-http-trace`), with AIPerf 0.13's field names
/// (`AioHttpTraceDataExport`): wall-clock epoch ns timestamps and the k6-style durations, the
/// same values as the line's `http_req_*` metrics. Fields this client does not observe (DNS:
/// names are resolved before the run; socket addresses; headers) are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TraceData {
    pub trace_type: &'static str,
    pub request_send_start_ns: Option<u64>,
    /// Request body pieces as `(ns, bytes)`: empty, as in AIPerf's default export.
    pub request_chunks: Vec<(u64, u64)>,
    pub request_send_end_ns: Option<u64>,
    pub request_chunks_count: u64,
    pub request_bytes_total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_receive_start_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_headers_received_ns: Option<u64>,
    /// Response body pieces as `(ns, bytes)`: empty, as in AIPerf's default export.
    pub response_chunks: Vec<(u64, u64)>,
    pub response_chunks_count: u64,
    pub response_bytes_total: u64,
    pub response_receive_end_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_timestamp_ns: Option<u64>,
    pub connection_pool_wait_start_ns: Option<u64>,
    pub connection_pool_wait_end_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_connect_start_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_connect_end_ns: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_reused_ns: Option<u64>,
    pub sending_ns: u64,
    pub waiting_ns: u64,
    pub receiving_ns: u64,
    pub duration_ns: u64,
    pub blocked_ns: u64,
    pub connecting_ns: u64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aiperf_metrics::RecordInput;
    use serde_json::Value;

    pub(crate) fn metadata() -> RecordMetadata {
        RecordMetadata {
            session_num: 3,
            x_request_id: "req-1".into(),
            x_correlation_id: "corr-1".into(),
            conversation_id: "session_000003".into(),
            turn_index: 0,
            credit_issued_ns: 1_000,
            intended_send_ns: None,
            request_start_ns: 2_000,
            request_ack_ns: Some(2_500),
            request_end_ns: 17_000_000,
            worker_id: "worker_0",
            record_processor_id: "record_processor_0",
            benchmark_phase: "profiling",
            phase_index: 0,
            profiling_index: 7,
            phase_name: "profiling",
            phase_kind: "profiling",
            was_cancelled: false,
            stream_incomplete: false,
            partial_response: None,
            malformed_sse_events: 0,
        }
    }

    fn lines_of(records: &[RecordLine]) -> Vec<Value> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("profile_export.jsonl");
        let mut w = RecordWriter::create(&path, Applicability::STREAMED_CHAT).expect("create");
        for r in records {
            w.write(r).expect("write");
        }
        w.flush().expect("flush");
        std::fs::read_to_string(&path)
            .expect("read back")
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect()
    }

    #[test]
    fn lines_carry_display_units_integers_and_errors() {
        // Content at 10, 12 and 15 ms after a start at 0; 6 output tokens, 4 input tokens.
        let content_ns = [10_000_000, 12_000_000, 15_000_000];
        let values = RecordValues::of_success(&RecordInput {
            credit_issued_ns: 0,
            intended_ns: None,
            start_ns: 0,
            response_head_ns: Some(5_000_000),
            end_ns: 15_000_000,
            content_ns: &content_ns,
            first_output_ns: Some(10_000_000),
            input_tokens: Some(4),
            output_tokens: Some(6),
            reasoning_tokens: None,
            requested_osl: None,
            first_chunk_tokens: None,
            usage: None,
            http: None,
        })
        .expect("ordered timestamps");
        let ok = RecordLine {
            metadata: metadata(),
            values,
            error: None,
        };
        let failed = RecordLine {
            metadata: metadata(),
            values: RecordValues::of_error(Some(4)),
            error: Some(ErrorDetails::new(Some(503), "Service Unavailable", "busy")),
        };
        let lines = lines_of(&[ok, failed]);

        let keys: Vec<&String> = lines[0].as_object().expect("object").keys().collect();
        assert_eq!(keys, ["metadata", "metrics"]);
        let meta = &lines[0]["metadata"];
        assert_eq!(meta["x_request_id"], "req-1");
        assert_eq!(meta["request_ack_ns"], 2_500);
        assert!(
            meta.get("intended_send_ns").is_none(),
            "skipped when absent"
        );
        let m = &lines[0]["metrics"];
        assert_eq!(m["time_to_first_token"]["value"], 10.0);
        assert_eq!(m["time_to_first_token"]["unit"], "ms");
        assert_eq!(m["request_latency"]["value"], 15.0);
        // (15 - 10) ms over 5 gaps between 6 tokens.
        assert_eq!(m["inter_token_latency"]["value"], 1.0);
        assert_eq!(m["inter_chunk_latency"]["value"], serde_json::json!([2, 3])); // whole numbers print as integers
        assert_eq!(m["output_sequence_length"]["value"].as_i64(), Some(6));
        assert_eq!(m["input_sequence_length"]["unit"], "tokens");
        assert!(lines[0].get("error").is_none());

        let e = &lines[1];
        assert_eq!(
            e["error"],
            serde_json::json!({"code": 503, "type": "Service Unavailable", "message": "busy"})
        );
        assert!(e["metrics"].get("time_to_first_token").is_none());
        // Metadata is written as its own serialization, field for field, in both lines.
        let meta = serde_json::to_value(metadata()).expect("metadata serializes");
        assert_eq!(lines[0]["metadata"], meta);
        assert_eq!(e["metadata"], meta);
    }

    #[test]
    fn trace_data_is_written_only_when_given() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("profile_export.jsonl");
        let mut w = RecordWriter::create(&path, Applicability::STREAMED_CHAT).expect("create");
        let line = RecordLine {
            metadata: metadata(),
            values: RecordValues::of_error(Some(4)),
            error: Some(ErrorDetails::new(Some(503), "Service Unavailable", "busy")),
        };
        let trace = TraceData {
            trace_type: "hyper",
            request_send_start_ns: Some(2_000),
            sending_ns: 500,
            response_status_code: Some(503),
            ..Default::default()
        };
        w.write_traced(&line, Some(&trace)).expect("write");
        w.write(&line).expect("write");
        w.flush().expect("flush");
        let text = std::fs::read_to_string(&path).expect("read back");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        let keys: Vec<&String> = lines[0].as_object().expect("object").keys().collect();
        assert_eq!(keys, ["metadata", "metrics", "error", "trace_data"]);
        let t = &lines[0]["trace_data"];
        assert_eq!(t["trace_type"], "hyper");
        assert_eq!(t["request_send_start_ns"], 2_000);
        assert_eq!(t["sending_ns"], 500);
        assert_eq!(t["response_status_code"], 503);
        assert_eq!(t["request_chunks"], serde_json::json!([]));
        assert!(t.get("response_reason").is_none(), "absent when unknown");
        assert!(lines[1].get("trace_data").is_none());
    }
}
