//! Not built yet (seam for the agent-graph formats).

use std::path::Path;

use aiperf_core::Conversation;

use super::{LoadContext, LoadError, Probe};

/// Reads the file.
pub fn load(path: &Path, _ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    Err(LoadError::file(path, "this format is not read by this build yet"))
}

/// Whether [`Probe`] looks like this format.
pub fn can_load(_probe: &Probe) -> bool {
    false
}
