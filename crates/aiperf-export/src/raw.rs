//! `profile_export_raw.jsonl` (`--export-level raw`): every request as sent and every response as
//! received, one line per request in AIPerf 0.13's `RawRecordInfo` shape, streamed to disk by the
//! record processor.
//!
//! A line: `metadata` (as in `profile_export.jsonl`), `start_perf_ns` (the request start on the
//! run's monotonic clock), `request_headers` (sensitive values `<redacted>`), `status`,
//! `responses` (SSE messages as `{perf_ns, packets: [{name, value}]}`, other bodies as one
//! `{perf_ns, text}`), `error` (failed requests) and `payload` (the request body, verbatim when
//! it is JSON).

use std::path::Path;

use aiperf_core::ErrorDetails;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::json::ErrorJson;
use crate::jsonl::LineFile;
use crate::records::RecordMetadata;
use crate::ExportError;

/// AIPerf's default name of the raw records file.
pub const RAW_FILE: &str = "profile_export_raw.jsonl";

/// One received response piece.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum RawResponse {
    /// One SSE message, stamped with the arrival of the read that completed it.
    Sse { perf_ns: u64, packets: Vec<Packet> },
    /// A whole non-SSE body.
    Text { perf_ns: u64, text: String },
}

/// One field of an SSE message (`name` empty for a comment).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Packet {
    pub name: &'static str,
    pub value: String,
}

/// What the processor knows about one request, for its raw line.
pub struct RawExchange<'a> {
    pub metadata: &'a RecordMetadata,
    pub start_perf_ns: u64,
    pub request_headers: &'a IndexMap<String, String>,
    pub status: Option<u16>,
    pub responses: Vec<RawResponse>,
    pub error: Option<&'a ErrorDetails>,
    /// The request body as sent, when known.
    pub payload: Option<&'a [u8]>,
}

/// The line as written, in AIPerf's key order. Its JSON Schema is
/// `docs/schemas/profile_export_raw_record.schema.json`.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "profile_export_raw.jsonl record", deny_unknown_fields)]
pub struct RawLine<'a> {
    metadata: &'a RecordMetadata,
    start_perf_ns: u64,
    request_headers: &'a IndexMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    responses: &'a [RawResponse],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorJson<'a>>,
    /// The request body: JSON, a string (not JSON), or `null` (unknown).
    #[schemars(with = "serde_json::Value")]
    payload: Payload<'a>,
}

/// The request body: its own JSON text when it is one compact JSON value (so the line stays one
/// line), re-encoded when it spans lines, a string when it is not JSON (multipart), `null` when
/// unknown.
enum Payload<'a> {
    Verbatim(&'a RawValue),
    Parsed(serde_json::Value),
    Text(String),
    Unknown,
}

impl<'a> Payload<'a> {
    fn of(body: Option<&'a [u8]>) -> Self {
        let Some(body) = body else {
            return Self::Unknown;
        };
        let multiline = body.iter().any(|b| *b == b'\n' || *b == b'\r');
        if !multiline {
            if let Ok(raw) = serde_json::from_slice::<&RawValue>(body) {
                return Self::Verbatim(raw);
            }
        } else if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            return Self::Parsed(v);
        }
        Self::Text(String::from_utf8_lossy(body).into_owned())
    }
}

impl Serialize for Payload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Verbatim(raw) => raw.serialize(s),
            Self::Parsed(v) => v.serialize(s),
            Self::Text(t) => t.serialize(s),
            Self::Unknown => s.serialize_none(),
        }
    }
}

/// Appends raw lines to `profile_export_raw.jsonl` (same flushing and failure rules as the
/// records file).
pub struct RawWriter {
    file: LineFile,
}

impl RawWriter {
    pub fn create(path: &Path) -> Result<Self, ExportError> {
        Ok(Self {
            file: LineFile::create(path)?,
        })
    }

    pub fn write(&mut self, x: &RawExchange) -> Result<(), ExportError> {
        self.file.write(&RawLine {
            metadata: x.metadata,
            start_perf_ns: x.start_perf_ns,
            request_headers: x.request_headers,
            status: x.status,
            responses: &x.responses,
            error: x.error.map(ErrorJson::from),
            payload: Payload::of(x.payload),
        })
    }

    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.file.flush()
    }

    pub fn lines(&self) -> u64 {
        self.file.lines()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn metadata() -> RecordMetadata {
        crate::records::tests::metadata()
    }

    fn line(x: &RawExchange) -> Value {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(RAW_FILE);
        let mut w = RawWriter::create(&path).expect("create");
        w.write(x).expect("write");
        w.flush().expect("flush");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    #[test]
    fn a_streamed_exchange_keeps_aiperfs_keys_and_the_body_verbatim() {
        let meta = metadata();
        let headers: IndexMap<String, String> = [
            ("Content-Type".to_string(), "application/json".to_string()),
            ("Authorization".to_string(), "<redacted>".to_string()),
        ]
        .into_iter()
        .collect();
        let body = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
        let v = line(&RawExchange {
            metadata: &meta,
            start_perf_ns: 42,
            request_headers: &headers,
            status: Some(200),
            responses: vec![
                RawResponse::Sse {
                    perf_ns: 50,
                    packets: vec![Packet {
                        name: "data",
                        value: "{\"x\":1}".into(),
                    }],
                },
                RawResponse::Sse {
                    perf_ns: 60,
                    packets: vec![Packet {
                        name: "data",
                        value: "[DONE]".into(),
                    }],
                },
            ],
            error: None,
            payload: Some(body),
        });
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(
            keys,
            [
                "metadata",
                "start_perf_ns",
                "request_headers",
                "status",
                "responses",
                "payload"
            ]
        );
        assert_eq!(v["metadata"], serde_json::to_value(&meta).expect("meta"));
        assert_eq!(v["start_perf_ns"], 42);
        assert_eq!(v["request_headers"]["Authorization"], "<redacted>");
        assert_eq!(
            v["responses"],
            json!([
                {"perf_ns": 50, "packets": [{"name": "data", "value": "{\"x\":1}"}]},
                {"perf_ns": 60, "packets": [{"name": "data", "value": "[DONE]"}]}
            ])
        );
        assert_eq!(
            v["payload"],
            serde_json::from_slice::<Value>(body).expect("body")
        );
    }

    #[test]
    fn failures_multiline_and_non_json_bodies_stay_one_line() {
        let meta = metadata();
        let headers = IndexMap::new();
        let err = ErrorDetails::new(Some(503), "Service Unavailable", "busy");
        let v = line(&RawExchange {
            metadata: &meta,
            start_perf_ns: 1,
            request_headers: &headers,
            status: Some(503),
            responses: vec![RawResponse::Text {
                perf_ns: 9,
                text: "busy".into(),
            }],
            error: Some(&err),
            payload: Some(b"{\n  \"a\": 1\n}"),
        });
        assert_eq!(v["responses"], json!([{"perf_ns": 9, "text": "busy"}]));
        assert_eq!(
            v["error"],
            json!({"code": 503, "type": "Service Unavailable", "message": "busy"})
        );
        assert_eq!(v["payload"], json!({"a": 1}));
        let v = line(&RawExchange {
            metadata: &meta,
            start_perf_ns: 1,
            request_headers: &headers,
            status: None,
            responses: Vec::new(),
            error: None,
            payload: Some(b"--boundary\r\nfile"),
        });
        assert_eq!(v["payload"], "--boundary\r\nfile");
        assert!(v.get("status").is_none());
        let v = line(&RawExchange {
            metadata: &meta,
            start_perf_ns: 1,
            request_headers: &headers,
            status: None,
            responses: Vec::new(),
            error: None,
            payload: None,
        });
        assert_eq!(v["payload"], Value::Null);
    }
}
