//! Export stage: the artifact files and console tables, with AIPerf's names and layouts.
//!
//! This is the serialization boundary: only this crate decides field names and formats, and it
//! only formats what [`aiperf_metrics::Summary`] already computed. Non-finite numbers never reach
//! a file: they are dropped from JSON, left empty in CSV and printed as `N/A`.

pub mod accuracy;
pub mod aggregate;
pub mod console;
pub mod csv_export;
pub mod files;
pub mod gpu_telemetry;
pub mod input_config;
pub mod inputs;
pub mod json;
pub mod jsonl;
pub mod merge_records;
pub mod outputs;
pub mod raw;
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

pub use files::{ExportFiles, OUTPUTS_FILE};
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
    /// `--accuracy-benchmark`: the graded answers of the profiling phase.
    pub accuracy: Option<aiperf_accuracy::summary::AccuracySummary>,
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
    write_summary_with(
        dir,
        &ExportFiles::default(),
        report,
        exporters,
        width,
        &console::ConsoleOptions::default(),
    )
}

/// [`write_summary`] under the given file names (`--profile-export-prefix`) with the console
/// options (`--show-trace-timing`, more files in the footer).
pub fn write_summary_with(
    dir: &Path,
    files: &ExportFiles,
    report: &RunReport,
    exporters: &[Exporter],
    width: u16,
    console_opts: &console::ConsoleOptions,
) -> SummaryOutput {
    let mut failures = Vec::new();
    let mut keep = |r: Result<(), ExportError>| match r {
        Ok(()) => true,
        Err(e) => {
            failures.push(e);
            false
        }
    };
    let json_path = dir.join(&files.json);
    let csv_path = dir.join(&files.csv);
    // A prefix with a directory part (`sub/foo`) writes into that subdirectory.
    let base_dir = json_path.parent().unwrap_or(dir);
    let dir_ok = keep(std::fs::create_dir_all(base_dir).map_err(io_err(base_dir)));
    let wants = |e: Exporter| dir_ok && exporters.contains(&e);
    let json_ok = wants(Exporter::Json) && keep(write_atomic(&json_path, &json::render(report)));
    let csv_ok =
        wants(Exporter::Csv) && keep(write_atomic(&csv_path, &csv_export::render_report(report)));
    if wants(Exporter::Json) || wants(Exporter::Csv) {
        keep(timeslices::write_named(
            dir,
            &files.timeslices_json,
            &files.timeslices_csv,
            report,
        ));
    }
    if let Some(acc) = report.accuracy.as_ref().filter(|_| dir_ok) {
        keep(accuracy::write_csv(dir, acc).map(|_| ()));
    }
    let console = console::render_with(
        report,
        width,
        csv_ok.then_some(csv_path.as_path()),
        json_ok.then_some(json_path.as_path()),
        console_opts,
    );
    if wants(Exporter::ConsoleText) {
        keep(write_atomic(&dir.join(&files.console), &console));
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

    /// A run of two streamed requests with HTTP timings, as the engine reports it.
    fn report_with_http_trace() -> RunReport {
        use aiperf_metrics::load::{LoadAnalysis, Spread};
        use aiperf_metrics::{Accumulator, Applicability, HttpTrace, RecordInput, RecordValues};
        const MS: u64 = 1_000_000;
        let mut acc = Accumulator::new(Applicability::STREAMED_CHAT);
        for (i, sending_ms) in [1, 3].into_iter().enumerate() {
            let content = [10 * MS, 12 * MS];
            let v = RecordValues::of_success(&RecordInput {
                start_ns: 0,
                response_head_ns: Some(5 * MS),
                end_ns: 12 * MS,
                content_ns: &content,
                first_output_ns: Some(10 * MS),
                input_tokens: Some(4),
                output_tokens: Some(2),
                http: Some(HttpTrace {
                    sending_ns: sending_ms * MS,
                    waiting_ns: 2 * MS,
                    receiving_ns: 7 * MS,
                    bytes_sent: 2048,
                    bytes_received: 1024,
                    chunks_received: 2,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .expect("ordered timestamps");
            acc.add_success(&v, 1_700_000_000_000_000_000 + i as u64 * MS);
        }
        let load = LoadAnalysis {
            requests_sent: 2,
            requested_rate: None,
            scheduled_rate: None,
            achieved_rate: None,
            lateness: Spread::default(),
            event_loop_lag: None,
            backlog_pauses: 0,
            backlog_paused_s: 0.0,
            cpu: None,
            reasons: Vec::new(),
        };
        let input_config: InputConfig = serde_json::from_value(serde_json::json!({
            "models": ["m"],
            "endpoint": {"type": "chat", "urls": ["http://127.0.0.1:8000"],
                "custom_endpoint": null, "streaming": true, "timeout": 600.0,
                "use_legacy_max_tokens": false, "use_server_token_count": false,
                "extra": {}, "headers": {}, "api_key": null},
            "tokenizer": {"name": "m", "revision": "main", "used": "builtin", "fallback": false},
            "datasets": [{"type": "file", "path": "d.jsonl", "format": null, "entries": 2,
                "sampling": "sequential"}],
            "phases": {"warmup": null, "profiling": {"type": "request_rate", "concurrency": 1,
                "requests": 2, "sessions": null, "duration": null, "grace_period": null,
                "load": {"request_rate": 10.0, "arrival_pattern": "poisson",
                    "arrival_smoothness": null, "max_concurrency": null,
                    "ramp_duration": null}}},
            "artifacts": {"dir": "artifacts/run"}
        }))
        .expect("an input_config");
        RunReport {
            summary: acc.summarize(),
            errors: Vec::new(),
            benchmark_id: "0123456789ab".into(),
            input_config,
            run_info: RunInfo::new("0123456789ab".into(), 1, &Default::default(), "x".into()),
            was_cancelled: false,
            incomplete_reason: None,
            start_time: "2024-01-02T03:04:05.000006".into(),
            end_time: "2024-01-02T03:04:07.500000".into(),
            metrics_title: "LLM Metrics".into(),
            cli_command: "aiperf profile".into(),
            load_report: LoadReport::new(input_config::TimingMode::RequestRate, &load),
            client_bound: ClientBound::from(&load),
            malformed_sse_events: 0,
            server_metrics: None,
            gpu_telemetry: None,
            accuracy: None,
            shards: None,
        }
    }

    #[test]
    fn a_prefix_names_every_summary_file_and_the_footer_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let raw = d.join("foo_raw.jsonl");
        let out = write_summary_with(
            d,
            &ExportFiles::new(Some("sub/foo")),
            &report_with_http_trace(),
            &Exporter::ALL,
            140,
            &console::ConsoleOptions {
                show_trace_timing: true,
                more_files: vec![("Raw Records", raw.as_path())],
            },
        );
        assert!(out.failures.is_empty(), "{:?}", out.failures);
        for name in ["sub/foo.json", "sub/foo.csv", "sub/foo_console.txt"] {
            assert!(d.join(name).is_file(), "{name}");
        }
        assert!(!d.join(JSON_FILE).exists());
        let footer = format!(
            "CSV Export: {}\nJSON Export: {}\nRaw Records: {}\n",
            d.join("sub/foo.csv").display(),
            d.join("sub/foo.json").display(),
            raw.display()
        );
        assert!(out.console.ends_with(&footer), "{}", out.console);
        let saved = std::fs::read_to_string(d.join("sub/foo_console.txt")).expect("console");
        assert_eq!(saved, out.console);
        // The trace table comes before the metric tables; its sending row is worked by hand:
        // 1 and 3 ms give avg 2, min 1, max 3, std 1.
        let trace = saved
            .find("NVIDIA AIPerf | HTTP Trace Timing")
            .expect("trace");
        let metrics = saved.find("NVIDIA AIPerf | LLM Metrics").expect("metrics");
        assert!(trace < metrics);
        let sending = saved
            .lines()
            .find(|l| l.contains("HTTP Sending (ms)"))
            .expect("sending row");
        let cells: Vec<&str> = sending
            .split(['│', '┆'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(cells[1..4], ["2.00", "1.00", "3.00"]);
        assert_eq!(cells[7], "1.00");
        // Without the option, no trace table.
        let plain = console::render(&report_with_http_trace(), 140, None, None);
        assert!(!plain.contains("HTTP Trace Timing"));
    }
}
