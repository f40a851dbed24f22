//! The trace replay group (`cli/trace_replay.rs`): checked and typed.

use super::ConfigError;
use crate::ProfileArgs;

/// How a recorded trace is cut, scaled and turned into requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceReplayOptions {}

pub(super) fn resolve(
    _args: &ProfileArgs,
    _warnings: &mut Vec<String>,
) -> Result<TraceReplayOptions, ConfigError> {
    Ok(TraceReplayOptions::default())
}
