//! `--wandb-*`: the finished run as a Weights & Biases run directory, uploaded afterwards with
//! W&B's own client (no W&B protocol is spoken here; see docs/tracking.md for why and how).
//!
//! `<artifact_dir>/wandb/aiperf-run-<id>/` holds W&B's documented run files
//! (`files/config.yaml`, `files/wandb-summary.json`, `files/wandb-metadata.json`), a manifest
//! of what AIPerf 0.13's `WandbDataExporter` would send (`aiperf-wandb.json`: project, entity,
//! name, tags, the artifact files) and `upload.py`, which sends exactly that with the official
//! `wandb` package: `python <dir>/upload.py` (with `WANDB_API_KEY` set, or after `wandb login`).

use std::path::{Path, PathBuf};

use aiperf_config::ProfileConfig;
use aiperf_export::RunReport;
use serde_json::{json, Map, Value};

use super::artifacts;
use super::payload;

/// Manifest and script names inside the run directory.
pub(crate) const MANIFEST: &str = "aiperf-wandb.json";
pub(crate) const SCRIPT: &str = "upload.py";

/// Writes the run directory; returns its path.
pub(crate) fn write_offline_run(cfg: &ProfileConfig, rep: &RunReport) -> Result<PathBuf, String> {
    let Some(w) = cfg.tracking.wandb.as_ref() else {
        return Err("Weights & Biases is not configured".into());
    };
    let id: String = rep
        .benchmark_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let id = if id.is_empty() {
        "aiperf".to_string()
    } else {
        id
    };
    let name = w
        .run_name
        .clone()
        .unwrap_or_else(|| payload::default_run_name(&rep.benchmark_id));
    let mut tags = vec![format!("aiperf-{}", env!("CARGO_PKG_VERSION"))];
    if !rep.benchmark_id.is_empty() {
        tags.push(format!(
            "benchmark-{}",
            rep.benchmark_id.chars().take(8).collect::<String>()
        ));
    }
    tags.extend(w.tags.iter().cloned());
    let globs: Vec<String> = aiperf_config::resolve::Tracking::DEFAULT_ARTIFACT_GLOBS
        .iter()
        .map(|g| g.to_string())
        .collect();
    let files = artifacts::collect(&cfg.artifact_dir, &globs, &[]);

    let run_dir = cfg
        .artifact_dir
        .join("wandb")
        .join(format!("aiperf-run-{id}"));
    let files_dir = run_dir.join("files");
    std::fs::create_dir_all(&files_dir)
        .map_err(|e| format!("cannot create '{}': {e}", files_dir.display()))?;

    let config = config_payload(rep);
    let summary: Map<String, Value> = payload::payload(cfg, rep)
        .metrics
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let manifest = json!({
        "project": w.project,
        "entity": w.entity,
        "run_id": id,
        "run_name": name,
        "tags": tags,
        "summary_table": summary_table(rep),
        "artifact": {
            "name": format!("aiperf-{id}"),
            "type": "aiperf-run",
            // Relative to the artifact directory, so the directory can be moved before upload.
            "files": files.iter().map(|f| f.rel.clone()).collect::<Vec<_>>(),
        },
    });
    let metadata = json!({
        "program": "aiperf",
        "args": command_args(rep),
        "startedAt": rep.start_time,
    });
    write(&files_dir.join("config.yaml"), &config_yaml(&config))?;
    write(
        &files_dir.join("wandb-summary.json"),
        &pretty(&Value::Object(summary))?,
    )?;
    write(&files_dir.join("wandb-metadata.json"), &pretty(&metadata)?)?;
    write(&run_dir.join(MANIFEST), &pretty(&manifest)?)?;
    write(&run_dir.join(SCRIPT), UPLOAD_PY)?;
    Ok(run_dir)
}

/// AIPerf's `summary_metrics` table: one row per metric of the console tables, in their
/// order, labelled as there, with `avg, min, max, p99, p90, p50, std` rounded to 2 decimals
/// (`null` where a metric has no such statistic).
fn summary_table(rep: &RunReport) -> Value {
    use aiperf_metrics::{Group, MetricValue};
    const COLUMNS: [&str; 8] = ["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"];
    let cell = |v: Option<f64>| match v.filter(|v| v.is_finite()) {
        Some(v) => json!((v * 100.0).round() / 100.0),
        None => Value::Null,
    };
    let mut rows = Vec::new();
    for group in Group::CONSOLE_ORDER {
        let mut metrics: Vec<(u32, usize, &aiperf_metrics::MetricResult)> = rep
            .summary
            .results
            .iter()
            .enumerate()
            .filter(|(_, m)| m.spec.exported() && m.group() == group)
            .map(|(i, m)| (m.spec.display_order, i, m))
            .collect();
        metrics.sort_by_key(|(o, i, _)| (*o, *i));
        for (_, _, m) in metrics {
            let label = format!("{} ({})", m.header, m.display_unit().label());
            let stats: [Option<f64>; 7] = match &m.value {
                MetricValue::Distribution(s) => [
                    Some(s.avg),
                    Some(s.min),
                    Some(s.max),
                    s.percentile("p99"),
                    s.percentile("p90"),
                    s.percentile("p50"),
                    Some(s.std),
                ],
                MetricValue::Weighted(w) => [
                    Some(w.avg),
                    Some(w.min),
                    Some(w.max),
                    Some(w.p99),
                    Some(w.p90),
                    Some(w.p50),
                    Some(w.std),
                ],
                MetricValue::Scalar(v) => [Some(*v), None, None, None, None, None, None],
            };
            let mut row = vec![Value::from(label)];
            row.extend(stats.into_iter().map(cell));
            rows.push(Value::Array(row));
        }
    }
    json!({ "columns": COLUMNS, "data": rows })
}

/// AIPerf's `_build_config_payload`: the resolved configuration (secrets already redacted in
/// `input_config`) and the redacted command line.
fn config_payload(rep: &RunReport) -> Map<String, Value> {
    let mut config = match serde_json::to_value(&rep.input_config) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    config.retain(|_, v| !v.is_null());
    if !rep.cli_command.is_empty() {
        config.insert(
            "aiperf.cli_command".into(),
            Value::from(rep.cli_command.clone()),
        );
    }
    config
}

/// The redacted command line as a list (W&B's `args`), its shell quoting undone.
fn command_args(rep: &RunReport) -> Vec<String> {
    shell_words(&rep.cli_command).into_iter().skip(1).collect()
}

/// Splits a POSIX shell line as `shell_quote` writes it: whitespace between words, `'...'`
/// literal, a backslash quoting the next character.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '\\' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.next());
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// W&B's `config.yaml`: each key with its `value` (JSON is YAML, so values are written as
/// JSON flow collections).
fn config_yaml(config: &Map<String, Value>) -> String {
    let mut out = String::from("wandb_version: 1\n\n");
    for (k, v) in config {
        out.push_str(&format!("{}:\n  value: {}\n", Value::from(k.clone()), v));
    }
    out
}

fn pretty(v: &Value) -> Result<String, String> {
    serde_json::to_string_pretty(v).map_err(|e| e.to_string())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write '{}': {e}", path.display()))
}

/// Sends the run with the official client the way AIPerf 0.13's `WandbDataExporter` does:
/// `wandb.init` with the config and tags, the summary, one `aiperf-run` artifact of the files.
const UPLOAD_PY: &str = r#"#!/usr/bin/env python3
"""Upload this aiperf run to Weights & Biases (written by aiperf; needs `pip install wandb`).

Usage: python upload.py   (WANDB_API_KEY set, or after `wandb login`; WANDB_BASE_URL for a
                           self-hosted server). With WANDB_MODE=offline it writes
                           ./wandb/offline-run-*/ next to this file instead, for `wandb sync`.
"""
import json
import pathlib

import wandb
import yaml

here = pathlib.Path(__file__).resolve().parent
artifact_dir = here.parent.parent  # <artifact_dir>/wandb/aiperf-run-<id>/
manifest = json.loads((here / "aiperf-wandb.json").read_text())
config = yaml.safe_load((here / "files" / "config.yaml").read_text()) or {}
config = {k: v["value"] for k, v in config.items() if isinstance(v, dict) and "value" in v}
summary = json.loads((here / "files" / "wandb-summary.json").read_text())

run = wandb.init(
    entity=manifest["entity"],
    project=manifest["project"],
    name=manifest["run_name"],
    id=manifest["run_id"],
    resume="allow",
    config=config,
    tags=manifest["tags"],
    dir=str(here),
    settings=wandb.Settings(x_disable_meta=True, save_code=False),
)
try:
    table = manifest["summary_table"]
    run.log({"summary_metrics": wandb.Table(columns=table["columns"], data=table["data"])})
    run.summary.update(summary)
    files = manifest["artifact"]["files"]
    if files:
        artifact = wandb.Artifact(name=manifest["artifact"]["name"], type=manifest["artifact"]["type"])
        for name in files:
            artifact.add_file(str(artifact_dir / name), name=name)
        run.log_artifact(artifact)
finally:
    run.finish()
print(f"Uploaded Weights & Biases run '{manifest['run_name']}' ({run.url})")
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_undo_shell_quoting() {
        assert_eq!(
            shell_words(r"aiperf profile -u 'http://<redacted>@h:1' --x 'it'\''s'  a\ b"),
            [
                "aiperf",
                "profile",
                "-u",
                "http://<redacted>@h:1",
                "--x",
                "it's",
                "a b"
            ]
        );
        assert_eq!(shell_words("a ''"), ["a", ""]);
    }
}
