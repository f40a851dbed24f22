//! Output flags beyond the artifact directory and export level: file naming
//! (`--profile-export-prefix`), extra exports (`--export-outputs-json`, `--export-http-trace`)
//! and the HTTP trace console table (`--show-trace-timing`). Resolved in `resolve/output.rs`.

use std::path::PathBuf;

use clap::Args;

/// `aiperf profile` flags choosing extra artifacts and their names.
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Base filename for ALL exported files. With prefix 'foo' every output becomes `foo.csv`,
    /// `foo.json`, `foo_timeslices.{csv,json}`, `foo.jsonl`, `foo_raw.jsonl`,
    /// `foo_gpu_telemetry.jsonl`, and `foo_server_metrics.{jsonl,json,csv,parquet}`. When unset,
    /// the historical per-file names are used. Known suffixes (e.g. `_raw.jsonl`,
    /// `_timeslices.csv`, `.json`) are stripped from the value; an absolute path keeps only its
    /// file name.
    #[arg(
        long,
        visible_alias = "profile-export-file",
        value_name = "PATH",
        help_heading = "Output"
    )]
    pub profile_export_prefix: Option<PathBuf>,
    /// Export generated response text to outputs.json after the run.
    #[arg(long, help_heading = "Output")]
    pub export_outputs_json: bool,
    /// Include HTTP trace data (timestamps, chunk counts, byte counts) in profile_export.jsonl.
    #[arg(long, help_heading = "HTTP Trace")]
    pub export_http_trace: bool,
    /// Display HTTP trace timing metrics in the console at the end of the benchmark.
    #[arg(long, help_heading = "HTTP Trace")]
    pub show_trace_timing: bool,
}
