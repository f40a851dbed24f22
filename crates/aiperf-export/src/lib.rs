//! Export stage: the artifact files and console tables, with AIPerf's names and layouts.
//!
//! This is the serialization boundary: only this crate decides field names and formats, and it
//! only formats what [`aiperf_metrics::Summary`] already computed. Non-finite numbers never reach
//! a file: they are dropped from JSON, left empty in CSV and printed as `N/A`.

pub mod console;
pub mod csv_export;
pub mod inputs;
pub mod json;
pub mod records;
pub mod timeslices;

use std::path::{Path, PathBuf};

use aiperf_core::ErrorDetails;
use aiperf_metrics::Summary;
use serde_json::Value;

pub use records::{RecordLine, RecordWriter};

/// File names (AIPerf's defaults).
pub const JSON_FILE: &str = "profile_export_aiperf.json";
pub const CSV_FILE: &str = "profile_export_aiperf.csv";
pub const RECORDS_FILE: &str = "profile_export.jsonl";
pub const INPUTS_FILE: &str = "inputs.json";
pub const CONSOLE_FILE: &str = "profile_export_console.txt";

/// Why an artifact could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Everything the summary artifacts and the console need about a finished run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub summary: Summary,
    /// Failed requests grouped by details, most frequent first.
    pub errors: Vec<(ErrorDetails, u64)>,
    pub benchmark_id: String,
    pub input_config: Value,
    pub run_info: Value,
    pub was_cancelled: bool,
    pub incomplete_reason: Option<String>,
    /// ISO-8601 local times, no timezone (AIPerf's format).
    pub start_time: String,
    pub end_time: String,
    pub metrics_title: String,
    pub cli_command: String,
    /// Top-level JSON sections beyond AIPerf's (load report, client-bound verdict).
    pub extra: serde_json::Map<String, Value>,
    /// Lines printed under the tables (load summary, client-bound warning).
    pub notes: Vec<String>,
}

/// Built-in data exporters (registry `implementation` values).
pub const IMPLEMENTATIONS: [&str; 3] = [
    "aiperf_export::json::Json",
    "aiperf_export::csv_export::Csv",
    "aiperf_export::console::ConsoleText",
];

/// Runs the built-in exporters named by `implementations` into `dir` and returns the console
/// text (always rendered: it is printed whatever is written).
pub fn write_summary(
    dir: &Path,
    report: &RunReport,
    implementations: &[&str],
) -> Result<String, ExportError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let json_path = dir.join(JSON_FILE);
    let csv_path = dir.join(CSV_FILE);
    let wants = |i: &str| implementations.contains(&i);
    if wants(IMPLEMENTATIONS[0]) {
        write_atomic(&json_path, &json::render(report))?;
    }
    if wants(IMPLEMENTATIONS[1]) {
        write_atomic(&csv_path, &csv_export::render(&report.summary))?;
    }
    if wants(IMPLEMENTATIONS[0]) || wants(IMPLEMENTATIONS[1]) {
        timeslices::write(dir, report)?;
    }
    let console = console::render(
        report,
        140,
        wants(IMPLEMENTATIONS[1]).then_some(csv_path.as_path()),
        wants(IMPLEMENTATIONS[0]).then_some(json_path.as_path()),
    );
    if wants(IMPLEMENTATIONS[2]) {
        write_atomic(&dir.join(CONSOLE_FILE), &console)?;
    }
    Ok(console)
}

/// Writes via a temporary file and a rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), ExportError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}
