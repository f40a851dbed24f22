//! `--otel-*`, `--stream`, `--metrics-listen` resolved: where the run's own metrics go.

use crate::cli::ObservabilityArgs;
use crate::ConfigError;

/// Where the run publishes its own metrics (nowhere by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observability {}

pub(super) fn resolve(_args: &ObservabilityArgs) -> Result<Observability, ConfigError> {
    Ok(Observability::default())
}
