//! `aiperf analyze ...`: views over a finished run's per-request records. Run by
//! `crates/aiperf/src/analyze_cmd.rs`.

use clap::{Args, Subcommand};

/// `aiperf analyze` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum AnalyzeCommand {
    /// Per-session swim lanes of a run, with its concurrency curve (SVG/PNG).
    SwimLane(SwimLaneArgs),
    /// An HTML viewer of each turn's input messages (needs a run with --export-level raw).
    TurnMessages(TurnMessagesArgs),
}

/// `aiperf analyze swim-lane` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct SwimLaneArgs {}

/// `aiperf analyze turn-messages` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct TurnMessagesArgs {}
