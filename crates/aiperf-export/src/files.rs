//! The names of a run's export files: AIPerf's historical names, or every one derived from the
//! `--profile-export-prefix` base (`foo.json`, `foo.jsonl`, `foo_raw.jsonl`, ...), as AIPerf 0.13's
//! `ArtifactsConfig` derives them. Names are relative to the artifact directory.

/// `outputs.json` (`--export-outputs-json`): never renamed by the prefix.
pub const OUTPUTS_FILE: &str = "outputs.json";

/// The file name of every export that `--profile-export-prefix` renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFiles {
    pub json: String,
    pub csv: String,
    pub console: String,
    pub records: String,
    pub raw: String,
    pub timeslices_json: String,
    pub timeslices_csv: String,
    pub gpu_telemetry_jsonl: String,
    pub server_metrics_json: String,
    pub server_metrics_csv: String,
    pub server_metrics_jsonl: String,
    pub server_metrics_parquet: String,
    pub accuracy_jsonl: String,
}

impl Default for ExportFiles {
    fn default() -> Self {
        Self::new(None)
    }
}

impl ExportFiles {
    /// The names for a prefix base (already stripped of known suffixes), or AIPerf's
    /// historical names without one.
    pub fn new(base: Option<&str>) -> Self {
        let name = |suffix: &str, default: &str| match base {
            Some(b) if !b.is_empty() => format!("{b}{suffix}"),
            _ => default.to_string(),
        };
        Self {
            json: name(".json", crate::JSON_FILE),
            csv: name(".csv", crate::CSV_FILE),
            console: name("_console.txt", crate::CONSOLE_FILE),
            records: name(".jsonl", crate::RECORDS_FILE),
            raw: name("_raw.jsonl", crate::raw::RAW_FILE),
            timeslices_json: name("_timeslices.json", crate::timeslices::JSON_FILE),
            timeslices_csv: name("_timeslices.csv", crate::timeslices::CSV_FILE),
            gpu_telemetry_jsonl: name(
                "_gpu_telemetry.jsonl",
                crate::gpu_telemetry::GPU_TELEMETRY_JSONL_FILE,
            ),
            server_metrics_json: name(
                "_server_metrics.json",
                crate::server_metrics::SERVER_METRICS_JSON_FILE,
            ),
            server_metrics_csv: name(
                "_server_metrics.csv",
                crate::server_metrics::SERVER_METRICS_CSV_FILE,
            ),
            server_metrics_jsonl: name(
                "_server_metrics.jsonl",
                crate::server_metrics::SERVER_METRICS_JSONL_FILE,
            ),
            server_metrics_parquet: name(
                "_server_metrics.parquet",
                crate::server_metrics_parquet::SERVER_METRICS_PARQUET_FILE,
            ),
            accuracy_jsonl: name("_accuracy.jsonl", crate::accuracy::ACCURACY_JSONL_FILE),
        }
    }

    /// Every name, for moving an earlier run's files aside.
    pub fn all(&self) -> [&str; 14] {
        [
            &self.json,
            &self.csv,
            &self.console,
            &self.records,
            &self.raw,
            &self.timeslices_json,
            &self.timeslices_csv,
            &self.gpu_telemetry_jsonl,
            &self.server_metrics_json,
            &self.server_metrics_csv,
            &self.server_metrics_jsonl,
            &self.server_metrics_parquet,
            &self.accuracy_jsonl,
            crate::accuracy::ACCURACY_CSV_FILE,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_prefix_the_historical_names_stay() {
        let f = ExportFiles::default();
        assert_eq!(
            f.all(),
            [
                "profile_export_aiperf.json",
                "profile_export_aiperf.csv",
                "profile_export_console.txt",
                "profile_export.jsonl",
                "profile_export_raw.jsonl",
                "profile_export_aiperf_timeslices.json",
                "profile_export_aiperf_timeslices.csv",
                "gpu_telemetry_export.jsonl",
                "server_metrics_export.json",
                "server_metrics_export.csv",
                "server_metrics_export.jsonl",
                "server_metrics_export.parquet",
                "accuracy_export.jsonl",
                "accuracy_results.csv",
            ]
        );
        assert_eq!(ExportFiles::new(Some("")), f);
    }

    #[test]
    fn a_prefix_renames_every_file_as_aiperf_does() {
        assert_eq!(
            ExportFiles::new(Some("foo")).all(),
            [
                "foo.json",
                "foo.csv",
                "foo_console.txt",
                "foo.jsonl",
                "foo_raw.jsonl",
                "foo_timeslices.json",
                "foo_timeslices.csv",
                "foo_gpu_telemetry.jsonl",
                "foo_server_metrics.json",
                "foo_server_metrics.csv",
                "foo_server_metrics.jsonl",
                "foo_server_metrics.parquet",
                "foo_accuracy.jsonl",
                "accuracy_results.csv",
            ]
        );
        assert_eq!(ExportFiles::new(Some("sub/run1")).records, "sub/run1.jsonl");
    }
}
