//! From recorded response bytes to content responses, shared by every endpoint.

use aiperf_core::{Chunk, ErrorDetails};
use aiperf_transport::sse::{SseFramer, SseMessage};
use serde_json::Value;

use crate::Endpoint;

/// What one response (SSE message or whole body) carried.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseData {
    /// Output text.
    Text(String),
    /// Reasoning text, with any output text that came in the same message.
    Reasoning { content: String, reasoning: String },
    /// Tool-call names and argument fragments (counted as output).
    ToolCall(String),
    /// An embeddings response with this many vectors.
    Embeddings(usize),
    /// A rankings response with this many scored passages.
    Rankings(usize),
    /// Generated images (final or partial) in this response.
    Images(usize),
    /// A finished video job.
    Video,
}

impl ResponseData {
    /// The part that counts as (non-reasoning) output text.
    pub fn output_text(&self) -> &str {
        match self {
            ResponseData::Text(t) | ResponseData::ToolCall(t) => t,
            ResponseData::Reasoning { content, .. } => content,
            ResponseData::Embeddings(_)
            | ResponseData::Rankings(_)
            | ResponseData::Images(_)
            | ResponseData::Video => "",
        }
    }

    /// The part that counts as reasoning.
    pub fn reasoning_text(&self) -> &str {
        match self {
            ResponseData::Reasoning { reasoning, .. } => reasoning,
            _ => "",
        }
    }
}

/// One timestamped response. `data == None` means "no content" (role-only delta, usage-only
/// chunk, unparseable JSON): it never counts for TTFT or latency, but its `usage` is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedResponse {
    pub recv_ns: u64,
    pub data: Option<ResponseData>,
    pub usage: Option<Value>,
}

/// Output and reasoning text of all content responses, concatenated without separators: what
/// the metrics count and what a conversation carries forward as the assistant's reply.
pub fn output_texts(responses: &[ParsedResponse]) -> (String, String) {
    let mut out = String::new();
    let mut reasoning = String::new();
    for d in responses.iter().filter_map(|r| r.data.as_ref()) {
        out.push_str(d.output_text());
        reasoning.push_str(d.reasoning_text());
    }
    (out, reasoning)
}

/// Parses a successful (2xx) response body. An SSE `event: error` fails the whole request with
/// AIPerf's `SSEResponseError` (code 502).
pub fn parse_responses(
    endpoint: &dyn Endpoint,
    is_sse: bool,
    chunks: &[Chunk],
) -> Result<Vec<ParsedResponse>, ErrorDetails> {
    if !is_sse {
        let Some(last) = chunks.last() else {
            return Ok(Vec::new());
        };
        let body: Vec<u8> = if chunks.len() == 1 {
            last.data.to_vec()
        } else {
            chunks.iter().flat_map(|c| c.data.iter().copied()).collect()
        };
        let text = String::from_utf8_lossy(&body);
        let (data, usage) = endpoint.parse_json(text.trim());
        return Ok(vec![ParsedResponse {
            recv_ns: last.recv_ns,
            data,
            usage,
        }]);
    }
    let mut messages: Vec<SseMessage> = Vec::with_capacity(chunks.len() + 1);
    let mut framer = SseFramer::new();
    for c in chunks {
        framer.push(c.recv_ns, &c.data, &mut messages);
    }
    framer.finish(&mut messages);
    let mut out = Vec::with_capacity(messages.len());
    let mut content_seen = false;
    for m in &messages {
        if m.is_error_event() {
            let message = match (&m.comment, &m.data) {
                (Some(c), _) => c.clone(),
                (None, d) => format!(
                    "Unknown error in SSE response: {}",
                    d.as_deref().unwrap_or("")
                ),
            };
            return Err(ErrorDetails::new(Some(502), "SSEResponseError", message));
        }
        let Some(data) = m.data.as_deref() else {
            continue;
        };
        if data.is_empty() || data == "[DONE]" {
            continue;
        }
        let (data, usage) = endpoint.parse_event(data, content_seen);
        content_seen |= data.is_some();
        if data.is_none() && usage.is_none() {
            continue;
        }
        out.push(ParsedResponse {
            recv_ns: m.recv_ns,
            data,
            usage,
        });
    }
    Ok(out)
}

/// A `usage` value worth keeping: a non-empty object.
pub(crate) fn keep_usage(usage: Option<Value>) -> Option<Value> {
    usage.filter(|u| u.as_object().is_some_and(|o| !o.is_empty()))
}
