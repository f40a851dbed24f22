//! Experiment trackers the results are uploaded to after a run: MLflow (`--mlflow-*`) and
//! Weights & Biases (`--wandb-*`). Resolved in `resolve/tracking.rs`, uploaded by the engine's
//! `publish/tracking.rs`. Names, help and value syntax follow AIPerf 0.13 (group "Output").

use clap::{ArgAction, Args};

/// `aiperf profile` flags naming where a finished run's results are recorded.
#[derive(Debug, Clone, Default, Args)]
pub struct TrackingArgs {
    /// MLflow tracking URI. Setting this enables the MLflow upload after the run (an
    /// http:// or https:// tracking server; MLFLOW_TRACKING_TOKEN or
    /// MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD authenticate).
    #[arg(long, value_name = "URI", help_heading = "Output")]
    pub mlflow_tracking_uri: Option<String>,
    /// MLflow experiment name (default: aiperf).
    #[arg(long, value_name = "NAME", help_heading = "Output")]
    pub mlflow_experiment: Option<String>,
    /// MLflow run name (default: aiperf-<first 8 characters of the benchmark id>).
    #[arg(long, value_name = "NAME", help_heading = "Output")]
    pub mlflow_run_name: Option<String>,
    /// Additional MLflow run tags to attach on upload. Specify as key:value pairs (e.g.,
    /// --mlflow-tag team:perf) or as JSON string.
    #[arg(long = "mlflow-tag", value_name = "KEY:VALUE", action = ArgAction::Append,
          num_args = 1.., help_heading = "Output")]
    pub mlflow_tags: Vec<String>,
    /// Optional MLflow parent run ID.
    #[arg(long, value_name = "RUN_ID", help_heading = "Output")]
    pub mlflow_parent_run_id: Option<String>,
    /// Artifact glob overrides for MLflow upload. Can be specified multiple times or as a
    /// comma-separated list.
    #[arg(long = "mlflow-artifact-glob", value_name = "GLOB", action = ArgAction::Append,
          num_args = 1.., help_heading = "Output")]
    pub mlflow_artifact_globs: Vec<String>,
    /// Weights & Biases project name. Setting this enables wandb export.
    #[arg(long, value_name = "PROJECT", help_heading = "Output")]
    pub wandb_project: Option<String>,
    /// Weights & Biases entity (team or user). Defaults to the API key's default entity.
    #[arg(long, value_name = "ENTITY", help_heading = "Output")]
    pub wandb_entity: Option<String>,
    /// Weights & Biases run name.
    #[arg(long, value_name = "NAME", help_heading = "Output")]
    pub wandb_run_name: Option<String>,
    /// Additional Weights & Biases run tags to attach on upload. Can be specified multiple
    /// times or as a comma-separated list.
    #[arg(long = "wandb-tag", value_name = "TAG", action = ArgAction::Append,
          num_args = 1.., help_heading = "Output")]
    pub wandb_tags: Vec<String>,
}
