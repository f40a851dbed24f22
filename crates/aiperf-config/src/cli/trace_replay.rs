//! Trace replay flags (`--replay-speedup`, `--trace-session-sample-ratio`, `--omit-kv-hints`,
//! ...): how a recorded trace is cut, scaled and turned into requests.
//!
//! As in AIPerf 0.13, all but `--ignore-trace-delays` and `--inter-turn-delay-cap-seconds` are
//! read only by the `baseten_trace` loader.

use clap::Args;

/// Flattened into `aiperf profile`'s options.
#[derive(Debug, Clone, Default, Args)]
pub struct TraceReplayArgs {
    // ---- Input ----
    /// Strip per-turn timestamps and inter-turn delays from trace datasets at load time, so
    /// concurrency / request-rate modes send turns back-to-back instead of reproducing the
    /// recorded think-time gaps. No effect under --fixed-schedule.
    #[arg(long, help_heading = "Input")]
    pub ignore_trace_delays: bool,
    /// Fraction of trace sessions to keep for replay (0 < ratio <= 1), sampled whole-session to
    /// preserve multi-turn integrity; deterministic when --random-seed is set. Only supported
    /// by the baseten_trace loader.
    #[arg(long, allow_negative_numbers = true, help_heading = "Input")]
    pub trace_session_sample_ratio: Option<f64>,

    // ---- Conversation Input ----
    /// Clamp per-turn replay delays to at most this many seconds (baseten_trace closed-loop
    /// think times); unset disables the cap.
    #[arg(
        long,
        allow_negative_numbers = true,
        help_heading = "Conversation Input"
    )]
    pub inter_turn_delay_cap_seconds: Option<f64>,
    /// Collapse idle gaps between consecutive requests (across all sessions) to at most this
    /// many seconds of replay time (after --replay-speedup), so a sparse or session-sampled
    /// trace does not replay dead air. Only supported by the baseten_trace loader.
    #[arg(
        long,
        allow_negative_numbers = true,
        help_heading = "Conversation Input"
    )]
    pub max_idle_gap_cap_seconds: Option<f64>,
    /// Trace replay wall-clock compression (10 = 10x faster than recorded): divides normalized
    /// timestamps and inter-turn delays. Only supported by the baseten_trace loader.
    #[arg(
        long,
        allow_negative_numbers = true,
        help_heading = "Conversation Input"
    )]
    pub replay_speedup: Option<f64>,
    /// Open-loop replay (the default): each session starts at its speedup-scaled recorded
    /// timestamp; later turns go at max(recorded timestamp, previous turn's completion). Only
    /// honored by the baseten_trace loader.
    #[arg(
        long,
        overrides_with = "no_open_loop_replay",
        help_heading = "Conversation Input"
    )]
    pub open_loop_replay: bool,
    /// Closed-loop back-pressure: later turns go a think time (recorded start-to-start gap
    /// minus recorded e2e duration) after the previous turn completes.
    #[arg(
        long,
        overrides_with = "open_loop_replay",
        help_heading = "Conversation Input"
    )]
    pub no_open_loop_replay: bool,
    /// In open-loop replay, send every trace row at its recorded timestamp as an independent
    /// single-turn session. Only honored by the baseten_trace loader.
    #[arg(long, help_heading = "Conversation Input")]
    pub open_loop_strict: bool,
    /// Drop recorded KV-cache hints (hash_ids, block_size) from replayed request bodies, for
    /// strict frontends that reject unknown parameters. Only honored by the baseten_trace
    /// loader.
    #[arg(long, help_heading = "Conversation Input")]
    pub omit_kv_hints: bool,
    /// Pin min_tokens to the recorded output length (the default). Only honored by the
    /// baseten_trace loader.
    #[arg(
        long,
        overrides_with = "no_force_min_tokens",
        help_heading = "Conversation Input"
    )]
    pub force_min_tokens: bool,
    /// Let EOS end replayed generations naturally (some servers reject min_tokens).
    #[arg(
        long,
        overrides_with = "force_min_tokens",
        help_heading = "Conversation Input"
    )]
    pub no_force_min_tokens: bool,
}
