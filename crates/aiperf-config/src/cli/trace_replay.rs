//! Trace replay flags (`--replay-speedup`, `--trace-session-sample-ratio`, `--omit-kv-hints`,
//! ...): how a recorded trace is cut, scaled and turned into requests.

use clap::Args;

/// Flattened into `aiperf profile`'s options.
#[derive(Debug, Clone, Default, Args)]
pub struct TraceReplayArgs {}
