//! Publishing during the run: OpenTelemetry (`--otel-url`, `--stream`) and the
//! `--metrics-listen` Prometheus page of the client's own metrics.

use std::sync::Arc;

use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_export::RunReport;

use super::RecordTap;

/// The live publishers of one run (none yet).
pub(super) struct Live {}

pub(super) async fn start(_cfg: &ProfileConfig, _clock: Clock) -> anyhow::Result<Live> {
    Ok(Live {})
}

impl Live {
    pub(super) fn taps(&self) -> Vec<Arc<dyn RecordTap>> {
        Vec::new()
    }

    /// Sends the final state and stops; returns the number of failed deliveries.
    pub(super) async fn finish(self, _cfg: &ProfileConfig, _rep: &RunReport) -> usize {
        0
    }
}
