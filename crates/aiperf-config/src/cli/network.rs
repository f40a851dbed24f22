//! Network round-trip calibration (`--network-latency-automatic`, `--network-latency-mean`,
//! `--network-latency-ping-interval`): the client-to-server RTT subtracted from latencies in the
//! `network_adjusted_*` metrics. Resolved in `resolve/network.rs`, probed by the engine's
//! `network.rs`.

use clap::Args;

/// `aiperf profile` flags of the network latency calibration.
#[derive(Debug, Clone, Default, Args)]
pub struct NetworkArgs {}
