//! `aiperf completions SHELL` (and AIPerf's `--install-completion` / `--show-completion`,
//! handled before parsing in `crates/aiperf/src/lib.rs`). Run by
//! `crates/aiperf/src/completions_cmd.rs`.

use clap::Args;

/// `aiperf completions` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct CompletionsArgs {}
