//! Live and post-run telemetry about the benchmark itself: OpenTelemetry export (`--otel-url`,
//! `--stream`, ...) and a Prometheus endpoint of the client's own metrics (`--metrics-listen`).
//! Resolved in `resolve/observability.rs`, published by the engine's `publish/live.rs`.

use clap::Args;

/// `aiperf profile` flags that publish the run's own metrics while and after it runs.
#[derive(Debug, Clone, Default, Args)]
pub struct ObservabilityArgs {}
