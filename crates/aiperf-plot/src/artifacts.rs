//! Readers for the files a run leaves behind, keeping only what the charts need.
//!
//! A damaged line of a JSONL file is skipped and counted, never fatal: a run killed mid-write
//! still gets its pictures, with a note saying how many lines were unreadable.

use std::fs::File;
use std::io::{BufRead, BufReader};

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::PlotError;

/// A JSON file read whole (summaries, aggregates, timeslices).
pub fn read_json(path: &Path) -> Result<Value, PlotError> {
    let file = File::open(path).map_err(|e| PlotError::unreadable(path, e))?;
    serde_json::from_reader(BufReader::new(file)).map_err(|e| PlotError::unreadable(path, e))
}

/// Lines of a JSONL file parsed as `T`; unparseable lines are counted in `bad` and the first
/// one's reason kept.
pub struct Lines<T> {
    pub items: Vec<T>,
    pub bad: usize,
    pub first_bad: Option<String>,
}

pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Lines<T>, PlotError> {
    let file = File::open(path).map_err(|e| PlotError::unreadable(path, e))?;
    let mut out = Lines {
        items: Vec::new(),
        bad: 0,
        first_bad: None,
    };
    let mut reader = BufReader::new(file);
    let mut line: Vec<u8> = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        // Bytes, not `lines()`: one line cut inside a UTF-8 sequence (a run killed mid-write)
        // must cost that line, not the file.
        if reader
            .read_until(b'\n', &mut line)
            .map_err(|e| PlotError::unreadable(path, e))?
            == 0
        {
            break;
        }
        n += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<T>(&line) {
            Ok(item) => out.items.push(item),
            Err(e) => {
                out.bad += 1;
                out.first_bad
                    .get_or_insert_with(|| format!("{}:{n}: {e}", path.display()));
            }
        }
    }
    Ok(out)
}

impl<T> Lines<T> {
    /// A note for the report when lines were skipped.
    pub fn note(&self, what: &str) -> Option<String> {
        self.first_bad.as_ref().map(|first| {
            format!(
                "{} unreadable line(s) of {what} skipped (first: {first})",
                self.bad
            )
        })
    }
}

/// One line of `profile_export.jsonl`, reduced to what the charts use.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub metadata: RecordMeta,
    #[serde(default)]
    pub metrics: RecordMetrics,
    #[serde(default)]
    pub error: Option<RecordError>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecordMeta {
    pub request_start_ns: u64,
    #[serde(default)]
    pub request_end_ns: Option<u64>,
    #[serde(default)]
    pub credit_issued_ns: Option<u64>,
    #[serde(default)]
    pub intended_send_ns: Option<u64>,
    #[serde(default)]
    pub was_cancelled: bool,
}

/// The per-request metrics the charts draw (display units: ms, tokens).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecordMetrics {
    pub time_to_first_token: Option<Scalar>,
    pub inter_token_latency: Option<Scalar>,
    pub request_latency: Option<Scalar>,
    pub output_sequence_length: Option<Scalar>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Scalar {
    pub value: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecordError {
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl Record {
    /// What happened to the request, for colouring.
    pub fn outcome(&self) -> Outcome {
        if self.metadata.was_cancelled {
            Outcome::Cancelled
        } else if self.error.is_some() {
            Outcome::Error
        } else {
            Outcome::Ok
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error,
    Cancelled,
}

/// One GPU sample of `gpu_telemetry_export.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct GpuSample {
    #[serde(default)]
    pub gpu_index: Option<u32>,
    #[serde(default)]
    pub gpu_uuid: String,
    #[serde(default)]
    pub telemetry_source_url: String,
    pub timestamp_ns: u64,
    #[serde(default)]
    pub telemetry_data: serde_json::Map<String, Value>,
}

/// One scrape of `server_metrics_export.jsonl`: metric name -> samples.
#[derive(Debug, Clone, Deserialize)]
pub struct Scrape {
    pub endpoint_url: String,
    pub timestamp_ns: u64,
    #[serde(default)]
    pub metrics: serde_json::Map<String, Value>,
}

/// The files of one run directory, by AIPerf's names or a `--profile-export-prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFiles {
    pub dir: PathBuf,
    pub summary: PathBuf,
    /// `profile_export.jsonl` or `PREFIX.jsonl`.
    pub records: Option<PathBuf>,
}

impl RunFiles {
    /// A sibling file: `profile_export_aiperf_timeslices.json` for the default summary name,
    /// `PREFIX_timeslices.json` for a prefixed one.
    pub fn sibling(&self, suffix: &str, default_name: &str) -> Option<PathBuf> {
        let stem = self.summary.file_stem()?.to_str()?;
        let named = if stem == "profile_export_aiperf" {
            self.dir.join(default_name)
        } else {
            self.dir.join(format!("{stem}_{suffix}"))
        };
        named.is_file().then_some(named)
    }

    pub fn timeslices(&self) -> Option<PathBuf> {
        self.sibling("timeslices.json", "profile_export_aiperf_timeslices.json")
    }

    pub fn gpu_telemetry(&self) -> Option<PathBuf> {
        self.sibling("gpu_telemetry.jsonl", "gpu_telemetry_export.jsonl")
    }

    pub fn server_metrics(&self) -> Option<PathBuf> {
        self.sibling("server_metrics.jsonl", "server_metrics_export.jsonl")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_line_costs_only_that_line() {
        let t = tempfile::tempdir().expect("tempdir");
        let path = t.path().join("r.jsonl");
        let mut bytes = b"{\"value\": 1.0}\n\n{\"value\": 2.0}\n{\"value\": \"".to_vec();
        bytes.extend_from_slice(&[0xc3]);
        std::fs::write(&path, bytes).expect("write");
        let lines = read_jsonl::<Scalar>(&path).expect("read");
        assert_eq!(
            lines.items.iter().map(|s| s.value).collect::<Vec<_>>(),
            vec![1.0, 2.0]
        );
        assert_eq!(lines.bad, 1);
        let note = lines.note("records").expect("note");
        assert!(note.contains("r.jsonl:4"), "{note}");
    }
}
