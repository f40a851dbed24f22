//! The generic search (`--search-space`, `--search-metric`, `--search-planner`, ...): the
//! outer loop that picks each next run's parameters from the results so far. The named
//! recipes' flags (`--search-recipe` and its thresholds) live in `cli.rs`; both resolve in
//! `resolve/search.rs` and run in the engine's `search.rs`.

use clap::Args;

/// `aiperf profile` flags of the generic parameter search.
#[derive(Debug, Clone, Default, Args)]
pub struct SearchArgs {}
