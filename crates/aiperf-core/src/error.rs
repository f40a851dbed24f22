//! Why a request failed, as AIPerf reports it (`{"code", "type", "message"}`).

use serde::{Deserialize, Serialize};

/// Details of a failed request. Failed requests are data, never errors that end a run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
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

/// `error` and its causes on one line, each said once: a cause whose text is already part of
/// the line is skipped (a `thiserror` error that prints its source would otherwise repeat it,
/// as `anyhow`'s `{:#}` does), and line breaks inside a message become spaces.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Leaf;
    impl std::fmt::Display for Leaf {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("received corrupt message")
        }
    }
    impl std::error::Error for Leaf {}

    /// Prints its source and also returns it from `source()`, as `#[error("..: {source}")]`.
    #[derive(Debug)]
    struct Wrapper(Leaf);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "TLS handshake failed: {}", self.0)
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// A context that does not print its source.
    #[derive(Debug)]
    struct Context(Wrapper);
    impl std::fmt::Display for Context {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("cannot reach\nthe server")
        }
    }
    impl std::error::Error for Context {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_said_once_on_one_line() {
        assert_eq!(
            one_line(&Context(Wrapper(Leaf))),
            "cannot reach the server: TLS handshake failed: received corrupt message"
        );
        assert_eq!(one_line(&Leaf), "received corrupt message");
    }
}
