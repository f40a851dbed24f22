//! Agentic trajectory replay and scenario locks resolved.

use crate::cli::AgenticReplayArgs;
use crate::ConfigError;

/// Agentic trajectory replay (off by default).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgenticReplay {}

pub(super) fn resolve(_args: &AgenticReplayArgs) -> Result<AgenticReplay, ConfigError> {
    Ok(AgenticReplay::default())
}
