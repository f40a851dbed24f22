//! AIPerf's agentic replay timing mode and benchmark scenarios (`--scenario`,
//! `--unsafe-override`, `--trajectory-start-*-ratio`, `--burst-phase-starts`, the idle-gap caps,
//! the agentic warm-up). Resolved in `resolve/agentic_replay.rs`, run by the engine's
//! `agentic_replay.rs`.

use clap::Args;

/// `aiperf profile` flags of agentic trajectory replay and scenario locks.
///
/// Values are kept as given (`Option`) so the scenario lock can tell an explicit value from
/// AIPerf's default, as AIPerf's `_explicitly_set` markers do.
#[derive(Debug, Clone, Default, Args)]
pub struct AgenticReplayArgs {
    /// Benchmark scenario whose invariants are locked (`inferencex-agentx-mvp`); it selects
    /// AGENTIC_REPLAY timing.
    #[arg(long, value_name = "NAME", help_heading = "Scenario")]
    pub scenario: Option<String>,
    /// Turn scenario lock violations into warnings (the run is marked `submission_valid: false`).
    #[arg(long, help_heading = "Scenario")]
    pub unsafe_override: bool,
    /// AGENTIC_REPLAY: lower bound of each trajectory's start, as a fraction of its duration
    /// [default: 0.25].
    #[arg(
        long,
        value_name = "RATIO",
        help_heading = "Load Generator",
        allow_negative_numbers = true
    )]
    pub trajectory_start_min_ratio: Option<f64>,
    /// AGENTIC_REPLAY: upper bound of each trajectory's start, as a fraction of its duration
    /// [default: 0.75].
    #[arg(
        long,
        value_name = "RATIO",
        help_heading = "Load Generator",
        allow_negative_numbers = true
    )]
    pub trajectory_start_max_ratio: Option<f64>,
    /// AGENTIC_REPLAY: fire each phase's first requests together instead of spreading them by
    /// their recorded offsets from t*.
    #[arg(long, help_heading = "Load Generator")]
    pub burst_phase_starts: bool,
    /// Cap (seconds) on idle gaps within each root trace (weka traces).
    #[arg(
        long,
        value_name = "SECONDS",
        help_heading = "Input",
        allow_negative_numbers = true
    )]
    pub trace_idle_gap_cap_seconds: Option<f64>,
    /// AGENTIC_REPLAY: cap (seconds) on globally idle replay time.
    #[arg(
        long,
        value_name = "SECONDS",
        help_heading = "Load Generator",
        allow_negative_numbers = true
    )]
    pub system_idle_gap_cap_seconds: Option<f64>,
    /// AGENTIC_REPLAY: extra cache-pressure warm-up (seconds) after the snapshot warm-up.
    #[arg(
        long,
        value_name = "SECONDS",
        help_heading = "Warmup",
        allow_negative_numbers = true
    )]
    pub agentic_cache_warmup_duration: Option<f64>,
    /// AGENTIC_REPLAY: how long (seconds) the warm-up waits for its priming requests.
    #[arg(
        long,
        value_name = "SECONDS",
        help_heading = "Warmup",
        allow_negative_numbers = true
    )]
    pub agentic_warmup_grace_period: Option<f64>,
}
