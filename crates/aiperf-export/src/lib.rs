//! Export stage: the artifact files and console tables, with AIPerf's names and layouts.
//!
//! This is the serialization boundary: only this crate decides field names and formats, and it
//! only formats what [`aiperf_metrics::Summary`] already computed. Non-finite numbers never reach
//! a file: they are dropped from JSON, left empty in CSV and printed as `N/A`.

pub mod aggregate;
pub mod console;
pub mod csv_export;
pub mod gpu_telemetry;
pub mod input_config;
pub mod inputs;
pub mod json;
pub mod merge_records;
pub mod records;
pub mod schema;
pub mod server_console;
pub mod server_metrics;
pub mod server_metrics_parquet;
pub mod shards;
pub mod timeslices;

use std::path::{Path, PathBuf};

use aiperf_core::ErrorDetails;
use aiperf_metrics::Summary;

pub use input_config::{InputConfig, RunInfo};
pub use json::{ClientBound, LoadReport};
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

/// Everything the summary artifacts and the console need about a finished run: computed values
/// only, named and laid out by this crate's serializers.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub summary: Summary,
    /// Failed requests grouped by details, most frequent first.
    pub errors: Vec<(ErrorDetails, u64)>,
    pub benchmark_id: String,
    pub input_config: InputConfig,
    pub run_info: RunInfo,
    pub was_cancelled: bool,
    pub incomplete_reason: Option<String>,
    /// ISO-8601 local times, no timezone (AIPerf's format).
    pub start_time: String,
    pub end_time: String,
    pub metrics_title: String,
    pub cli_command: String,
    /// Sections beyond AIPerf's: what load was offered, and whether the client kept up.
    pub load_report: LoadReport,
    pub client_bound: ClientBound,
    /// SSE messages dropped as malformed over the run (see each record's count).
    pub malformed_sse_events: u64,
    /// What the servers' own metric pages said over the profiling window, when scraped.
    pub server_metrics: Option<server_metrics::ServerMetricsReport>,
    /// What the GPUs' telemetry pages said over the profiling window, when any answered.
    pub gpu_telemetry: Option<gpu_telemetry::GpuTelemetryReport>,
    /// A merged run's shards (`aiperf merge`); `None` for a run measured by one process.
    pub shards: Option<shards::ShardsReport>,
}

/// A built-in data exporter. The engine picks them by registry `implementation`, so the manifest
/// and this list must agree (checked by the engine's manifest cross-check test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exporter {
    /// `profile_export_aiperf.json` (and the timeslices JSON).
    Json,
    /// `profile_export_aiperf.csv` (and the timeslices CSV).
    Csv,
    /// `profile_export_console.txt`.
    ConsoleText,
}

impl Exporter {
    pub const ALL: [Exporter; 3] = [Self::Json, Self::Csv, Self::ConsoleText];

    /// The built-in exporter a registry entry names, if it names one.
    pub fn from_implementation(implementation: &str) -> Option<Exporter> {
        BUILTINS
            .iter()
            .find(|(i, _)| *i == implementation)
            .map(|(_, e)| *e)
    }
}

/// Every built-in data exporter: its registry `implementation` (the variant's path) and the
/// variant.
pub const BUILTINS: [(&str, Exporter); 3] = [
    ("aiperf_export::Exporter::Json", Exporter::Json),
    ("aiperf_export::Exporter::Csv", Exporter::Csv),
    (
        "aiperf_export::Exporter::ConsoleText",
        Exporter::ConsoleText,
    ),
];

/// What [`write_summary`] produced: the console text (always rendered, whatever could be
/// written) and every artifact that could not be written.
#[derive(Debug)]
pub struct SummaryOutput {
    pub console: String,
    pub failures: Vec<ExportError>,
}

/// Runs the given built-in exporters into `dir`. Each file is tried on its own, so a full disk
/// keeps what fits and loses nothing else; the console names only files that were written.
/// The tables are laid out for `width` columns (the terminal's).
pub fn write_summary(
    dir: &Path,
    report: &RunReport,
    exporters: &[Exporter],
    width: u16,
) -> SummaryOutput {
    let mut failures = Vec::new();
    let mut keep = |r: Result<(), ExportError>| match r {
        Ok(()) => true,
        Err(e) => {
            failures.push(e);
            false
        }
    };
    let dir_ok = keep(std::fs::create_dir_all(dir).map_err(io_err(dir)));
    let json_path = dir.join(JSON_FILE);
    let csv_path = dir.join(CSV_FILE);
    let wants = |e: Exporter| dir_ok && exporters.contains(&e);
    let json_ok = wants(Exporter::Json) && keep(write_atomic(&json_path, &json::render(report)));
    let csv_ok =
        wants(Exporter::Csv) && keep(write_atomic(&csv_path, &csv_export::render_report(report)));
    if wants(Exporter::Json) || wants(Exporter::Csv) {
        keep(timeslices::write(dir, report));
    }
    let console = console::render(
        report,
        width,
        csv_ok.then_some(csv_path.as_path()),
        json_ok.then_some(json_path.as_path()),
    );
    if wants(Exporter::ConsoleText) {
        keep(write_atomic(&dir.join(CONSOLE_FILE), &console));
    }
    SummaryOutput { console, failures }
}

/// Writes via a temporary file and a rename, so a reader never sees half a file; on failure
/// the temporary file is removed.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), ExportError> {
    let tmp = path.with_extension("tmp");
    let written = std::fs::write(&tmp, contents)
        .map_err(io_err(&tmp))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(io_err(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exporter_has_one_implementation_name() {
        for e in Exporter::ALL {
            let names: Vec<&str> = BUILTINS
                .iter()
                .filter(|(_, b)| *b == e)
                .map(|(i, _)| *i)
                .collect();
            assert_eq!(names.len(), 1, "{e:?}: {names:?}");
            assert_eq!(Exporter::from_implementation(names[0]), Some(e));
        }
        assert_eq!(
            Exporter::from_implementation("aiperf_export::json::Nope"),
            None
        );
    }
}
