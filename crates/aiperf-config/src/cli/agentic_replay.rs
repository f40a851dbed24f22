//! AIPerf's agentic replay timing mode and benchmark scenarios (`--scenario`,
//! `--unsafe-override`, `--trajectory-start-*-ratio`, `--burst-phase-starts`, the idle-gap caps,
//! the agentic warm-up). Resolved in `resolve/agentic_replay.rs`, run by the engine's
//! `agentic_replay.rs`.

use clap::Args;

/// `aiperf profile` flags of agentic trajectory replay and scenario locks.
#[derive(Debug, Clone, Default, Args)]
pub struct AgenticReplayArgs {}
