//! `outputs.json` (`--export-outputs-json`): every profiled request's generated text beside its
//! identity and a few metrics, as AIPerf 0.13 writes it (`OutputsJsonExporter`):
//! `{"schema_version": "1.0", "data": [{session_num, conversation_id, turn_index, x_request_id,
//! request_start_ns, request_end_ns, metrics, response_text}]}`, entries sorted by session and
//! turn, indented by two spaces.
//!
//! Memory stays flat: the processor appends each entry to a fragment file as it goes and keeps
//! only a sort key and a byte range per entry; the document is assembled from the fragments at
//! the end, and the fragments are removed.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use aiperf_metrics::RecordValues;
use schemars::JsonSchema;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::jsonl::LineFile;
use crate::records::{display_value, MetricValue};
use crate::{io_err, ExportError};

/// The folder of fragment files (AIPerf's name), removed once `outputs.json` is written.
pub const FRAGMENTS_DIR: &str = "output_fragments";

/// The per-request metrics paired with each response (AIPerf's allow-list, in its order).
pub const METRIC_ALLOWLIST: [&str; 6] = [
    "input_sequence_length",
    "output_token_count",
    "output_sequence_length",
    "request_latency",
    "time_to_first_token",
    "inter_token_latency",
];

/// `outputs.json` as a whole (schema only: the file is assembled from fragments). Its JSON
/// Schema is `docs/schemas/outputs.schema.json`.
#[derive(JsonSchema)]
#[schemars(title = "outputs.json", deny_unknown_fields)]
#[allow(dead_code)]
pub struct OutputsDoc<'a> {
    /// `"1.0"`.
    schema_version: String,
    data: Vec<OutputEntry<'a>>,
}

/// One profiled request as it appears in `data`.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct OutputEntry<'a> {
    pub session_num: u64,
    pub conversation_id: &'a str,
    pub turn_index: usize,
    pub x_request_id: &'a str,
    pub request_start_ns: u64,
    pub request_end_ns: u64,
    /// Allow-listed metric tag to value, in display units.
    #[schemars(with = "indexmap::IndexMap<String, f64>")]
    pub metrics: OutputMetrics<'a>,
    /// The generated text; `null` when nothing was generated (failed requests).
    pub response_text: Option<&'a str>,
}

/// The allow-listed metrics this request has, in display units.
pub struct OutputMetrics<'a> {
    pub values: &'a RecordValues,
    pub failed: bool,
}

impl Serialize for OutputMetrics<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for tag in METRIC_ALLOWLIST {
            let Some(spec) = aiperf_metrics::registry::find(tag) else {
                continue;
            };
            if let Some(MetricValue::Scalar(v)) = display_value(spec, self.values, self.failed) {
                map.serialize_entry(tag, &crate::records::Number(v))?;
            }
        }
        map.end()
    }
}

/// Where an entry's fragment line is, and how it sorts.
struct Fragment {
    session_num: u64,
    turn_index: usize,
    offset: u64,
    len: u64,
}

/// Collects `outputs.json` entries during the run; [`OutputsWriter::finish`] writes the file.
pub struct OutputsWriter {
    fragments: LineFile,
    dir: PathBuf,
    index: Vec<Fragment>,
}

impl OutputsWriter {
    /// Opens the fragment file under `artifact_dir/output_fragments/`.
    pub fn create(artifact_dir: &Path) -> Result<Self, ExportError> {
        let dir = artifact_dir.join(FRAGMENTS_DIR);
        let fragments = LineFile::create(&dir.join("output_fragments_record_processor_0.jsonl"))?;
        Ok(Self {
            fragments,
            dir,
            index: Vec::new(),
        })
    }

    pub fn add(&mut self, entry: &OutputEntry) -> Result<(), ExportError> {
        let offset = self.fragments.bytes();
        self.fragments.write(entry)?;
        self.index.push(Fragment {
            session_num: entry.session_num,
            turn_index: entry.turn_index,
            offset,
            len: self.fragments.bytes() - offset,
        });
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), ExportError> {
        self.fragments.flush()
    }

    /// Gives up after a failed write: the fragments are removed and no `outputs.json` is
    /// written.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(self.fragments.path());
        let _ = std::fs::remove_dir(&self.dir);
    }

    /// Writes `path` (through a `.tmp` file) from the fragments, sorted by session and turn,
    /// then removes the fragments.
    pub fn finish(mut self, path: &Path) -> Result<usize, ExportError> {
        self.fragments.flush()?;
        self.index
            .sort_by_key(|f| (f.session_num, f.turn_index, f.offset));
        let written = self.assemble(path);
        let _ = std::fs::remove_file(self.fragments.path());
        let _ = std::fs::remove_dir(&self.dir);
        written.map(|()| self.index.len())
    }

    fn assemble(&self, path: &Path) -> Result<(), ExportError> {
        let tmp = path.with_extension("tmp");
        let result = self
            .write_document(&tmp)
            .and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    fn write_document(&self, tmp: &Path) -> Result<(), ExportError> {
        let source = self.fragments.path();
        let mut input = File::open(source).map_err(io_err(source))?;
        let mut out = BufWriter::new(File::create(tmp).map_err(io_err(tmp))?);
        let io = |e: std::io::Error| io_err(tmp)(e);
        out.write_all(b"{\n  \"schema_version\": \"1.0\",\n  \"data\": [")
            .map_err(io)?;
        let mut line = Vec::new();
        for (i, f) in self.index.iter().enumerate() {
            line.resize(f.len as usize, 0);
            input
                .seek(SeekFrom::Start(f.offset))
                .and_then(|_| input.read_exact(&mut line))
                .map_err(io_err(source))?;
            let value: serde_json::Value =
                serde_json::from_slice(&line).map_err(|e| io_err(source)(e.into()))?;
            let pretty = serde_json::to_string_pretty(&value).map_err(|e| io(e.into()))?;
            out.write_all(if i == 0 { b"\n" } else { b",\n" })
                .map_err(io)?;
            out.write_all(indent(&pretty, "    ").as_bytes())
                .map_err(io)?;
        }
        let end: &[u8] = if self.index.is_empty() {
            b"]\n}"
        } else {
            b"\n  ]\n}"
        };
        out.write_all(end).map_err(io)?;
        out.flush().map_err(io)
    }
}

/// `text` with `prefix` before every line (JSON text: newlines only between tokens).
fn indent(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for (i, l) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(prefix);
        out.push_str(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aiperf_metrics::RecordInput;

    fn success() -> RecordValues {
        // Start at 0, content at 10, 12 and 15 ms; 4 input and 6 output tokens.
        let content_ns = [10_000_000, 12_000_000, 15_000_000];
        RecordValues::of_success(&RecordInput {
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
        .expect("ordered timestamps")
    }

    #[test]
    fn entries_are_sorted_by_session_and_turn_and_pretty_printed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = success();
        let failed = RecordValues::of_error(Some(4));
        let mut w = OutputsWriter::create(dir.path()).expect("create");
        let entry = |session_num, turn_index, values, failed, text| OutputEntry {
            session_num,
            conversation_id: "c",
            turn_index,
            x_request_id: "r",
            request_start_ns: 1,
            request_end_ns: 2,
            metrics: OutputMetrics { values, failed },
            response_text: text,
        };
        w.add(&entry(1, 0, &ok, false, Some("b\n\"q\"")))
            .expect("add");
        w.add(&entry(0, 1, &failed, true, None)).expect("add");
        w.add(&entry(0, 0, &ok, false, Some("a"))).expect("add");
        let path = dir.path().join(crate::files::OUTPUTS_FILE);
        assert_eq!(w.finish(&path).expect("finish"), 3);
        assert!(
            !dir.path().join(FRAGMENTS_DIR).exists(),
            "fragments removed"
        );
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.starts_with("{\n  \"schema_version\": \"1.0\",\n  \"data\": [\n    {\n      \"session_num\": 0,\n"),
            "{text}"
        );
        assert!(text.ends_with("\n    }\n  ]\n}"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let order: Vec<(u64, u64)> = v["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|e| {
                (
                    e["session_num"].as_u64().expect("n"),
                    e["turn_index"].as_u64().expect("t"),
                )
            })
            .collect();
        assert_eq!(order, [(0, 0), (0, 1), (1, 0)]);
        let first = &v["data"][0];
        let keys: Vec<&String> = first.as_object().expect("entry").keys().collect();
        assert_eq!(
            keys,
            [
                "session_num",
                "conversation_id",
                "turn_index",
                "x_request_id",
                "request_start_ns",
                "request_end_ns",
                "metrics",
                "response_text"
            ]
        );
        // TTFT 10 ms, latency 15 ms, ITL (15 - 10) / 5 = 1 ms; tokens as integers.
        assert_eq!(
            first["metrics"],
            serde_json::json!({
                "input_sequence_length": 4,
                "output_token_count": 6,
                "output_sequence_length": 6,
                "request_latency": 15,
                "time_to_first_token": 10,
                "inter_token_latency": 1
            })
        );
        assert_eq!(v["data"][1]["metrics"], serde_json::json!({}));
        assert_eq!(v["data"][1]["response_text"], serde_json::Value::Null);
        assert_eq!(v["data"][2]["response_text"], "b\n\"q\"");
    }

    #[test]
    fn no_entries_is_an_empty_list() {
        let dir = tempfile::tempdir().expect("temp dir");
        let w = OutputsWriter::create(dir.path()).expect("create");
        let path = dir.path().join("outputs.json");
        assert_eq!(w.finish(&path).expect("finish"), 0);
        let w = OutputsWriter::create(dir.path()).expect("create");
        w.abandon();
        assert!(
            !dir.path().join(FRAGMENTS_DIR).exists(),
            "fragments removed"
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\n  \"schema_version\": \"1.0\",\n  \"data\": []\n}"
        );
    }
}
