//! Synthetic workload shaping flags (`--seq-dist`, `--random-range-ratio`, `--prompt-corpus`,
//! `--cache-bust`, ...): how synthetic prompt lengths and texts are drawn.

use clap::Args;

/// Flattened into `aiperf profile`'s options.
#[derive(Debug, Clone, Default, Args)]
pub struct ShapingArgs {}
