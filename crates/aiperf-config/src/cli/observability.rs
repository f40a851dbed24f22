//! Live and post-run telemetry about the benchmark itself: OpenTelemetry export (`--otel-url`,
//! `--stream`, ...) and a Prometheus endpoint of the client's own metrics (`--metrics-listen`).
//! Resolved in `resolve/observability.rs`, published by the engine's `publish/live.rs`.
//!
//! Values are taken as typed and checked when resolved (AIPerf validates them after parsing
//! too), so an AIPerf command line never meets a parse error clap would word differently.

use clap::Args;

/// `aiperf profile` flags that publish the run's own metrics while and after it runs.
#[derive(Debug, Clone, Default, Args)]
pub struct ObservabilityArgs {
    /// OTLP/HTTP metrics endpoint URL (`host:port` or a full URL; `/v1/metrics` is appended
    /// unless the path already ends with it). Per-request metrics and phase counters are
    /// exported every AIPERF_OTEL_FLUSH_INTERVAL_SECONDS (2 s) and once more at the end.
    #[arg(long = "otel-url", value_name = "URL", help_heading = "Output")]
    pub otel_url: Option<String>,

    /// Select which AIPerf telemetry domains to stream over OTel. Valid values: 'metrics',
    /// 'timing', 'default' (both) or 'none'. Examples: --stream metrics | --stream timing |
    /// --stream metrics timing. Needs --otel-url.
    #[arg(long = "stream", value_name = "DOMAIN", num_args = 1.., value_delimiter = ',',
          help_heading = "Output")]
    pub stream: Option<Vec<String>>,

    /// Custom OTel resource attributes as key=value pairs (space- or comma-separated). Merged
    /// into the default resource attributes on every exported metric. Needs --otel-url.
    #[arg(long = "otel-resource-attributes", value_name = "KEY=VALUE", num_args = 1..,
          help_heading = "Output")]
    pub otel_resource_attributes: Option<Vec<String>>,

    /// GenAI semantic convention provider override: the `gen_ai.provider.name` attribute
    /// (inferred from the --url host otherwise, `_OTHER` when unknown). Needs --otel-url.
    #[arg(long = "gen-ai-provider", value_name = "NAME", help_heading = "Output")]
    pub gen_ai_provider: Option<String>,

    /// Serve the client's own live metrics (requests, errors by type, TTFT, ITL and request
    /// latency histograms) as a Prometheus page on http://ADDR/metrics while the run lasts.
    /// ADDR is HOST:PORT, or :PORT for every interface. Not an AIPerf flag.
    #[arg(long = "metrics-listen", value_name = "ADDR", help_heading = "Output")]
    pub metrics_listen: Option<String>,
}
