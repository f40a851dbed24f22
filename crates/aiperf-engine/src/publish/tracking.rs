//! Recording a finished run in experiment trackers: MLflow (`--mlflow-*`, over the tracking
//! server's REST API, `tracking/mlflow.rs`) and Weights & Biases (`--wandb-*`, an offline run
//! directory, `tracking/wandb.rs`). Called after every artifact is written; a tracker that
//! fails warns once, naming its URL without credentials, and counts as one failed delivery
//! (the run then exits non-zero). The artifact files are never changed, only added to
//! (`mlflow_export.json`, `wandb/`), as AIPerf does.

mod artifacts;
mod http;
mod mlflow;
mod payload;
mod wandb;

/// The file a recorded MLflow run leaves in the artifact directory.
pub(crate) use mlflow::METADATA_FILE as MLFLOW_EXPORT_FILE;

/// `aiperf plot --mlflow-upload`: files added to an existing MLflow run (credentials from the
/// `MLFLOW_TRACKING_*` environment, as for a run).
pub async fn upload_to_mlflow_run(
    tracking_uri: &str,
    run_id: &str,
    dir: &std::path::Path,
    files: &[std::path::PathBuf],
) -> Result<usize, String> {
    let env = |k: &str| std::env::var(k).ok();
    mlflow::upload_to_run(tracking_uri, run_id, dir, files, &env).await
}

use std::time::{Duration, Instant};

use aiperf_config::ProfileConfig;
use aiperf_export::RunReport;

/// Uploads the finished run to every configured tracker; returns the number of failed
/// deliveries (each warned about).
pub(super) async fn publish(cfg: &ProfileConfig, rep: &RunReport) -> usize {
    publish_with(cfg, rep, &|k| std::env::var(k).ok()).await
}

async fn publish_with(
    cfg: &ProfileConfig,
    rep: &RunReport,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> usize {
    let mut failed = 0;
    if let Some(m) = &cfg.tracking.mlflow {
        // The requests' own deadline a little later, so running out of time is reported as the
        // export timeout (naming its setting) rather than as one request's timeout.
        let deadline = Instant::now() + m.timeout + Duration::from_millis(250);
        let url = &m.tracking_uri;
        match tokio::time::timeout(m.timeout, mlflow::record(cfg, rep, deadline, env)).await {
            Ok(Ok(r)) => tracing::info!(
                "Uploaded MLflow run '{}' ({}) with {} metrics and {} artifacts to {url}",
                r.run_name,
                r.run_id,
                r.metrics,
                r.artifacts
            ),
            Ok(Err(e)) => {
                tracing::warn!("MLflow upload to {url} failed: {e}");
                failed += 1;
            }
            Err(_) => {
                tracing::warn!(
                    "MLflow upload to {url} timed out after {} s (AIPERF_MLFLOW_EXPORT_TIMEOUT_SECONDS); the tracking server may be unreachable",
                    m.timeout.as_secs_f64()
                );
                failed += 1;
            }
        }
    }
    if cfg.tracking.wandb.is_some() {
        match wandb::write_offline_run(cfg, rep) {
            Ok(dir) => tracing::info!(
                "Wrote the Weights & Biases run to '{}' (see docs/tracking.md to upload it)",
                dir.display()
            ),
            Err(e) => {
                tracing::warn!("Weights & Biases export failed: {e}");
                failed += 1;
            }
        }
    }
    failed
}
