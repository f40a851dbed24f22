//! Network latency calibration: probes the server's round trip during the run
//! (`--network-latency-automatic`) or takes it as given (`--network-latency-mean`), and adds
//! `network_rtt` and the `network_adjusted_*` metrics to the report.

use aiperf_config::ProfileConfig;
use aiperf_core::Clock;
use aiperf_export::RunReport;

/// The probing of one run (nothing when calibration is off).
pub(crate) struct Prober {}

/// What the run measured.
#[derive(Debug, Default)]
pub(crate) struct Measured {}

/// Starts probing (before the first phase). A probe target that cannot be resolved is a
/// set-up error.
pub(crate) async fn start(_cfg: &ProfileConfig, _clock: Clock) -> anyhow::Result<Prober> {
    Ok(Prober {})
}

impl Prober {
    /// Stops probing (after the last response).
    pub(crate) async fn finish(self) -> Measured {
        Measured {}
    }
}

/// Adds the calibration's metrics to the report and writes its artifacts; returns how many
/// artifacts failed to be written (each warned about).
pub(crate) fn apply(_cfg: &ProfileConfig, _measured: &Measured, _rep: &mut RunReport) -> usize {
    0
}
