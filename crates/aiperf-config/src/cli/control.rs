//! Control requests to the server around the benchmark (AIPerf's `--reset-kv-cache` and
//! `--server-profiler`), resolved in `resolve/control.rs` and sent by the engine's `control.rs`.

use clap::Args;

/// `aiperf profile` flags for the server's control endpoints. Each is an empty-body POST to
/// every unique origin of the `--url`s, with the run's auth headers. Giving a hook's path or
/// timeout turns the hook on, as in AIPerf.
#[derive(Debug, Clone, Default, Args)]
pub struct ControlArgs {
    /// POST the server's KV-cache reset endpoint once per run, before the first request
    /// (warm-up included); a failure ends the run before it starts.
    #[arg(long, help_heading = "Endpoint")]
    pub reset_kv_cache: bool,
    /// Timeout of one KV-cache reset POST, seconds (default 30).
    #[arg(long, value_name = "SECONDS", help_heading = "Endpoint")]
    pub reset_kv_cache_timeout_seconds: Option<f64>,
    /// Path of the KV-cache reset endpoint, starting with '/' (default /reset_prefix_cache).
    #[arg(long, value_name = "PATH", help_heading = "Endpoint")]
    pub reset_kv_cache_path: Option<String>,
    /// POST the server's profiler start endpoint right before the profiling phase and its stop
    /// endpoint right after it (a failed start fails the run; a failed stop is a warning).
    #[arg(long, help_heading = "Endpoint")]
    pub server_profiler: bool,
    /// Timeout of one profiler start or stop POST, seconds (default 30).
    #[arg(long, value_name = "SECONDS", help_heading = "Endpoint")]
    pub server_profiler_timeout_seconds: Option<f64>,
    /// Path of the profiler start endpoint, starting with '/' (default /start_profile).
    #[arg(long, value_name = "PATH", help_heading = "Endpoint")]
    pub server_profiler_start_path: Option<String>,
    /// Path of the profiler stop endpoint, starting with '/' (default /stop_profile).
    #[arg(long, value_name = "PATH", help_heading = "Endpoint")]
    pub server_profiler_stop_path: Option<String>,
}
