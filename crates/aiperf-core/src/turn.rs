//! What the dataset stage produces: conversations of turns, and turns prepared for sending.

use bytes::Bytes;

/// One user turn of a conversation, before it is rendered for an endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Turn {
    /// Text inputs (usually one prompt; several for batched endpoints).
    pub texts: Vec<String>,
    /// Output length to request (`max_completion_tokens` / `max_tokens`), if any.
    pub max_tokens: Option<u32>,
    /// Role of the message (`user` when absent).
    pub role: Option<String>,
    /// Per-turn fields merged last into the request body.
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
    /// Absolute send time from a trace, in milliseconds (fixed-schedule replay).
    pub timestamp_ms: Option<f64>,
}

/// A conversation: what one session sends, turn after turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub session_id: String,
    pub turns: Vec<Turn>,
}

/// A turn rendered into its exact request body, ready to be sent many times.
///
/// Built once before the run so the hot path only clones a reference-counted buffer.
#[derive(Debug, Clone)]
pub struct PreparedTurn {
    /// Exact JSON body sent on the wire.
    pub body: Bytes,
    /// Input token count of the payload texts (client-side tokenizer), if the endpoint
    /// tokenizes input.
    pub input_tokens: Option<u32>,
    /// Output length requested, if any.
    pub max_tokens: Option<u32>,
}
