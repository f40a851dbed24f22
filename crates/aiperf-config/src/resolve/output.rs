//! The "Output" and "Goodput" groups: where artifacts go and what the report adds.

use std::path::{Component, Path, PathBuf};

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
    /// Whether `profile_export_raw.jsonl` (request and response bodies) is written.
    pub fn writes_raw(self) -> bool {
        self == ExportLevel::Raw
    }

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
pub struct OutputOptions {
    /// `--profile-export-prefix` with AIPerf's known suffixes stripped: the base name of every
    /// export (`<base>.json`, `<base>.jsonl`, ...), relative to the artifact directory. `None`
    /// keeps AIPerf's historical file names.
    pub prefix: Option<String>,
    /// `--export-outputs-json`: `outputs.json` with every profiled response's text.
    pub export_outputs_json: bool,
    /// `--export-http-trace`: a `trace_data` object on each `profile_export.jsonl` line.
    pub export_http_trace: bool,
    /// `--show-trace-timing`: the HTTP trace timing table in the console.
    pub show_trace_timing: bool,
}

/// Suffixes stripped from `--profile-export-prefix` (AIPerf's `_PREFIX_SUFFIXES_TO_STRIP`, in
/// its order: longest first, and only the first that matches is stripped).
const PREFIX_SUFFIXES: [&str; 14] = [
    "_server_metrics.parquet",
    "_server_metrics.jsonl",
    "_server_metrics.json",
    "_server_metrics.csv",
    "_network_latency.jsonl",
    "_gpu_telemetry.jsonl",
    "_timeslices.csv",
    "_timeslices.json",
    "_console.txt",
    "_raw.jsonl",
    ".parquet",
    ".csv",
    ".json",
    ".jsonl",
];

/// The flags of [`OutputOptions`] resolved.
pub(super) fn options(args: &crate::cli::OutputArgs) -> Result<OutputOptions, ConfigError> {
    let prefix = args
        .profile_export_prefix
        .as_deref()
        .map(export_base)
        .transpose()?
        .flatten();
    if args.export_outputs_json && prefix.as_deref() == Some("outputs") {
        return Err(invalid(
            "--profile-export-prefix",
            "resolves to 'outputs' which produces 'outputs.json', colliding with \
             --export-outputs-json (also 'outputs.json'). Use a different prefix.",
        ));
    }
    Ok(OutputOptions {
        prefix,
        export_outputs_json: args.export_outputs_json,
        export_http_trace: args.export_http_trace,
        show_trace_timing: args.show_trace_timing,
    })
}

/// AIPerf's base name of a `--profile-export-prefix`: an absolute path keeps only its file name
/// (so a run's files stay in its artifact directory), `.` components go, and the first known
/// export suffix is stripped. `None` when nothing is left (the default names then apply).
fn export_base(path: &Path) -> Result<Option<String>, ConfigError> {
    let kept: PathBuf = if path.is_absolute() {
        path.file_name().map(PathBuf::from).unwrap_or_default()
    } else {
        path.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect()
    };
    let Some(text) = kept.to_str() else {
        return Err(invalid(
            "--profile-export-prefix",
            format!("'{}' is not valid UTF-8", path.display()),
        ));
    };
    let base = PREFIX_SUFFIXES
        .iter()
        .find_map(|s| text.strip_suffix(s))
        .unwrap_or(text);
    Ok((!base.is_empty()).then(|| base.to_string()))
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
        "raw" => Ok(ExportLevel::Raw),
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
    fn export_level_is_typed() {
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
        assert_eq!(level(&["--export-level", "raw"]), Ok(ExportLevel::Raw));
        assert_eq!(
            level(&["--profile-export-level", "RAW"]),
            Ok(ExportLevel::Raw)
        );
        assert!(ExportLevel::Raw.writes_raw());
        assert!(!ExportLevel::Records.writes_raw());
        assert!(!ExportLevel::Summary.writes_records());
        assert!(ExportLevel::Records.writes_records());
        assert!(ExportLevel::Raw.writes_records());
    }

    fn output(a: &[&str]) -> Result<OutputOptions, String> {
        options(&args(a).output).map_err(|e| e.to_string())
    }

    fn prefix(value: &str) -> Option<String> {
        output(&["--profile-export-prefix", value]).unwrap().prefix
    }

    #[test]
    fn output_flags_default_off() {
        assert_eq!(output(&[]), Ok(OutputOptions::default()));
        let o = output(&[
            "--export-outputs-json",
            "--export-http-trace",
            "--show-trace-timing",
        ])
        .unwrap();
        assert!(o.export_outputs_json && o.export_http_trace && o.show_trace_timing);
        assert_eq!(o.prefix, None);
    }

    #[test]
    fn the_prefix_loses_known_suffixes_as_aiperf_strips_them() {
        assert_eq!(prefix("foo"), Some("foo".into()));
        // Only the first matching suffix, longest first.
        assert_eq!(prefix("foo_raw.jsonl"), Some("foo".into()));
        assert_eq!(prefix("foo.jsonl"), Some("foo".into()));
        assert_eq!(prefix("foo.json"), Some("foo".into()));
        assert_eq!(prefix("foo.csv"), Some("foo".into()));
        assert_eq!(prefix("foo_server_metrics.parquet"), Some("foo".into()));
        assert_eq!(prefix("foo_timeslices.csv"), Some("foo".into()));
        assert_eq!(prefix("foo_console.txt"), Some("foo".into()));
        assert_eq!(prefix("foo_raw.jsonl.csv"), Some("foo_raw.jsonl".into()));
        assert_eq!(prefix("foo.txt"), Some("foo.txt".into()));
        // Nothing left: AIPerf's default names.
        assert_eq!(prefix(".json"), None);
        // The alias, a relative directory part (kept), `.` components (dropped), an absolute
        // path (file name only).
        assert_eq!(
            output(&["--profile-export-file", "bar.json"])
                .unwrap()
                .prefix,
            Some("bar".into())
        );
        assert_eq!(prefix("./sub/./foo.csv"), Some("sub/foo".into()));
        assert_eq!(prefix("/tmp/elsewhere/foo.csv"), Some("foo".into()));
    }

    #[test]
    fn a_prefix_colliding_with_outputs_json_is_refused() {
        let msg = "--profile-export-prefix: resolves to 'outputs' which produces \
                   'outputs.json', colliding with --export-outputs-json (also 'outputs.json'). \
                   Use a different prefix.";
        for value in ["outputs", "outputs.json", "./outputs.jsonl", "/x/outputs"] {
            assert_eq!(
                output(&["--profile-export-prefix", value, "--export-outputs-json"]),
                Err(msg.to_string()),
                "{value}"
            );
        }
        assert_eq!(
            prefix("outputs"),
            Some("outputs".into()),
            "fine without outputs.json"
        );
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
