//! `--network-latency-*` resolved: whether and how the run measures the network's round trip.

use crate::cli::NetworkArgs;
use crate::ConfigError;

/// The network latency calibration of a run (off by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkLatency {}

pub(super) fn resolve(_args: &NetworkArgs) -> Result<NetworkLatency, ConfigError> {
    Ok(NetworkLatency::default())
}
