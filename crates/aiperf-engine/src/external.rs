//! External plugins: executables that speak the JSON-lines protocol of `docs/plugins.md`.
//!
//! - Dataset loader: aiperf writes one request line to the loader's stdin and closes it; the
//!   loader writes one conversation per line to stdout and exits 0.
//! - Data exporter: aiperf writes `begin`, one `record` per profiled request, `summary` and `end`
//!   lines to the exporter's stdin; the exporter writes files into the artifact directory and
//!   may report them with `file` lines on stdout.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use aiperf_core::{Conversation, Turn};
use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Protocol version written in every first line.
pub const PROTOCOL: u32 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireConversation {
    #[serde(default)]
    session_id: Option<String>,
    turns: Vec<WireTurn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTurn {
    texts: Vec<String>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    extra: Option<Map<String, Value>>,
    /// Absolute send time in ms, for fixed-schedule replay.
    #[serde(default)]
    timestamp: Option<f64>,
    /// Think time in ms after the previous turn's answer.
    #[serde(default)]
    delay: Option<f64>,
}

fn command(exec: &Path, args: &[String]) -> Command {
    let mut c = Command::new(exec);
    c.args(args)
        .env("AIPERF_PLUGIN_PROTOCOL", PROTOCOL.to_string());
    c
}

fn stderr_tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Runs an external dataset loader on `input_file`.
pub fn load_dataset(
    exec: &Path,
    args: &[String],
    input_file: &Path,
    seed: u64,
) -> anyhow::Result<Vec<Conversation>> {
    let name = exec.display().to_string();
    let mut child = command(exec, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start dataset loader '{name}'"))?;
    let request = json!({"type": "load", "protocol": PROTOCOL, "input_file": input_file, "random_seed": seed});
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{request}")
            .with_context(|| format!("writing to dataset loader '{name}'"))?;
    }
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout from '{name}'"))?;
    let mut out = Vec::new();
    let mut problem = None;
    for (i, line) in BufReader::new(stdout).lines().enumerate() {
        let line = line.with_context(|| format!("reading from dataset loader '{name}'"))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                problem.get_or_insert(format!("{name}: stdout line {}: {e}", i + 1));
                continue;
            }
        };
        if v.get("type").and_then(Value::as_str) == Some("error") {
            let msg = v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)");
            problem.get_or_insert(format!("{name}: {msg}"));
            continue;
        }
        match serde_json::from_value::<WireConversation>(v) {
            Ok(c) => {
                if c.turns.is_empty() || c.turns.iter().any(|t| t.texts.is_empty()) {
                    problem.get_or_insert(format!(
                        "{name}: stdout line {}: every turn needs at least one text",
                        i + 1
                    ));
                    continue;
                }
                let session_id = c
                    .session_id
                    .unwrap_or_else(|| format!("session_{:06}", out.len()));
                let turns = c
                    .turns
                    .into_iter()
                    .map(|t| Turn {
                        texts: t.texts,
                        max_tokens: t.max_tokens,
                        role: t.role,
                        extra: t.extra,
                        timestamp_ms: t.timestamp,
                        delay_ms: t.delay,
                        ..Default::default()
                    })
                    .collect();
                out.push(Conversation {
                    session_id,
                    turns,
                    ..Default::default()
                });
            }
            Err(e) => {
                problem.get_or_insert(format!("{name}: stdout line {}: {e}", i + 1));
            }
        }
    }
    let output = child
        .wait_with_output()
        .with_context(|| format!("waiting for dataset loader '{name}'"))?;
    if !output.status.success() {
        bail!(
            "dataset loader '{name}' failed ({}): {}",
            output.status,
            stderr_tail(&output.stderr)
        );
    }
    if let Some(p) = problem {
        bail!("{p}");
    }
    if out.is_empty() {
        bail!("dataset loader '{name}' produced no conversations");
    }
    Ok(out)
}

/// Runs an external data exporter over a finished run's artifacts; returns the files it reports.
pub fn export(
    exec: &Path,
    args: &[String],
    artifact_dir: &Path,
    summary: &Value,
    records_file: &Path,
) -> anyhow::Result<Vec<String>> {
    let name = exec.display().to_string();
    let mut child = command(exec, args)
        .current_dir(artifact_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start data exporter '{name}'"))?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("no stdin for '{name}'"))?;
    let records_file = records_file.to_path_buf();
    let summary = summary.clone();
    let dir = artifact_dir.to_path_buf();
    // Feed stdin on a thread so a chatty exporter cannot deadlock on a full stdout pipe.
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut w = BufWriter::new(stdin);
        writeln!(
            w,
            "{}",
            json!({"type": "begin", "protocol": PROTOCOL, "artifact_dir": dir})
        )?;
        if let Ok(f) = std::fs::File::open(&records_file) {
            for line in BufReader::new(f).lines() {
                let line = line?;
                if !line.is_empty() {
                    writeln!(w, "{{\"type\":\"record\",\"record\":{line}}}")?;
                }
            }
        }
        writeln!(w, "{}", json!({"type": "summary", "summary": summary}))?;
        writeln!(w, "{}", json!({"type": "end"}))?;
        w.flush()
    });
    let output = child
        .wait_with_output()
        .with_context(|| format!("waiting for data exporter '{name}'"))?;
    let fed = writer
        .join()
        .map_err(|_| anyhow!("feeding '{name}' panicked"))?;
    if !output.status.success() {
        bail!(
            "data exporter '{name}' failed ({}): {}",
            output.status,
            stderr_tail(&output.stderr)
        );
    }
    fed.with_context(|| format!("writing to data exporter '{name}'"))?;
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            match v.get("type").and_then(Value::as_str) {
                Some("file") => {
                    files.extend(v.get("path").and_then(Value::as_str).map(str::to_string))
                }
                Some("log") => {
                    let msg = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
                    tracing::info!("{name}: {msg}");
                }
                _ => {}
            }
        }
    }
    Ok(files)
}
