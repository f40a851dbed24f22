//! `shards`: how a merged run was put together from its shards (`aiperf merge`). Only merged
//! runs have it.

use schemars::JsonSchema;
use serde::Serialize;

/// The shards of a merged run: which were merged, which were not and why, how well their clocks
/// agreed, and each one's own sends and verdicts (a shard's backlog or CPU limit is real even
/// when the merged totals look fine).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ShardsReport {
    /// Shards the plan was split into.
    pub count: u32,
    /// Indices merged.
    pub merged: Vec<u32>,
    /// Indices no directory given held.
    pub missing: Vec<u32>,
    /// Shards found but left out (`--allow-partial`).
    pub failed: Vec<FailedShard>,
    /// Not every shard of the plan is in the results.
    pub partial: bool,
    pub plan_hash: String,
    pub clock: ClockAgreement,
    /// Where the server-metrics and GPU files came from, when copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_metrics: Option<String>,
    pub per_shard: Vec<ShardEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FailedShard {
    /// `null` when not even the manifest could be read.
    pub index: Option<u32>,
    pub dir: String,
    pub why: String,
}

/// How the shards' times were put on one clock.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ClockAgreement {
    /// Every merged shard measured its offset to the reference (`--clock-reference`).
    pub measured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The worst error between two shards' times: the sum of the two largest uncertainties.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pair_uncertainty_ms: Option<f64>,
    /// What the times assume when offsets were not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ShardEntry {
    pub index: u32,
    pub dir: String,
    pub requests: u64,
    pub errors: u64,
    /// Requests the shard sent in its profiling phase.
    pub sent: u64,
    pub exit_code: i32,
    pub records_complete: bool,
    /// How late the shard woke for `--start-at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_lateness_ms: Option<f64>,
    /// When the shard's profiling phase started, after the earliest shard's (corrected clocks).
    pub phase_start_offset_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_offset_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_uncertainty_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_drift_ms: Option<f64>,
    /// The shard's own `load_report` and `client_bound`, as its summary has them.
    pub load_report: serde_json::Value,
    pub client_bound: serde_json::Value,
}
