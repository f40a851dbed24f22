//! Reading a JSONL trace line by line, with the line numbers errors name.

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

/// A failure at one place of a trace file, printed as `file:line: reason`.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("{path}:{line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
}

impl TraceError {
    pub fn line(path: &Path, line: usize, reason: impl Into<String>) -> Self {
        TraceError::Line {
            path: path.display().to_string(),
            line,
            reason: reason.into(),
        }
    }

    pub fn file(path: &Path, reason: impl Into<String>) -> Self {
        TraceError::File {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }
}

/// Calls `each` with the 1-based number and text of every non-blank line of `path` (opened by
/// `aiperf_core::textfile`: gzip by name, a byte-order mark skipped); stops at the first error
/// `each` returns.
pub fn for_each_text_line(
    path: &Path,
    mut each: impl FnMut(usize, &str) -> Result<(), TraceError>,
) -> Result<(), TraceError> {
    let mut reader =
        aiperf_core::textfile::open(path).map_err(|e| TraceError::file(path, e.to_string()))?;
    let mut buf = String::new();
    let mut number = 0usize;
    loop {
        buf.clear();
        number += 1;
        let n = reader
            .read_line(&mut buf)
            .map_err(|e| TraceError::line(path, number, e.to_string()))?;
        if n == 0 {
            return Ok(());
        }
        let text = buf.trim();
        if !text.is_empty() {
            each(number, text)?;
        }
    }
}

/// Every non-blank line of `path` parsed as a JSON object, with its line number.
pub fn for_each_object(
    path: &Path,
    mut each: impl FnMut(usize, &serde_json::Map<String, Value>) -> Result<(), TraceError>,
) -> Result<(), TraceError> {
    for_each_text_line(path, |number, text| {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(row)) => each(number, &row),
            Ok(_) => Err(TraceError::line(path, number, "not a JSON object")),
            Err(e) => Err(TraceError::line(path, number, e.to_string())),
        }
    })
}
