//! `--reset-kv-cache` and `--server-profiler` resolved: being written.

use crate::cli::ControlArgs;
use crate::ConfigError;

/// The server control requests a run makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerControl {}

pub(super) fn resolve(_args: &ControlArgs) -> Result<ServerControl, ConfigError> {
    Ok(ServerControl::default())
}
