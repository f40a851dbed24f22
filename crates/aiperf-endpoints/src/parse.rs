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

/// What a response body parsed into.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub responses: Vec<ParsedResponse>,
    /// SSE messages dropped as malformed: a message with no field SSE knows (a line that is
    /// not SSE), or `data` that is not JSON. Counted per record and per run.
    pub malformed: u32,
}

/// Parses a successful (2xx) response body. An SSE `event: error` fails the whole request with
/// AIPerf's `SSEResponseError` (code 502).
pub fn parse_responses(
    endpoint: &dyn Endpoint,
    is_sse: bool,
    chunks: &[Chunk],
) -> Result<Parsed, ErrorDetails> {
    if !is_sse {
        let Some(last) = chunks.last() else {
            return Ok(Parsed::default());
        };
        let body: Vec<u8> = if chunks.len() == 1 {
            last.data.to_vec()
        } else {
            chunks.iter().flat_map(|c| c.data.iter().copied()).collect()
        };
        let text = String::from_utf8_lossy(&body);
        let (data, usage) = endpoint.parse_json(text.trim());
        let usage = with_video_stats(text.trim(), with_spec_decode(text.trim(), usage));
        return Ok(Parsed {
            responses: vec![ParsedResponse {
                recv_ns: last.recv_ns,
                data,
                usage,
            }],
            malformed: 0,
        });
    }
    let mut messages: Vec<SseMessage> = Vec::with_capacity(chunks.len() + 1);
    let mut framer = SseFramer::new();
    for c in chunks {
        framer.push(c.recv_ns, &c.data, &mut messages);
    }
    framer.finish(&mut messages);
    let mut out = Vec::with_capacity(messages.len());
    let mut content_seen = false;
    let mut malformed = 0;
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
        let Some(text) = m.data.as_deref() else {
            if m.event.is_none() && m.id.is_none() && m.comment.is_none() {
                malformed += 1;
            }
            continue;
        };
        if text.is_empty() || text == "[DONE]" {
            continue;
        }
        let (data, usage) = endpoint.parse_event(text, content_seen);
        let usage = with_spec_decode(text, usage);
        content_seen |= data.is_some();
        if data.is_none() && usage.is_none() {
            // Nothing to keep: a role-only delta is fine, JSON that does not parse is not.
            if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
                malformed += 1;
            }
            continue;
        }
        out.push(ParsedResponse {
            recv_ns: m.recv_ns,
            data,
            usage,
        });
    }
    Ok(Parsed {
        responses: out,
        malformed,
    })
}

/// Where vLLM's per-request speculative-decoding stats travel inside a response's usage value
/// (the metrics crate's `spec_decode::USAGE_KEY`): they come once per request at the response
/// root (`metrics.speculative_decoding`), on the body or the trailing usage chunk, exactly where
/// the usage is, so the usage the processor already hands the metrics carries them.
pub const SPEC_DECODE_USAGE_KEY: &str = "speculative_decoding";

/// `usage` with the response's `metrics.speculative_decoding` object added under
/// [`SPEC_DECODE_USAGE_KEY`], if it has one. Bodies that do not mention it are not parsed again.
pub fn with_spec_decode(text: &str, usage: Option<Value>) -> Option<Value> {
    if !text.contains(SPEC_DECODE_USAGE_KEY) {
        return usage;
    }
    let Some(stats) = serde_json::from_str::<Value>(text).ok().and_then(|mut v| {
        v.get_mut("metrics")?
            .get_mut(SPEC_DECODE_USAGE_KEY)
            .map(Value::take)
            .filter(|s| s.as_object().is_some_and(|o| !o.is_empty()))
    }) else {
        return usage;
    };
    let mut usage = match usage {
        Some(Value::Object(o)) => o,
        _ => serde_json::Map::new(),
    };
    usage.insert(SPEC_DECODE_USAGE_KEY.to_string(), stats);
    Some(Value::Object(usage))
}

/// Where a finished video job's server stats travel inside the usage value (the metrics
/// crate's `media::VIDEO_USAGE_KEY`).
pub const VIDEO_USAGE_KEY: &str = "video_generation";

/// `usage` with a video job's `inference_time_s` and `peak_memory_mb` (numbers at the body's
/// root, as AIPerf's video endpoint reads them) added under [`VIDEO_USAGE_KEY`].
pub fn with_video_stats(text: &str, usage: Option<Value>) -> Option<Value> {
    const FIELDS: [&str; 2] = ["inference_time_s", "peak_memory_mb"];
    if !FIELDS.iter().any(|f| text.contains(f)) {
        return usage;
    }
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(text) else {
        return usage;
    };
    let stats: serde_json::Map<String, Value> = FIELDS
        .iter()
        .filter_map(|f| {
            Some((
                f.to_string(),
                doc.get(*f).filter(|v| v.is_number())?.clone(),
            ))
        })
        .collect();
    if stats.is_empty() {
        return usage;
    }
    let mut usage = match usage {
        Some(Value::Object(o)) => o,
        _ => serde_json::Map::new(),
    };
    usage.insert(VIDEO_USAGE_KEY.to_string(), Value::Object(stats));
    Some(Value::Object(usage))
}

/// A `usage` value worth keeping: a non-empty object.
pub(crate) fn keep_usage(usage: Option<Value>) -> Option<Value> {
    usage.filter(|u| u.as_object().is_some_and(|o| !o.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Vec<Chunk> {
        vec![Chunk {
            recv_ns: 7,
            data: bytes::Bytes::copy_from_slice(text.as_bytes()),
        }]
    }

    #[test]
    fn vllm_spec_decode_stats_ride_with_the_usage() {
        let chat = crate::chat::Chat;
        let spec = r#"{"mean_acceptance_length":2.5,"num_spec_steps":2}"#;
        // Streaming: on the trailing usage chunk.
        let stream = format!(
            "data: {{\"object\":\"chat.completion.chunk\",\"choices\":[{{\"delta\":{{\"content\":\"hi\"}}}}]}}\n\ndata: {{\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{{\"completion_tokens\":5}},\"metrics\":{{\"speculative_decoding\":{spec}}}}}\n\ndata: [DONE]\n\n"
        );
        let parsed = parse_responses(&chat, true, &body(&stream)).unwrap();
        let usage = parsed.responses.last().unwrap().usage.clone().unwrap();
        assert_eq!(usage["completion_tokens"], 5);
        assert_eq!(usage[SPEC_DECODE_USAGE_KEY]["num_spec_steps"], 2);
        assert!(parsed.responses[0].usage.is_none());
        // Whole body, without a usage object.
        let whole = format!(
            "{{\"object\":\"chat.completion\",\"choices\":[{{\"message\":{{\"content\":\"hi\"}}}}],\"metrics\":{{\"speculative_decoding\":{spec}}}}}"
        );
        let parsed = parse_responses(&chat, false, &body(&whole)).unwrap();
        let usage = parsed.responses[0].usage.clone().unwrap();
        assert_eq!(usage[SPEC_DECODE_USAGE_KEY]["mean_acceptance_length"], 2.5);
        // Mentioned but not at metrics.speculative_decoding: the usage is left alone.
        assert_eq!(
            with_spec_decode(r#"{"speculative_decoding":{"a":1}}"#, None),
            None
        );
    }

    #[test]
    fn video_job_stats_ride_with_the_usage() {
        let video = crate::video::VideoGeneration;
        let done = r#"{"id":"v1","object":"video","status":"completed","inference_time_s":4.5,"peak_memory_mb":2048}"#;
        let parsed = parse_responses(&video, false, &body(done)).unwrap();
        let usage = parsed.responses[0].usage.clone().unwrap();
        assert_eq!(usage[VIDEO_USAGE_KEY]["inference_time_s"], 4.5);
        assert_eq!(usage[VIDEO_USAGE_KEY]["peak_memory_mb"], 2048);
        assert_eq!(
            with_video_stats(r#"{"inference_time_s":"soon"}"#, None),
            None
        );
    }

    #[test]
    fn malformed_sse_messages_are_dropped_and_counted() {
        let chat = crate::chat::Chat;
        let ok =
            r#"data: {"object":"chat.completion.chunk","choices":[{"delta":{"content":"hi"}}]}"#;
        let role = r#"data: {"object":"chat.completion.chunk","choices":[{"delta":{"role":"assistant"}}]}"#;
        let stream = format!(
            "{role}\n\n{ok}\n\nthis is not sse\n\ndata: {{\"choices\": [\n\n: keep-alive\n\nevent: ping\n\n{ok}\n\ndata: [DONE]\n\n"
        );
        let parsed = parse_responses(&chat, true, &body(&stream)).unwrap();
        assert_eq!(parsed.responses.len(), 2, "{parsed:?}");
        // The line without SSE fields and the broken JSON; the role-only delta, the comment
        // and the bare event are well-formed.
        assert_eq!(parsed.malformed, 2);
        let clean = format!("{role}\n\n{ok}\n\ndata: [DONE]\n\n");
        assert_eq!(
            parse_responses(&chat, true, &body(&clean))
                .unwrap()
                .malformed,
            0
        );
    }
}
