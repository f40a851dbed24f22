//! Control requests to the server around the benchmark (AIPerf's `--reset-kv-cache` and
//! `--server-profiler`): being written.

use clap::Args;

/// `aiperf profile` flags for the server's control endpoints.
#[derive(Debug, Clone, Default, Args)]
pub struct ControlArgs {
    /// POST the server's KV-cache reset endpoint once before each run's profiling.
    #[arg(long, help_heading = "Endpoint")]
    pub reset_kv_cache: bool,
    /// Timeout of the KV-cache reset request, seconds.
    #[arg(long, value_name = "SECONDS", help_heading = "Endpoint")]
    pub reset_kv_cache_timeout_seconds: Option<f64>,
    /// Path of the KV-cache reset endpoint (default /reset_prefix_cache).
    #[arg(long, value_name = "PATH", help_heading = "Endpoint")]
    pub reset_kv_cache_path: Option<String>,
    /// POST the server's profiler start endpoint before profiling and its stop endpoint after.
    #[arg(long, help_heading = "Endpoint")]
    pub server_profiler: bool,
    /// Timeout of the profiler control requests, seconds.
    #[arg(long, value_name = "SECONDS", help_heading = "Endpoint")]
    pub server_profiler_timeout_seconds: Option<f64>,
    /// Path of the profiler start endpoint (default /start_profile).
    #[arg(long, value_name = "PATH", help_heading = "Endpoint")]
    pub server_profiler_start_path: Option<String>,
    /// Path of the profiler stop endpoint (default /stop_profile).
    #[arg(long, value_name = "PATH", help_heading = "Endpoint")]
    pub server_profiler_stop_path: Option<String>,
}
