//! `profile_export.jsonl`: one line per profiled request (errors included), streamed to disk
//! while the run goes on so nothing measured is lost if the process dies.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use aiperf_core::ErrorDetails;
use aiperf_metrics::record::RecordValue;
use aiperf_metrics::{Applicability, MetricKind, RecordValues, REGISTRY};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::{io_err, ExportError};

/// Identity and timestamps of one request (wall-clock epoch ns).
#[derive(Debug, Clone, Serialize)]
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
    /// The response ended without the stream's `[DONE]` sentinel (partial stream).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream_incomplete: bool,
    /// A failed request that had already received part of its response: what arrived and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_response: Option<PartialResponse>,
}

/// What a failed request received before it failed (reset mid-stream, timeout, error event).
#[derive(Debug, Clone, Serialize, PartialEq)]
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

impl RecordLine {
    /// The JSON object for this line; metric values in display units, only those that apply
    /// and may appear per record.
    pub fn to_json(&self, run: &Applicability) -> Value {
        let mut metrics = Map::new();
        for spec in REGISTRY.iter() {
            if !spec.in_records() || !spec.applies(run) {
                continue;
            }
            let get = match (spec.kind, self.error.is_some()) {
                (MetricKind::Record(g), false) | (MetricKind::ErrorRecord(g), true) => g,
                _ => continue,
            };
            let factor = spec.unit.factor_to(spec.display_unit);
            let value = match get(&self.values) {
                Some(RecordValue::Scalar(v)) if v.is_finite() => number(v * factor),
                Some(RecordValue::List(l)) => Value::Array(
                    l.iter()
                        .filter(|v| v.is_finite())
                        .map(|v| number(v * factor))
                        .collect(),
                ),
                _ => continue,
            };
            metrics.insert(
                spec.tag.into(),
                json!({"value": value, "unit": spec.display_unit.label()}),
            );
        }
        let mut line = Map::new();
        line.insert(
            "metadata".into(),
            serde_json::to_value(&self.metadata).unwrap_or(Value::Null),
        );
        line.insert("metrics".into(), Value::Object(metrics));
        if let Some(e) = &self.error {
            line.insert(
                "error".into(),
                json!({"code": e.code, "type": e.kind, "message": e.message}),
            );
        }
        Value::Object(line)
    }
}

/// Integers stay integers (token counts), everything else is a float.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// Appends record lines to `profile_export.jsonl`, flushing regularly.
pub struct RecordWriter {
    path: PathBuf,
    out: BufWriter<File>,
    run: Applicability,
    lines: u64,
}

impl RecordWriter {
    pub fn create(path: &Path, run: Applicability) -> Result<Self, ExportError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let file = File::create(path).map_err(io_err(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 << 10, file),
            run,
            lines: 0,
        })
    }

    pub fn write(&mut self, line: &RecordLine) -> Result<(), ExportError> {
        let v = line.to_json(&self.run);
        serde_json::to_writer(&mut self.out, &v).map_err(|e| ExportError::Io {
            path: self.path.clone(),
            source: e.into(),
        })?;
        self.out.write_all(b"\n").map_err(io_err(&self.path))?;
        self.lines += 1;
        Ok(())
    }

    /// Pushes buffered lines to the OS (called periodically so a crash loses little).
    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.out.flush().map_err(io_err(&self.path))
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }
}
