//! `--mlflow-*` and `--wandb-*` resolved: the experiment trackers a finished run is recorded in.

use crate::cli::TrackingArgs;
use crate::ConfigError;

/// The trackers a run's results go to (none by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracking {}

pub(super) fn resolve(_args: &TrackingArgs) -> Result<Tracking, ConfigError> {
    Ok(Tracking::default())
}
