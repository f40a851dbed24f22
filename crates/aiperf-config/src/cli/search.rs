//! The generic search (`--search-space`, `--search-metric`, `--search-planner`, ...): the
//! outer loop that picks each next run's parameters from the results so far. The named
//! recipes' flags (`--search-recipe` and its thresholds) live in `cli.rs`; both resolve in
//! `resolve/search.rs` and run in the engine's `search.rs`.

use clap::{ArgAction, Args};

/// `aiperf profile` flags of the generic parameter search (AIPerf 0.13's names and choices).
#[derive(Debug, Clone, Default, Args)]
pub struct SearchArgs {
    /// A dimension to search, `path:lo,hi[:int|real]` (repeatable), e.g.
    /// `phases.profiling.concurrency:1,64:int`. Needs --search-metric, --search-direction and
    /// --search-max-iterations.
    #[arg(long, action = ArgAction::Append, help_heading = "Multi-Run")]
    pub search_space: Vec<String>,
    /// The metric tag the search optimizes, e.g. `output_token_throughput`.
    #[arg(long, help_heading = "Multi-Run")]
    pub search_metric: Option<String>,
    /// The statistic of --search-metric (default avg).
    #[arg(long, value_parser = ["avg", "p50", "p90", "p95", "p99"], help_heading = "Multi-Run")]
    pub search_stat: Option<String>,
    /// Whether the search looks for the largest or the smallest --search-metric.
    #[arg(long, value_parser = ["maximize", "minimize"], help_heading = "Multi-Run")]
    pub search_direction: Option<String>,
    /// Random points before the Gaussian process is fitted (default 5; below
    /// --search-max-iterations).
    #[arg(long, help_heading = "Multi-Run")]
    pub search_initial_points: Option<u32>,
    /// Seed of the search's own randomness: the same seed proposes the same points.
    #[arg(long, help_heading = "Multi-Run")]
    pub search_random_seed: Option<u64>,
    /// The outer-loop planner (default bayesian): a Gaussian process with expected improvement,
    /// or the 1-D SLA-boundary planners.
    #[arg(long, value_parser = ["bayesian", "optuna", "monotonic_sla", "smooth_isotonic"], help_heading = "Multi-Run")]
    pub search_planner: Option<String>,
    /// Optuna's sampler with --search-planner optuna (the built-in Gaussian process runs).
    #[arg(long, value_parser = ["gp", "tpe", "botorch"], help_heading = "Multi-Run")]
    pub optuna_sampler: Option<String>,
    /// Optuna BoTorch acquisition (accepted for compatibility; expected improvement runs).
    #[arg(long, value_parser = ["logei", "qlogei", "qnei", "qlognei", "qehvi", "qnehvi", "qlognehvi"], help_heading = "Multi-Run")]
    pub optuna_acquisition: Option<String>,
    /// Optuna's regret-based stopping rule (accepted; the search stops on its own signals).
    #[arg(long, value_parser = ["regret", "emmr", "none"], help_heading = "Multi-Run")]
    pub optuna_terminator: Option<String>,
    /// Deprecated and ignored, as in AIPerf.
    #[arg(long, value_parser = ["penalty", "eic"], help_heading = "Multi-Run")]
    pub bo_constraint_mode: Option<String>,
    /// How a percentile --search-stat combines trials: mean of per-trial values or pooled.
    #[arg(long, value_parser = ["mean", "pooled"], help_heading = "Multi-Run")]
    pub search_percentile_pooling: Option<String>,
    /// A bound every searched run must meet, `tag:stat:lt|le|gt|ge:threshold` (repeatable), e.g.
    /// `time_to_first_token:p95:lt:200`.
    #[arg(long, action = ArgAction::Append, help_heading = "Multi-Run")]
    pub search_sla: Vec<String>,
    /// A tier of SLA filters, `[LABEL:]FILTER[,FILTER...]` (repeat 2-10 times).
    #[arg(long, action = ArgAction::Append, help_heading = "Multi-Run")]
    pub search_sla_tier: Vec<String>,
    /// max-concurrency-under-sla's strategy: smooth_isotonic, monotonic, bo, optuna or grid.
    #[arg(long, value_parser = ["smooth_isotonic", "monotonic", "bo", "optuna", "grid"], help_heading = "Multi-Run")]
    pub search_style: Option<String>,
}
