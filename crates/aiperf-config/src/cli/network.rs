//! Network round-trip calibration (`--network-latency-automatic`, `--network-latency-mean`,
//! `--network-latency-ping-interval`): the client-to-server RTT subtracted from latencies in the
//! `network_adjusted_*` metrics. Resolved in `resolve/network.rs`, probed by the engine's
//! `network.rs`.

use clap::Args;

/// `aiperf profile` flags of the network latency calibration.
#[derive(Debug, Clone, Default, Args)]
pub struct NetworkArgs {
    /// Automatically measure network latency (DISABLED BY DEFAULT). Opens a fresh TCP
    /// connection to the endpoint throughout the run, measures the handshake RTT, and subtracts
    /// the mean from request-start-anchored latency metrics (request_latency,
    /// time_to_first_token, time_to_first_output_token). Raw metrics are preserved; adjusted
    /// values are emitted as separate network_adjusted_* metrics plus a network_rtt summary.
    /// Mutually exclusive with --network-latency-mean.
    #[arg(long, help_heading = "Network Latency")]
    pub network_latency_automatic: bool,
    /// Set a fixed mean network RTT in milliseconds to subtract, bypassing active probing.
    /// Implicitly enables network latency adjustment. Mutually exclusive with
    /// --network-latency-automatic.
    #[arg(
        long,
        value_name = "MS",
        allow_negative_numbers = true,
        help_heading = "Network Latency"
    )]
    pub network_latency_mean: Option<f64>,
    /// Seconds between TCP-handshake RTT probes during profiling (default: 1.0s). Only applies
    /// with --network-latency-automatic.
    #[arg(
        long,
        value_name = "SECONDS",
        allow_negative_numbers = true,
        help_heading = "Network Latency"
    )]
    pub network_latency_ping_interval: Option<f64>,
}
