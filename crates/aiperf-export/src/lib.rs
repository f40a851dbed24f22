//! Export stage: the artifact files and console tables, with AIPerf's names and layouts.
//!
//! This is the serialization boundary: only this crate decides field names and formats, and it
//! only formats what [`aiperf_metrics::Summary`] already computed. Non-finite numbers never reach
//! a file: they are dropped from JSON, left empty in CSV and printed as `N/A`.

pub mod console;
pub mod csv_export;
pub mod input_config;
pub mod inputs;
pub mod json;
pub mod records;
pub mod schema;
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

/// Runs the given built-in exporters into `dir` and returns the console text (always rendered:
/// it is printed whatever is written).
pub fn write_summary(
    dir: &Path,
    report: &RunReport,
    exporters: &[Exporter],
) -> Result<String, ExportError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let json_path = dir.join(JSON_FILE);
    let csv_path = dir.join(CSV_FILE);
    let wants = |e: Exporter| exporters.contains(&e);
    if wants(Exporter::Json) {
        write_atomic(&json_path, &json::render(report))?;
    }
    if wants(Exporter::Csv) {
        write_atomic(&csv_path, &csv_export::render(&report.summary))?;
    }
    if wants(Exporter::Json) || wants(Exporter::Csv) {
        timeslices::write(dir, report)?;
    }
    let console = console::render(
        report,
        140,
        wants(Exporter::Csv).then_some(csv_path.as_path()),
        wants(Exporter::Json).then_some(json_path.as_path()),
    );
    if wants(Exporter::ConsoleText) {
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
