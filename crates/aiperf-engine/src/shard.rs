//! A run as one shard of a larger one (`--shard`, `--start-at`): the agreed start, and the
//! manifest (`shard.json`) that `aiperf merge` checks shards against.
//!
//! How the work is dealt is `plan.rs`'s (`PlannedPhase::take_share`: limits), `phases.rs`'s
//! (the global arrival schedule dealt round robin, user lanes) and `session.rs`'s (sessions
//! numbered as in the whole run), so the shards' sends together are the single-process plan.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aiperf_config::ProfileConfig;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The manifest's file name in each shard's artifact directory.
pub const MANIFEST: &str = "shard.json";

/// Sleeps until the wall-clock instant `at_ns` (epoch ns); returns how late the wake-up was
/// (ms; negative never). An instant already past is started at once, and its lateness says so.
pub async fn wait_until(at_ns: u64) -> anyhow::Result<f64> {
    let now = wall_ns();
    if at_ns > now {
        let wait = Duration::from_nanos(at_ns - now);
        tracing::info!(
            "--start-at: waiting {:.1} s for the agreed start",
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
    }
    let late = wall_ns().saturating_sub(at_ns) as f64 / 1e6;
    if late > 1_000.0 {
        tracing::warn!(
            "--start-at was {:.1} s ago when this shard was ready: its schedule starts late against the others'",
            late / 1e3
        );
    }
    Ok(late)
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Flags that differ between the shards of one run by design.
const PER_SHARD: [&str; 4] = [
    "--shard",
    "--start-at",
    "--artifact-dir",
    "--output-artifact-dir",
];

/// A hash of the command line with the per-shard flags left out: shards of one plan share it.
pub fn plan_hash(cli_command: &str) -> String {
    let mut kept = Vec::new();
    let mut skip_next = false;
    for word in cli_command.split_whitespace() {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let flag = word.split('=').next().unwrap_or(word);
        if PER_SHARD.contains(&flag) {
            skip_next = !word.contains('=');
            continue;
        }
        kept.push(word);
    }
    let digest = Sha256::digest(kept.join(" ").as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Writes `shard.json` into `dir` for a sharded run (nothing for a whole run).
pub fn write_manifest(cfg: &ProfileConfig, dir: &Path, start_lateness_ms: Option<f64>) {
    if !cfg.shard.is_part() {
        return;
    }
    let start_at = cfg.start_at_ns.map(|ns| {
        chrono::DateTime::from_timestamp_nanos(ns as i64)
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
    });
    let manifest = json!({
        "shard": {"index": cfg.shard.index, "count": cfg.shard.count},
        "plan_hash": plan_hash(&cfg.cli_command),
        "start_at": start_at,
        "start_lateness_ms": start_lateness_ms,
        "cli_command": cfg.cli_command,
    });
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    if let Err(e) = std::fs::write(dir.join(MANIFEST), text + "\n") {
        tracing::warn!("{}: {e}", dir.join(MANIFEST).display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_hash_ignores_only_the_per_shard_flags() {
        let a = plan_hash("aiperf profile -m m --shard 0/4 --start-at 2026-12-07T16:00:00Z --artifact-dir a0 --request-rate 10");
        let b = plan_hash("aiperf profile -m m --shard=3/4 --start-at 2026-12-07T16:00:00Z --artifact-dir=a3 --request-rate 10");
        let c = plan_hash("aiperf profile -m m --shard 1/4 --request-rate 11");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 16);
    }

    #[tokio::test]
    async fn an_instant_already_past_starts_at_once_and_says_how_late() {
        let late = wait_until(wall_ns() - 2_000_000_000).await.unwrap();
        assert!(late >= 2_000.0, "{late}");
        let soon = wall_ns() + 30_000_000;
        let late = wait_until(soon).await.unwrap();
        assert!(wall_ns() >= soon && late < 1_000.0, "{late}");
    }
}
