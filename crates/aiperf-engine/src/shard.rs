//! A run as one shard of a larger one (`--shard`, `--start-at`): the agreed start, and the
//! manifest (`shard.json`) that `aiperf merge` checks shards against.
//!
//! How the work is dealt is `plan.rs`'s (`PlannedPhase::take_share`: limits), `phases.rs`'s
//! (the global arrival schedule dealt round robin, user lanes) and `session.rs`'s (sessions
//! numbered as in the whole run), so the shards' sends together are the single-process plan.

use std::path::Path;
use std::time::Duration;

use aiperf_config::resolve::Shard;
use aiperf_config::ProfileConfig;
use aiperf_metrics::Applicability;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock_sync::{Offset, ReferenceServer};
use crate::report::{CpuUsage, ReportContext};

/// The manifest's file name in each shard's artifact directory.
pub const MANIFEST: &str = "shard.json";

/// Sleeps until the wall-clock instant `at_ns` (epoch ns) as `now` reads it (the run clock:
/// the time base the clock offset was measured on and the records are stamped on, immune to
/// NTP steps meanwhile); returns how late the wake-up was (ms; negative never). An instant
/// already past is started at once, and its lateness says so.
pub async fn wait_until(at_ns: u64, now: impl Fn() -> u64) -> anyhow::Result<f64> {
    let wall_ns = now;
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

/// Flags that differ between the shards of one run by design.
const PER_SHARD: [&str; 5] = [
    "--shard",
    "--start-at",
    "--clock-reference",
    "--artifact-dir",
    "--output-artifact-dir",
];

/// The command line with the per-shard flags left out: the same for every shard of a run, and
/// the merged run's command.
pub fn whole_command(cli_command: &str) -> String {
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
    kept.join(" ")
}

/// A hash of [`whole_command`]: shards of one plan share it.
pub fn plan_hash(cli_command: &str) -> String {
    let digest = Sha256::digest(whole_command(cli_command).as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Why a shard's manifest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestError {
    /// No manifest: the shard is missing or never started (merged without it when allowed).
    Absent(String),
    /// A manifest that is not one this build reads: refused, never skipped.
    Invalid(String),
}

/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// `shard.json`: who the shard is (written before it sends), and after the run everything
/// `aiperf merge` needs besides the records: the accumulator's settings, the time bases, the
/// load statistics and the report context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardManifest {
    pub format: u32,
    pub status: ShardStatus,
    pub shard: Shard,
    pub plan_hash: String,
    pub cli_command: String,
    pub start_at: Option<String>,
    pub start_lateness_ms: Option<f64>,
    /// This shard's clock against the reference shard's (`--clock-reference`).
    #[serde(default)]
    pub clock: Option<ClockEstimate>,
    /// Present once the shard finished.
    #[serde(default)]
    pub result: Option<ShardResult>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardStatus {
    /// Set up and about to send (or sending, or died while sending).
    Started,
    Finished,
}

/// A clock offset as measured (`clock_sync`): before the run, and again after it when the
/// reference still answered (their difference is the drift over the run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockEstimate {
    pub reference: String,
    pub before: Offset,
    pub after: Option<Offset>,
}

impl ClockEstimate {
    /// The offset the merge applies: the mean of the two estimates when both exist.
    pub fn offset_ns(&self) -> i64 {
        match &self.after {
            Some(a) => ((self.before.offset_ns as i128 + a.offset_ns as i128) / 2) as i64,
            None => self.before.offset_ns,
        }
    }

    /// A bound on the error of [`Self::offset_ns`]: half the best round trip, plus half the drift.
    pub fn uncertainty_ns(&self) -> u64 {
        let drift = self.drift_ns().unsigned_abs();
        self.before.uncertainty_ns + drift.div_ceil(2)
    }

    pub fn drift_ns(&self) -> i64 {
        self.after
            .map_or(0, |a| a.offset_ns.saturating_sub(self.before.offset_ns))
    }
}

/// What a finished shard measured, beyond its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardResult {
    pub exit_code: i32,
    pub was_cancelled: bool,
    /// Why the shard's run is incomplete: "cancelled by user", or the run stopping itself
    /// (`--failed-request-threshold`).
    #[serde(default)]
    pub incomplete_reason: Option<String>,
    /// Cancelled requests whose records never arrived.
    pub abandoned: u64,
    /// The machine the shard ran on: shards on one host share its cores.
    #[serde(default)]
    pub host: Option<String>,
    /// Which metrics apply (the same on every shard of one plan).
    pub applicability: Applicability,
    /// `--goodput` as text: parsed again, it gives the same thresholds bit for bit.
    pub goodput: Option<String>,
    /// `--slice-duration` in ns.
    pub slice_ns: Option<u64>,
    pub times: ShardTimes,
    pub records: ShardRecords,
    /// SHA-256 of `inputs.json`.
    pub dataset_hash: String,
    pub load: ShardLoad,
    /// The whole run's report context (its mode, not this shard's share).
    pub report: ReportContext,
    /// `--accuracy-benchmark`: this shard's graded answers (the merge adds the counts).
    #[serde(default)]
    pub accuracy: Option<aiperf_accuracy::summary::AccuracySummary>,
}

/// The shard's time bases, in its own wall ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTimes {
    /// The run clock's zero (`timeline` values in the records count from it).
    pub clock_wall_start_ns: u64,
    /// When profiling started (timeslices count from it).
    pub profiling_origin_wall_ns: u64,
    /// After the last response (the server-metrics window's end).
    pub window_end_wall_ns: u64,
    /// When the report was built (`end_time`).
    pub end_wall_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecords {
    pub file: String,
    pub count: u64,
    pub requests: u64,
    pub errors: u64,
    pub malformed_sse: u64,
    /// The file ends with its trailer, holding every profiled record.
    pub complete: bool,
}

/// The profiling phase's load statistics (`LoadStats`) and this shard's own verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardLoad {
    pub sent: u64,
    pub intended_window_s: f64,
    pub actual_window_s: f64,
    pub event_loop_lag_ms: Vec<f64>,
    pub backlog_pauses: u64,
    pub backlog_paused_s: f64,
    pub cpu: Option<CpuUsage>,
    /// This shard's `load_report` and `client_bound`, as its own summary has them.
    pub load_report: serde_json::Value,
    pub client_bound: serde_json::Value,
}

impl ShardLoad {
    pub fn of(
        load: &crate::phases::LoadStats,
        cpu: Option<CpuUsage>,
        rep: &aiperf_export::RunReport,
    ) -> Self {
        Self {
            sent: load.sent,
            intended_window_s: load.intended_window_s,
            actual_window_s: load.actual_window_s,
            event_loop_lag_ms: load.event_loop_lag_ms.clone(),
            backlog_pauses: load.backlog_pauses.0,
            backlog_paused_s: load.backlog_pauses.1,
            cpu,
            load_report: serde_json::to_value(&rep.load_report).unwrap_or_default(),
            client_bound: serde_json::to_value(&rep.client_bound).unwrap_or_default(),
        }
    }
}

/// This machine's name (`/proc/sys/kernel/hostname`, else `HOSTNAME`).
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// Probes sent before the run, and their spacing: enough samples that one meets a quiet
/// moment on the network, in well under a second.
const PROBES: u32 = 32;
const PROBE_GAP: Duration = Duration::from_millis(20);
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);
/// The least time given to probing, even when the start instant is (nearly) past.
const PROBE_FLOOR: Duration = Duration::from_millis(300);

/// `--clock-reference`: shard 0 starts answering probes (kept alive by the returned server for
/// the run); any other shard measures its offset to it, waiting for the reference to come up
/// until shortly before `--start-at`. A reference that never answers leaves the offset
/// unmeasured (the merge says so), rather than failing the shard.
pub(crate) async fn sync_clock(
    cfg: &ProfileConfig,
    clock: aiperf_core::Clock,
) -> anyhow::Result<(Option<ReferenceServer>, Option<Offset>)> {
    let Some(reference) = &cfg.clock_reference else {
        return Ok((None, None));
    };
    if cfg.shard.index == 0 {
        // Both address families where the host has IPv6 (a dual-stack socket), else IPv4.
        let any6 = std::net::SocketAddr::from(([0u16; 8], reference.port));
        let any4 = std::net::SocketAddr::from(([0u8; 4], reference.port));
        let server = match ReferenceServer::bind(any6, clock).await {
            Ok(s) => s,
            Err(_) => ReferenceServer::bind(any4, clock).await.map_err(|e| {
                anyhow::anyhow!(
                    "--clock-reference: shard 0 cannot answer on UDP port {}: {e}",
                    reference.port
                )
            })?,
        };
        let zero = Offset {
            offset_ns: 0,
            uncertainty_ns: 0,
            samples: 0,
        };
        return Ok((Some(server), Some(zero)));
    }
    let now = clock.to_wall_ns(clock.now_ns());
    // Probing ends before the start instant: the last tenth of the lead (50 ms to 2 s) is left
    // for the wait itself, so measuring never makes a shard start late. With the instant
    // already past, a short measurement still serves the merge.
    let budget = match cfg.start_at_ns {
        Some(at) => {
            let lead = at.saturating_sub(now);
            let reserve = (lead / 10).clamp(50_000_000, 2_000_000_000);
            Duration::from_nanos(lead.saturating_sub(reserve)).max(PROBE_FLOOR)
        }
        None => Duration::from_secs(2),
    };
    let give_up_at = tokio::time::Instant::now() + budget;
    match crate::clock_sync::estimate(
        &reference.address,
        &clock,
        PROBES,
        PROBE_GAP,
        PROBE_TIMEOUT,
        give_up_at,
    )
    .await
    {
        Ok(offset) => {
            tracing::info!(
                "clock offset to the reference shard: {:+.3} ms (within {:.3} ms, {} probes)",
                offset.offset_ns as f64 / 1e6,
                offset.uncertainty_ns as f64 / 1e6,
                offset.samples
            );
            Ok((None, Some(offset)))
        }
        Err(e) => {
            tracing::warn!("{e}; this shard's times are merged as if the clocks agreed");
            Ok((None, None))
        }
    }
}

/// A second estimate after the run (best effort, one second at most): the drift over the run.
pub(crate) async fn clock_after(cfg: &ProfileConfig, clock: aiperf_core::Clock) -> Option<Offset> {
    let reference = cfg.clock_reference.as_ref()?;
    if cfg.shard.index == 0 {
        return None;
    }
    let give_up_at = tokio::time::Instant::now() + Duration::from_secs(1);
    crate::clock_sync::estimate(
        &reference.address,
        &clock,
        8,
        PROBE_GAP,
        PROBE_TIMEOUT,
        give_up_at,
    )
    .await
    .ok()
}

impl ShardManifest {
    /// The manifest of `cfg`'s shard before it sends.
    pub fn started(cfg: &ProfileConfig, start_lateness_ms: Option<f64>) -> Self {
        let start_at = cfg.start_at_ns.map(|ns| {
            chrono::DateTime::from_timestamp_nanos(ns as i64)
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
        });
        Self {
            format: MANIFEST_FORMAT,
            status: ShardStatus::Started,
            shard: cfg.shard,
            plan_hash: plan_hash(&cfg.cli_command),
            cli_command: cfg.cli_command.clone(),
            start_at,
            start_lateness_ms,
            clock: None,
            result: None,
        }
    }

    /// Writes `shard.json` into `dir` (atomically: a reader never sees half a manifest). A
    /// failure is reported, not fatal: the run's own results stand without it.
    pub fn write(&self, dir: &Path) {
        let path = dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        if let Err(e) = aiperf_export::write_atomic(&path, &text) {
            tracing::warn!("{e}; the merge will not find this shard's manifest");
        }
    }

    /// Reads `dir/shard.json`. A missing file is a shard that never started (or a directory
    /// that is no shard); a file this build cannot read is refused outright.
    pub fn read(dir: &Path) -> Result<Self, ManifestError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ManifestError::Absent(format!(
                    "'{}' has no {MANIFEST} (not a shard's directory, or the shard never started)",
                    dir.display()
                )))
            }
            Err(e) => {
                return Err(ManifestError::Absent(format!(
                    "cannot read '{}': {e}",
                    path.display()
                )))
            }
        };
        let invalid = |why: String| ManifestError::Invalid(format!("'{}': {why}", path.display()));
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON ({e})")))?;
        let format = v.get("format").and_then(|f| f.as_u64());
        if format != Some(u64::from(MANIFEST_FORMAT)) {
            return Err(invalid(format!(
                "manifest format {}; this aiperf reads format {MANIFEST_FORMAT}",
                format.map_or("none".to_string(), |f| f.to_string())
            )));
        }
        serde_json::from_value(v).map_err(|e| invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn wall_ns() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }

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
        let late = wait_until(wall_ns() - 2_000_000_000, wall_ns)
            .await
            .unwrap();
        assert!(late >= 2_000.0, "{late}");
        let soon = wall_ns() + 30_000_000;
        let late = wait_until(soon, wall_ns).await.unwrap();
        assert!(wall_ns() >= soon && late < 1_000.0, "{late}");
    }
}
