//! Publishing a run beyond its artifact directory: live (OpenTelemetry `--stream`, the
//! `--metrics-listen` Prometheus page; `live.rs`) and after it ends (OTLP, MLflow, W&B;
//! `live.rs` and `tracking.rs`).
//!
//! The engine starts the publishers before the first phase, hands their record taps to the
//! record processor, and finishes them after the exporters wrote every file. A publisher that
//! fails to deliver warns and counts as a missing artifact; it never loses a record.

mod live;
mod tracking;

pub use tracking::upload_to_mlflow_run;
pub(crate) use tracking::MLFLOW_EXPORT_FILE;

use std::sync::Arc;

use aiperf_config::ProfileConfig;
use aiperf_core::{Clock, ErrorDetails};
use aiperf_export::RunReport;
use aiperf_metrics::RecordValues;

/// Sees every profiling record on the record processor thread, right after its metrics are
/// computed. Must be cheap: the processor waits for it.
pub trait RecordTap: Send + Sync {
    /// One record: its values, its error if it failed, and its start on the wall clock (ns).
    fn record(&self, values: &RecordValues, error: Option<&ErrorDetails>, start_wall_ns: u64);
}

/// The publishers of one run.
pub struct Publishers {
    live: live::Live,
}

/// Starts what publishes during the run. A listener that cannot bind is a set-up error.
pub async fn start(cfg: &ProfileConfig, clock: Clock) -> anyhow::Result<Publishers> {
    Ok(Publishers {
        live: live::start(cfg, clock).await?,
    })
}

impl Publishers {
    /// The taps the record processor calls for each profiling record.
    pub fn taps(&self) -> Vec<Arc<dyn RecordTap>> {
        self.live.taps()
    }

    /// Delivers the finished run (the artifacts are written); returns how many deliveries
    /// failed (each already warned about).
    pub async fn finish(self, cfg: &ProfileConfig, rep: &RunReport) -> usize {
        self.live.finish(cfg, rep).await + tracking::publish(cfg, rep).await
    }
}
