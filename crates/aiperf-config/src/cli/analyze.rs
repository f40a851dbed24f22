//! `aiperf analyze ...`: views over a finished run's per-request records. Run by
//! `crates/aiperf/src/analyze_cmd.rs`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `aiperf analyze` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum AnalyzeCommand {
    /// Render a per-session swim-lane PNG with concurrency curve underneath.
    SwimLane(SwimLaneArgs),
    /// Render a collapsible HTML viewer of per-turn input messages (needs --export-level raw).
    TurnMessages(TurnMessagesArgs),
}

/// `aiperf analyze swim-lane` flags (AIPerf 0.13's names and defaults).
#[derive(Debug, Clone, Default, Args)]
pub struct SwimLaneArgs {
    /// One or more AIPerf run directories (each with profile_export.jsonl).
    #[arg(required = true, value_name = "RUN_DIRS")]
    pub run_dirs: Vec<PathBuf>,
    /// Output PNG path (default <run_dir>/swim_lane.png; an SVG is written beside it).
    /// Only valid with a single run directory.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Target concurrency to draw as a reference line in the concurrency panel.
    #[arg(short = 'c', long = "concurrency")]
    pub concurrency: Option<u64>,
    /// Ramp duration in seconds for the ramp-done marker; overrides the value read from
    /// profile_export_aiperf.json.
    #[arg(long = "ramp")]
    pub ramp: Option<f64>,
    /// Also write a self-contained HTML page (swim_lane.html, or --out with an .html suffix).
    #[arg(long = "html")]
    pub html: bool,
}

/// `aiperf analyze turn-messages` flags (AIPerf 0.13's names and defaults).
#[derive(Debug, Clone, Args)]
pub struct TurnMessagesArgs {
    /// One or more AIPerf run directories written with --export-level raw (or raw JSONL files).
    #[arg(required = true, value_name = "RUN_DIRS")]
    pub run_dirs: Vec<PathBuf>,
    /// Output HTML path (default <run_dir>/turn_messages.html). Only valid with a single run
    /// directory.
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Max conversations to render (roots first, then by earliest request time).
    #[arg(short = 'n', long = "limit-conversations", default_value_t = 40)]
    pub limit_conversations: usize,
    /// Max turns rendered per conversation; the rest are summarized as a hidden count.
    #[arg(long = "max-turns", default_value_t = 60)]
    pub max_turns: usize,
    /// Max characters kept per unique message body; longer bodies are truncated.
    #[arg(long = "content-cap", default_value_t = 8000)]
    pub content_cap: usize,
}

impl Default for TurnMessagesArgs {
    fn default() -> Self {
        TurnMessagesArgs {
            run_dirs: Vec::new(),
            out: None,
            limit_conversations: 40,
            max_turns: 60,
            content_cap: 8000,
        }
    }
}
