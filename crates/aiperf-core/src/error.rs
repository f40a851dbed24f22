//! Why a request failed, as AIPerf reports it (`{"code", "type", "message"}`).

use serde::Serialize;

/// Details of a failed request. Failed requests are data, never errors that end a run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub struct ErrorDetails {
    /// HTTP status (or AIPerf's pseudo-status, e.g. 502 for an SSE error event); `None` when no
    /// response was received.
    pub code: Option<u16>,
    /// Stable error type: the HTTP reason phrase or an error kind name.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message (response body text or error description).
    pub message: String,
}

impl ErrorDetails {
    pub fn new(code: Option<u16>, kind: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            kind: kind.into(),
            message: message.into(),
        }
    }
}
