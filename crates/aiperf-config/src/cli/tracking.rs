//! Experiment trackers the results are uploaded to after a run: MLflow (`--mlflow-*`) and
//! Weights & Biases (`--wandb-*`). Resolved in `resolve/tracking.rs`, uploaded by the engine's
//! `publish/tracking.rs`.

use clap::Args;

/// `aiperf profile` flags naming where a finished run's results are recorded.
#[derive(Debug, Clone, Default, Args)]
pub struct TrackingArgs {}
