//! Why no picture could be made.

use std::path::PathBuf;

/// A failure of `aiperf plot` as a whole (a single chart that cannot be drawn is a note in the
/// report instead).
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("'{0}': no such file or directory")]
    Missing(PathBuf),
    #[error("{}: no run found within 8 directory levels (a run directory holds profile_export_aiperf.json, or PREFIX.json with input_config beside PREFIX.jsonl){}", .paths.join(", "), .seen)]
    NoRuns { paths: Vec<String>, seen: String },
    #[error("'{path}': {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("'{path}': cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("--serve: {0}")]
    Serve(String),
    #[error("--group '{0}': expected NAME=GLOB")]
    BadGroup(String),
}

impl PlotError {
    pub(crate) fn unreadable(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        PlotError::Unreadable {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
