//! The "Output" and "Goodput" groups: where artifacts go and what the report adds.

use std::path::PathBuf;

use aiperf_metrics::Goodput;
use aiperf_plugins::EndpointMetadata;

use super::{invalid, positive, ConfigError, LoadMode};
use crate::cli::ProfileArgs;

/// `--export-level` (alias `--profile-export-level`): which output files a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportLevel {
    /// Only the aggregate files (`profile_export_aiperf.json`/`.csv`, console text,
    /// timeslices, ...): no per-request `profile_export.jsonl`.
    Summary,
    /// The summary files plus `profile_export.jsonl`, one line per request (AIPerf's default).
    #[default]
    Records,
    /// Records plus `profile_export_raw.jsonl` (every request and response body).
    Raw,
}

impl ExportLevel {
    /// Whether the per-request `profile_export.jsonl` is written.
    pub fn writes_records(self) -> bool {
        matches!(self, ExportLevel::Records | ExportLevel::Raw)
    }

    /// AIPerf's name for the level.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportLevel::Summary => "summary",
            ExportLevel::Records => "records",
            ExportLevel::Raw => "raw",
        }
    }
}

/// Extra artifacts and their names (`--profile-export-prefix`, `--export-outputs-json`,
/// `--export-http-trace`, `--show-trace-timing`); none by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputOptions {}

/// The flags of [`OutputOptions`] resolved.
pub(super) fn options(_args: &crate::cli::OutputArgs) -> Result<OutputOptions, ConfigError> {
    Ok(OutputOptions::default())
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Output {
    /// `--goodput`, parsed into SLOs against the metric table.
    pub goodput: Option<Goodput>,
    /// `--slice-duration` in seconds.
    pub slice_duration_s: Option<f64>,
    /// `--export-level`.
    pub export_level: ExportLevel,
}

/// `--export-level` as typed (clap has already checked it against the three names).
fn export_level(value: &str) -> Result<ExportLevel, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "summary" => Ok(ExportLevel::Summary),
        "records" => Ok(ExportLevel::Records),
        "raw" => Err(invalid(
            "--export-level",
            "raw (profile_export_raw.jsonl with every request and response body) is not built \
             yet; use records",
        )),
        other => Err(invalid(
            "--export-level",
            format!("'{other}' is not one of summary, records, raw"),
        )),
    }
}

pub(super) fn resolve(args: &ProfileArgs) -> Result<Output, ConfigError> {
    let goodput = args
        .goodput
        .as_deref()
        .map(Goodput::parse)
        .transpose()
        .map_err(|e| invalid("--goodput", e))?;
    if let Some(s) = args.slice_duration {
        positive("--slice-duration", s)?;
    }
    Ok(Output {
        goodput,
        slice_duration_s: args.slice_duration,
        export_level: export_level(&args.export_level)?,
    })
}

/// `--artifact-dir` as given, else AIPerf's run name under `artifacts/`:
/// `<model>[_multi]-<service kind>-<endpoint type>-<stimulus>`.
pub(super) fn artifact_dir(
    args: &ProfileArgs,
    models: &[String],
    endpoint: &EndpointMetadata,
    load: &LoadMode,
) -> PathBuf {
    if let Some(d) = &args.artifact_dir {
        return d.clone();
    }
    let mut name = models
        .first()
        .map(|m| m.replace('/', "_"))
        .unwrap_or_default();
    if models.len() > 1 {
        name.push_str("_multi");
    }
    let stimulus = load.stimulus();
    PathBuf::from("artifacts").join(format!(
        "{name}-{}-{}-{stimulus}",
        endpoint.service_kind, args.endpoint_type
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;
    use aiperf_plugins::Registry;
    use aiperf_timing::arrival::ArrivalPattern;

    #[test]
    fn goodput_is_parsed_once_here() {
        let o = resolve(&args(&[
            "--goodput",
            "time_to_first_token:200 request_latency:300",
        ]))
        .unwrap();
        assert_eq!(
            o.goodput,
            Some(Goodput::parse("time_to_first_token:200 request_latency:300").unwrap())
        );
        assert_eq!(
            resolve(&args(&[])).unwrap(),
            Output {
                goodput: None,
                slice_duration_s: None,
                export_level: ExportLevel::Records,
            }
        );
        let e = resolve(&args(&["--goodput", "ttft:x"]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--goodput: 'ttft:x': "), "{e}");
        assert_eq!(
            resolve(&args(&["--slice-duration", "0"]))
                .unwrap_err()
                .to_string(),
            "--slice-duration: must be > 0, got 0"
        );
        assert_eq!(
            resolve(&args(&["--slice-duration", "2.5"]))
                .unwrap()
                .slice_duration_s,
            Some(2.5)
        );
    }

    #[test]
    fn export_level_is_typed_and_raw_is_refused() {
        let level = |a: &[&str]| resolve(&args(a)).map(|o| o.export_level);
        assert_eq!(level(&[]), Ok(ExportLevel::Records));
        assert_eq!(
            level(&["--export-level", "summary"]),
            Ok(ExportLevel::Summary)
        );
        assert_eq!(
            level(&["--profile-export-level", "SUMMARY"]),
            Ok(ExportLevel::Summary)
        );
        assert_eq!(
            level(&["--export-level", "Records"]),
            Ok(ExportLevel::Records)
        );
        assert_eq!(
            level(&["--export-level", "raw"]).unwrap_err().to_string(),
            "--export-level: raw (profile_export_raw.jsonl with every request and response \
             body) is not built yet; use records"
        );
        assert!(!ExportLevel::Summary.writes_records());
        assert!(ExportLevel::Records.writes_records());
        assert!(ExportLevel::Raw.writes_records());
    }

    #[test]
    fn artifact_dir_names_the_run() {
        let meta = Registry::builtin().endpoint_metadata("chat").unwrap();
        let dir = |a: &[&str], models: &[&str], load: LoadMode| {
            let models: Vec<String> = models.iter().map(|m| m.to_string()).collect();
            artifact_dir(&args(a), &models, &meta, &load)
        };
        let rate = |cap| LoadMode::Rate {
            rate: 2.5,
            pattern: ArrivalPattern::Poisson,
            smoothness: None,
            cap,
            ramp_s: None,
        };
        assert_eq!(
            dir(
                &[],
                &["org/m"],
                LoadMode::Concurrency {
                    concurrency: 8,
                    ramp_s: None
                }
            ),
            PathBuf::from("artifacts/org_m-openai-chat-concurrency8")
        );
        assert_eq!(
            dir(&[], &["a", "b"], rate(None)),
            PathBuf::from("artifacts/a_multi-openai-chat-request_rate2.5")
        );
        assert_eq!(
            dir(&[], &["a"], rate(Some(4))),
            PathBuf::from("artifacts/a-openai-chat-concurrency4-request_rate2.5")
        );
        assert_eq!(
            dir(
                &[],
                &["a"],
                LoadMode::UserCentric {
                    rate: 5.0,
                    users: 2
                }
            ),
            PathBuf::from("artifacts/a-openai-chat-user_centric_rate5-users2")
        );
        let fixed = LoadMode::FixedSchedule {
            auto_offset: true,
            start_offset_ms: None,
            end_offset_ms: None,
            cap: None,
        };
        assert_eq!(
            dir(&[], &["a"], fixed.clone()),
            PathBuf::from("artifacts/a-openai-chat-fixed_schedule")
        );
        assert_eq!(
            dir(&["--artifact-dir", "out/x"], &["a"], fixed),
            PathBuf::from("out/x")
        );
    }
}
