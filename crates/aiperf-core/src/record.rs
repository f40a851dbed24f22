//! What a worker hands to the metrics stage: raw timestamps and raw bytes, nothing parsed.
//!
//! The hot path only stamps and stores; parsing SSE, decoding JSON and tokenizing happen later,
//! off the request path.

use bytes::Bytes;

use crate::{Credit, ErrorDetails};

/// One piece of response body as it came off the socket.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Arrival time on the run clock (ns).
    pub recv_ns: u64,
    pub data: Bytes,
}

/// Everything measured about one request, unparsed.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub credit: Credit,
    pub conversation_id: String,
    pub x_request_id: String,
    pub x_correlation_id: String,
    /// Immediately before the request was handed to the transport (run clock ns).
    pub request_start_ns: u64,
    /// When the transport finished handing the body to the connection, if known.
    pub request_ack_ns: Option<u64>,
    /// When the response head arrived, if it did.
    pub response_head_ns: Option<u64>,
    /// When a connection was ready (pooled or new), if one was.
    pub connection_ready_ns: Option<u64>,
    /// Time spent opening a new connection for this request (0 when reused).
    pub connect_ns: u64,
    pub connection_reused: bool,
    pub bytes_sent: u64,
    /// When the request finished (body complete, error, or timeout).
    pub request_end_ns: u64,
    /// HTTP status, if a response head arrived.
    pub status: Option<u16>,
    /// Whether the response declared `Content-Type: text/event-stream`.
    pub is_sse: bool,
    /// Response body pieces in arrival order.
    pub chunks: Vec<Chunk>,
    /// Transport-level or HTTP-level failure; `None` for a 2xx response read to the end.
    pub error: Option<ErrorDetails>,
    /// Later turns of a conversation: the whole input sequence (earlier user turns, the
    /// server's replies, this turn) to be counted off the request path. `None`: the input is
    /// the prepared turn's own.
    pub input_text: Option<std::sync::Arc<str>>,
    /// Output length requested.
    pub max_tokens: Option<u32>,
    /// The body as sent, kept only when the input length is counted from it
    /// (`--apply-chat-template` renders its messages); a reference-counted clone.
    pub sent_body: Option<Bytes>,
}
