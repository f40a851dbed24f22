//! `--mlflow-*` and `--wandb-*` resolved: the experiment trackers a finished run is recorded in.
//!
//! Validation follows AIPerf 0.13's converter (`_converter_telemetry.py`): secondary flags
//! need the enabling one (`--mlflow-tracking-uri`, `--wandb-project`), values are trimmed, empty
//! ones are refused. Checks AIPerf only makes after the run (a tracking URI an HTTP client
//! cannot use, a malformed parent run id) are made here, before anything is sent.

use std::time::Duration;

use aiperf_transport::{redact_url_text, BaseUrl};
use indexmap::IndexMap;

use super::{invalid, python_float};
use crate::cli::TrackingArgs;
use crate::ConfigError;

/// AIPerf's `MLflowDefaults.EXPERIMENT`.
pub const DEFAULT_MLFLOW_EXPERIMENT: &str = "aiperf";

/// AIPerf's `MLflowDefaults.DEFAULT_ARTIFACT_GLOBS` (also the W&B exporter's globs), matched
/// against paths relative to the artifact directory the way Python's `Path.glob` does.
pub const DEFAULT_ARTIFACT_GLOBS: [&str; 10] = [
    "*.json",
    "*.csv",
    "*.jsonl",
    "*.parquet",
    "*_timeslices.*",
    "**/*.png",
    "**/*.jpg",
    "**/*.jpeg",
    "**/*.svg",
    "**/*.html",
];

/// The trackers a run's results go to (none by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracking {
    pub mlflow: Option<Mlflow>,
    pub wandb: Option<Wandb>,
}

impl Tracking {
    /// [`DEFAULT_ARTIFACT_GLOBS`], reachable where this module's path is not.
    pub const DEFAULT_ARTIFACT_GLOBS: [&'static str; 10] = DEFAULT_ARTIFACT_GLOBS;
    /// [`DEFAULT_MLFLOW_EXPERIMENT`].
    pub const DEFAULT_MLFLOW_EXPERIMENT: &'static str = DEFAULT_MLFLOW_EXPERIMENT;
}

/// Where and how a run is recorded in MLflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlflow {
    /// The tracking server (its userinfo, if any, is sent as Basic auth and never printed).
    pub tracking_uri: BaseUrl,
    pub experiment: String,
    /// `None`: `aiperf-<benchmark id[:8]>`, decided when the run's id is known.
    pub run_name: Option<String>,
    /// `--mlflow-tag`s as AIPerf renders them (`str()` of the coerced value), in first-seen key
    /// order, a later value for a key replacing the earlier one.
    pub tags: Vec<(String, String)>,
    pub parent_run_id: Option<String>,
    /// The globs given, else [`DEFAULT_ARTIFACT_GLOBS`].
    pub artifact_globs: Vec<String>,
    /// `AIPERF_MLFLOW_EXPORT_TIMEOUT_SECONDS` (default 30 s): the whole upload's deadline.
    pub timeout: Duration,
}

/// Where and how a run is recorded in Weights & Biases.
#[derive(Debug, Clone, PartialEq)]
pub struct Wandb {
    pub project: String,
    pub entity: Option<String>,
    /// `None`: `aiperf-<benchmark id[:8]>`.
    pub run_name: Option<String>,
    /// `--wandb-tag`s, trimmed, empty ones dropped.
    pub tags: Vec<String>,
    /// `AIPERF_WANDB_EXPORT_TIMEOUT_SECONDS` (default 30 s).
    pub timeout: Duration,
}

pub(super) fn resolve(args: &TrackingArgs) -> Result<Tracking, ConfigError> {
    resolve_with(args, &|k| std::env::var(k).ok())
}

fn resolve_with(
    args: &TrackingArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Tracking, ConfigError> {
    Ok(Tracking {
        mlflow: mlflow(args, env)?,
        wandb: wandb(args, env)?,
    })
}

fn mlflow(
    args: &TrackingArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Mlflow>, ConfigError> {
    const URI: &str = "--mlflow-tracking-uri";
    // AIPerf checks the globs first, so an empty glob is reported before a missing URI.
    let mut globs = Vec::new();
    for g in args.mlflow_artifact_globs.iter().flat_map(|v| v.split(',')) {
        let g = g.trim();
        if g.is_empty() {
            return Err(invalid(
                "--mlflow-artifact-glob",
                "entries cannot be empty.",
            ));
        }
        if g.starts_with('/') {
            // Python's Path.glob refuses these too ("Non-relative patterns are unsupported").
            return Err(invalid(
                "--mlflow-artifact-glob",
                format!("'{g}' must be relative to the artifact directory"),
            ));
        }
        globs.push(g.to_string());
    }
    let Some(uri) = &args.mlflow_tracking_uri else {
        let secondary = args.mlflow_experiment.is_some()
            || args.mlflow_run_name.is_some()
            || !args.mlflow_tags.is_empty()
            || args.mlflow_parent_run_id.is_some()
            || !args.mlflow_artifact_globs.is_empty();
        if secondary {
            return Err(invalid(
                URI,
                "--mlflow-experiment, --mlflow-run-name, --mlflow-tag, --mlflow-artifact-glob, \
                 and --mlflow-parent-run-id require --mlflow-tracking-uri to be set.",
            ));
        }
        return Ok(None);
    };
    let tracking_uri = tracking_uri(uri)?;
    let experiment = match &args.mlflow_experiment {
        Some(e) if e.trim().is_empty() => {
            return Err(invalid(
                "--mlflow-experiment",
                "cannot be empty when --mlflow-tracking-uri is set.",
            ))
        }
        Some(e) => e.trim().to_string(),
        None => DEFAULT_MLFLOW_EXPERIMENT.to_string(),
    };
    let run_name = args
        .mlflow_run_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let mut tags = IndexMap::new();
    for v in &args.mlflow_tags {
        for (k, val) in parse_tags(v)? {
            tags.insert(k, val);
        }
    }
    let parent_run_id = match args.mlflow_parent_run_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) if valid_run_id(id) => Some(id.to_string()),
        Some(id) => {
            return Err(invalid(
                "--mlflow-parent-run-id",
                format!(
                    "'{id}' is not an MLflow run id (a letter or digit, then up to 255 letters, \
                     digits, '_' or '-')"
                ),
            ))
        }
    };
    if globs.is_empty() {
        globs = DEFAULT_ARTIFACT_GLOBS
            .iter()
            .map(|g| g.to_string())
            .collect();
    }
    Ok(Some(Mlflow {
        tracking_uri,
        experiment,
        run_name,
        tags: tags.into_iter().collect(),
        parent_run_id,
        artifact_globs: globs,
        timeout: timeout(env, "AIPERF_MLFLOW_EXPORT_TIMEOUT_SECONDS")?,
    }))
}

/// An HTTP(S) tracking server. MLflow's file, database and Databricks stores need MLflow's
/// own Python client, so they are refused here rather than after the run.
fn tracking_uri(uri: &str) -> Result<BaseUrl, ConfigError> {
    const URI: &str = "--mlflow-tracking-uri";
    let uri = uri.trim();
    if uri.is_empty() {
        return Err(invalid(URI, "cannot be empty."));
    }
    let shown = redact_url_text(uri);
    let lower = uri.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(invalid(
            URI,
            format!(
                "'{shown}': only an MLflow tracking server is supported, as http://host:port or \
                 https://host:port (file stores, databases and databricks need MLflow's Python client)"
            ),
        ));
    }
    BaseUrl::parse(uri).map_err(|e| invalid(URI, format!("'{shown}': {e}")))
}

/// MLflow's `_RUN_ID_REGEX`: `^[a-zA-Z0-9][\w\-]{0,255}$`.
fn valid_run_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && id.chars().count() <= 256
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// One `--mlflow-tag` value as AIPerf's `parse_str_or_dict_as_tuple_list` reads it: a JSON
/// object, or comma-separated `key:value` pairs whose values are coerced (`true`, `none`,
/// integers, decimals) and then rendered with Python's `str()`. Empty keys are skipped.
fn parse_tags(v: &str) -> Result<Vec<(String, String)>, ConfigError> {
    const FLAG: &str = "--mlflow-tag";
    let mut out = Vec::new();
    if v.starts_with('{') {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(v)
            .map_err(|e| invalid(FLAG, format!("'{v}' must be a valid JSON object: {e}")))?;
        for (k, val) in map {
            out.push((k.trim().to_string(), py_str_json(&val)));
        }
    } else {
        for item in v.split(',') {
            let Some((k, val)) = item.split_once(':') else {
                return Err(invalid(
                    FLAG,
                    format!("'{v}': each item must be in 'key:value' format"),
                ));
            };
            out.push((k.trim().to_string(), py_str_coerced(val.trim())));
        }
    }
    out.retain(|(k, _)| !k.is_empty());
    Ok(out)
}

/// `str(coerce_value(v))` of AIPerf's `config/loader/parsing.py`.
fn py_str_coerced(v: &str) -> String {
    let lower = v.to_ascii_lowercase();
    if lower == "true" || lower == "false" {
        return if lower == "true" { "True" } else { "False" }.into();
    }
    if lower == "none" || lower == "null" {
        return "None".into();
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(v) && (!v.starts_with('0') || v == "0") {
        return int_str(v);
    }
    if let Some(rest) = v.strip_prefix('-') {
        if digits(rest) && (!v.starts_with("-0") || v == "-0") {
            return int_str(v);
        }
    }
    let unsigned = v.strip_prefix('-').unwrap_or(v);
    if v.matches('.').count() == 1 && digits(&unsigned.replace('.', "")) {
        if let Ok(f) = v.parse::<f64>() {
            return python_float(f);
        }
    }
    v.to_string()
}

/// Python's `str(int(v))` for a string of digits: `-0` is `0`; huge values stay exact.
fn int_str(v: &str) -> String {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let digits = digits.trim_start_matches('0');
    match (neg, digits) {
        (_, "") => "0".into(),
        (true, d) => format!("-{d}"),
        (false, d) => d.to_string(),
    }
}

/// Python's `str()` of a value `json.loads` produced.
fn py_str_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => py_repr_json(other),
    }
}

/// Python's `repr()` of a value `json.loads` produced.
fn py_repr_json(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => python_float(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(py_repr_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    py_repr_json(&Value::String(k.clone())),
                    py_repr_json(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn wandb(
    args: &TrackingArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Wandb>, ConfigError> {
    let Some(project) = &args.wandb_project else {
        if args.wandb_entity.is_some()
            || args.wandb_run_name.is_some()
            || !args.wandb_tags.is_empty()
        {
            return Err(invalid(
                "--wandb-project",
                "--wandb-entity, --wandb-run-name, and --wandb-tag require --wandb-project to be set.",
            ));
        }
        return Ok(None);
    };
    let project = project.trim();
    if project.is_empty() {
        return Err(invalid("--wandb-project", "cannot be empty."));
    }
    let entity = match args.wandb_entity.as_deref().map(str::trim) {
        Some("") => {
            return Err(invalid("--wandb-entity", "cannot be empty when set."));
        }
        e => e.map(str::to_string),
    };
    let run_name = args
        .wandb_run_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let tags = args
        .wandb_tags
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Some(Wandb {
        project: project.to_string(),
        entity,
        run_name,
        tags,
        timeout: timeout(env, "AIPERF_WANDB_EXPORT_TIMEOUT_SECONDS")?,
    }))
}

/// An `AIPERF_*_EXPORT_TIMEOUT_SECONDS` setting: AIPerf's bounds [1, 600], default 30.
fn timeout(
    env: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Duration, ConfigError> {
    let Some(text) = env(name) else {
        return Ok(Duration::from_secs(30));
    };
    match text.trim().parse::<f64>() {
        Ok(v) if (1.0..=600.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(invalid(
            name,
            format!("must be a number of seconds in [1, 600], got '{text}'"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::args;
    use super::*;

    fn env_none(_: &str) -> Option<String> {
        None
    }

    fn track(a: &[&str]) -> Result<Tracking, ConfigError> {
        resolve_with(&args(a).tracking, &env_none)
    }

    /// The message the tracking flags `a` are refused with.
    fn terr(a: &[&str]) -> String {
        match track(a) {
            Ok(t) => panic!("{a:?} was accepted: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn off_by_default() {
        assert_eq!(track(&[]).unwrap(), Tracking::default());
    }

    #[test]
    fn mlflow_defaults_are_aiperfs() {
        let m = track(&["--mlflow-tracking-uri", " http://mlflow:5000 "])
            .unwrap()
            .mlflow
            .unwrap();
        assert_eq!(m.experiment, "aiperf");
        assert_eq!(m.run_name, None);
        assert_eq!(m.parent_run_id, None);
        assert_eq!(m.tracking_uri.host, "mlflow");
        assert_eq!(m.tracking_uri.port, 5000);
        assert_eq!(m.artifact_globs.len(), 10);
        assert_eq!(m.artifact_globs[5], "**/*.png");
        assert_eq!(m.timeout, Duration::from_secs(30));
    }

    #[test]
    fn mlflow_tags_take_aiperfs_syntax_and_python_rendering() {
        let m = track(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--mlflow-tag",
            "team:perf,  owner : a:b ",
            "flag:TRUE",
            "--mlflow-tag",
            "n:007,m:-0,f:1.50,g:2.,z:none,team:infra",
            "--mlflow-tag",
            r#"{"j": 1.0, "k": [1, "x", null], " ": "skipped"}"#,
        ])
        .unwrap()
        .mlflow
        .unwrap();
        let tags: Vec<(&str, &str)> = m
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            tags,
            [
                ("team", "infra"),
                ("owner", "a:b"),
                ("flag", "True"),
                ("n", "007"),
                ("m", "0"),
                ("f", "1.5"),
                ("g", "2.0"),
                ("z", "None"),
                ("j", "1.0"),
                ("k", "[1, 'x', None]"),
            ]
        );
    }

    #[test]
    fn mlflow_globs_split_on_commas_and_replace_the_defaults() {
        let m = track(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--mlflow-artifact-glob",
            "*.json, plots/*.png",
            "--mlflow-artifact-glob",
            "*.csv",
        ])
        .unwrap()
        .mlflow
        .unwrap();
        assert_eq!(m.artifact_globs, ["*.json", "plots/*.png", "*.csv"]);
    }

    #[test]
    fn mlflow_refusals_name_the_flag() {
        let e = terr(&["--mlflow-experiment", "x"]);
        assert!(e.contains("require --mlflow-tracking-uri"), "{e}");
        let e = terr(&["--mlflow-tracking-uri", "file:./mlruns"]);
        assert!(
            e.starts_with("--mlflow-tracking-uri: 'file:./mlruns'"),
            "{e}"
        );
        let e = terr(&[
            "--mlflow-tracking-uri",
            "http://u:secret@h:1",
            "--mlflow-tag",
            "nocolon",
        ]);
        assert!(e.contains("'key:value'"), "{e}");
        let e = terr(&["--mlflow-tracking-uri", "sqlite://u:secret@h/db"]);
        assert!(!e.contains("secret"), "{e}");
        let e = terr(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--mlflow-experiment",
            " ",
        ]);
        assert!(e.starts_with("--mlflow-experiment: cannot be empty"), "{e}");
        let e = terr(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--mlflow-artifact-glob",
            "a,,b",
        ]);
        assert!(
            e.starts_with("--mlflow-artifact-glob: entries cannot be empty"),
            "{e}"
        );
        let e = terr(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--mlflow-artifact-glob",
            "/x/*.json",
        ]);
        assert_eq!(
            e,
            "--mlflow-artifact-glob: '/x/*.json' must be relative to the artifact directory"
        );
        let e = terr(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--mlflow-parent-run-id",
            "a/b",
        ]);
        assert!(e.contains("'a/b' is not an MLflow run id"), "{e}");
        let e = terr(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--mlflow-tag",
            "{bad",
        ]);
        assert!(e.contains("valid JSON object"), "{e}");
    }

    #[test]
    fn export_timeouts_come_from_aiperfs_environment_variables() {
        let a = args(&[
            "--mlflow-tracking-uri",
            "http://h:1",
            "--wandb-project",
            "p",
        ])
        .tracking;
        let t = resolve_with(&a, &|k| {
            (k == "AIPERF_MLFLOW_EXPORT_TIMEOUT_SECONDS").then(|| "2.5".into())
        })
        .unwrap();
        assert_eq!(t.mlflow.unwrap().timeout, Duration::from_millis(2500));
        assert_eq!(t.wandb.unwrap().timeout, Duration::from_secs(30));
        let e = resolve_with(&a, &|_| Some("0.5".into()))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("AIPERF_MLFLOW_EXPORT_TIMEOUT_SECONDS: must be"),
            "{e}"
        );
    }

    #[test]
    fn wandb_follows_aiperfs_converter() {
        let w = track(&[
            "--wandb-project",
            " bench ",
            "--wandb-entity",
            "team",
            "--wandb-run-name",
            " ",
            "--wandb-tag",
            "a, ,b",
            "c",
        ])
        .unwrap()
        .wandb
        .unwrap();
        assert_eq!(w.project, "bench");
        assert_eq!(w.entity.as_deref(), Some("team"));
        assert_eq!(w.run_name, None);
        assert_eq!(w.tags, ["a", "b", "c"]);
        let e = terr(&["--wandb-tag", "x"]);
        assert!(e.contains("require --wandb-project"), "{e}");
        let e = terr(&["--wandb-project", " "]);
        assert_eq!(e, "--wandb-project: cannot be empty.");
        let e = terr(&["--wandb-project", "p", "--wandb-entity", ""]);
        assert_eq!(e, "--wandb-entity: cannot be empty when set.");
    }
}
