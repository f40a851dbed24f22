//! Shared helpers: start the mock in-process on port 0, run `aiperf profile` in-process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use aiperf_config::{Cli, Command, ProfileConfig};
use aiperf_engine::RunOutcome;
use aiperf_mock_server::{MockConfig, MockHandle};
use aiperf_plugins::Registry;
use clap::Parser;
use serde_json::Value;

pub async fn mock(ttft_ms: f64, itl_ms: f64) -> MockHandle {
    mock_with(MockConfig::for_tests(ttft_ms, itl_ms)).await
}

pub async fn mock_with(cfg: MockConfig) -> MockHandle {
    aiperf_mock_server::start(cfg)
        .await
        .expect("mock server starts")
}

/// Runs `aiperf profile <args> --artifact-dir <dir>` with the built-in plugins.
pub async fn profile(dir: &Path, args: &[&str]) -> anyhow::Result<RunOutcome> {
    profile_with(Registry::builtin(), dir, args).await
}

/// Runs `aiperf profile <args> --artifact-dir <dir>` with the plugins in `registry`.
pub async fn profile_with(
    registry: Registry,
    dir: &Path,
    args: &[&str],
) -> anyhow::Result<RunOutcome> {
    let mut argv: Vec<String> = ["aiperf", "profile"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.extend(args.iter().map(|s| s.to_string()));
    argv.push("--artifact-dir".into());
    argv.push(dir.display().to_string());
    let Command::Profile(p) = Cli::try_parse_from(&argv)?.command else {
        anyhow::bail!("not a profile command")
    };
    let cfg = ProfileConfig::resolve(*p, &argv, &registry)?;
    aiperf_engine::Engine::new(std::sync::Arc::new(registry))
        .run(&cfg, &aiperf_engine::Silent)
        .await
}

pub fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn read_jsonl(path: PathBuf) -> Vec<Value> {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

/// A metric's field from the summary JSON.
pub fn stat(summary: &Value, tag: &str, field: &str) -> f64 {
    summary[tag][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{tag}.{field} missing in summary"))
}

pub fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tolerance {tol})");
}
