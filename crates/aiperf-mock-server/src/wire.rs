//! The token-generating APIs the mock speaks, and how each frames a reply: the prompt it
//! reads, the length it honours, and the exact JSON (whole body) or SSE events (stream).

use serde_json::{json, Value};

/// A token-generating API.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Api {
    Chat,
    Completions,
    /// Hugging Face TGI `/generate` (`stream: false`) and `/generate_stream`.
    Tgi {
        stream: bool,
    },
    /// OpenAI Responses API.
    Responses,
    /// Anthropic Messages API.
    Messages,
    /// Solido RAG `/rag/api/prompt`.
    Solido,
}

/// Identity of one reply, shared by all of its events.
pub struct Head {
    pub id: String,
    pub created: u64,
    pub model: String,
}

/// Text of a string, or of the `text` parts of a content array.
pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str).or_else(|| p.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn messages_text(msgs: &Value) -> Option<String> {
    Some(
        msgs.as_array()?
            .iter()
            .map(|m| match m {
                Value::String(s) => s.clone(),
                m => text_of(m.get("content").unwrap_or(&Value::Null)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

impl Api {
    /// The field whose absence makes a request invalid.
    pub fn input_field(self) -> &'static str {
        match self {
            Api::Chat | Api::Messages => "messages",
            Api::Completions => "prompt",
            Api::Tgi { .. } => "inputs",
            Api::Responses => "input",
            Api::Solido => "query",
        }
    }

    /// Text of every message (system prompt included) or the prompt(s), joined by newlines.
    pub fn prompt_text(self, req: &Value) -> Option<String> {
        let body = req.get(self.input_field())?;
        let mut text = match self {
            Api::Chat | Api::Messages => messages_text(body)?,
            Api::Responses => match body {
                Value::String(s) => s.clone(),
                other => messages_text(other)?,
            },
            Api::Completions | Api::Tgi { .. } | Api::Solido => text_of(body),
        };
        let system = match self {
            Api::Messages => req.get("system").map(text_of),
            Api::Responses => req.get("instructions").map(text_of),
            _ => None,
        };
        if let Some(s) = system {
            text = format!("{s}\n{text}");
        }
        Some(text)
    }

    /// The field that sets the output length, and the length the request asks for (an error
    /// when the field is not a non-negative integer).
    pub fn max_tokens(self, req: &Value) -> Result<Option<u64>, String> {
        let (name, v) = match self {
            Api::Chat => match req.get("max_completion_tokens") {
                Some(v) => ("max_completion_tokens", Some(v)),
                None => ("max_tokens", req.get("max_tokens")),
            },
            Api::Completions | Api::Messages => ("max_tokens", req.get("max_tokens")),
            Api::Tgi { .. } => ("max_new_tokens", req.pointer("/parameters/max_new_tokens")),
            Api::Responses => ("max_output_tokens", req.get("max_output_tokens")),
            Api::Solido => return Ok(None),
        };
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("'{name}' must be a non-negative integer, got {v}")),
        }
    }

    /// Whether to answer with SSE: the path (TGI), the `Accept` header (Solido, whose body
    /// has no stream flag), or the body's `stream`.
    pub fn streams(self, req: &Value, accepts_sse: bool) -> bool {
        match self {
            Api::Tgi { stream } => stream,
            Api::Solido => accepts_sse,
            _ => req.get("stream").and_then(Value::as_bool).unwrap_or(false),
        }
    }

    /// Whether the stream ends with `data: [DONE]`.
    pub fn done_sentinel(self) -> bool {
        matches!(self, Api::Chat | Api::Completions | Api::Solido)
    }

    pub fn id_prefix(self) -> &'static str {
        match self {
            Api::Chat => "chatcmpl-mock",
            Api::Responses => "resp_mock",
            Api::Messages => "msg_mock",
            _ => "cmpl-mock",
        }
    }

    /// A non-streamed reply; `reasoning` (possibly empty) is the thinking before `text`.
    pub fn whole(
        self,
        head: &Head,
        text: &str,
        reasoning: &str,
        finish: &str,
        usage: &Value,
    ) -> Value {
        let (pt, ct) = (&usage["prompt_tokens"], &usage["completion_tokens"]);
        let rt = usage
            .pointer("/completion_tokens_details/reasoning_tokens")
            .cloned()
            .unwrap_or(json!(0));
        match self {
            Api::Chat => {
                let mut message = json!({"role": "assistant", "content": text});
                if !reasoning.is_empty() {
                    message["reasoning_content"] = json!(reasoning);
                }
                json!({"id": head.id, "object": "chat.completion", "created": head.created,
                "model": head.model, "choices": [{"index": 0, "message": message,
                "finish_reason": finish}], "usage": usage})
            }
            Api::Completions => json!({"id": head.id, "object": "text_completion",
                "created": head.created, "model": head.model, "choices": [{"index": 0,
                "text": text, "finish_reason": finish}], "usage": usage}),
            Api::Tgi { .. } => json!({"generated_text": text, "details": {"finish_reason": finish,
                "generated_tokens": ct, "prompt_tokens": pt}}),
            Api::Responses => {
                let mut output = Vec::new();
                if !reasoning.is_empty() {
                    output.push(json!({"type": "reasoning", "id": format!("rs_{}", head.id),
                        "content": [{"type": "reasoning_text", "text": reasoning}]}));
                }
                output.push(json!({"type": "message", "id": format!("msg_{}", head.id),
                    "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}));
                json!({"id": head.id, "object": "response", "created_at": head.created,
                "status": "completed", "model": head.model, "output": output,
                "usage": {"input_tokens": pt, "output_tokens": ct,
                    "total_tokens": usage["total_tokens"],
                    "output_tokens_details": {"reasoning_tokens": rt}}})
            }
            Api::Messages => {
                let mut content = Vec::new();
                if !reasoning.is_empty() {
                    content.push(json!({"type": "thinking", "thinking": reasoning,
                        "signature": "mock"}));
                }
                content.push(json!({"type": "text", "text": text}));
                json!({"id": head.id, "type": "message", "role": "assistant",
                "model": head.model, "content": content,
                "stop_reason": if finish == "length" { "max_tokens" } else { "end_turn" },
                "usage": {"input_tokens": pt, "output_tokens": ct}})
            }
            Api::Solido => json!({"content": text, "usage": usage}),
        }
    }

    /// Events before the first token.
    pub fn preamble(self, head: &Head, usage: &Value) -> String {
        match self {
            Api::Chat => format!(
                "data: {}\n\n",
                json!({"id": head.id, "object": "chat.completion.chunk", "created": head.created,
                    "model": head.model, "choices": [{"index": 0, "delta": {"role": "assistant",
                    "content": ""}, "finish_reason": null}]})
            ),
            Api::Responses => event(
                "response.created",
                &json!({"type": "response.created", "response": {"id": head.id,
                    "object": "response", "status": "in_progress", "model": head.model}}),
            ),
            Api::Messages => {
                event(
                    "message_start",
                    &json!({"type": "message_start", "message": {"id": head.id, "type": "message",
                        "role": "assistant", "model": head.model, "content": [],
                        "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": 1}}}),
                ) + &event(
                    "content_block_start",
                    &json!({"type": "content_block_start", "index": 0,
                        "content_block": {"type": "text", "text": ""}}),
                )
            }
            _ => String::new(),
        }
    }

    /// Event of token `i`; `cumulative` is per-chunk usage (`continuous_usage_stats`);
    /// `reasoning` tokens go out as the API's thinking deltas (where it has them).
    pub fn token(
        self,
        head: &Head,
        i: usize,
        piece: &str,
        finish: Option<&str>,
        cumulative: Option<&Value>,
        reasoning: bool,
    ) -> String {
        match self {
            Api::Responses if reasoning => event(
                "response.reasoning_text.delta",
                &json!({"type": "response.reasoning_text.delta", "item_id": format!("rs_{}", head.id),
                    "output_index": 0, "content_index": 0, "delta": piece}),
            ),
            Api::Messages if reasoning => event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": piece}}),
            ),
            Api::Chat | Api::Completions => {
                let key = if reasoning {
                    "reasoning_content"
                } else {
                    "content"
                };
                let mut doc = if self == Api::Chat {
                    json!({"id": head.id, "object": "chat.completion.chunk", "created": head.created,
                        "model": head.model, "choices": [{"index": 0, "delta": {key: piece},
                        "finish_reason": finish}]})
                } else {
                    json!({"id": head.id, "object": "text_completion", "created": head.created,
                        "model": head.model, "choices": [{"index": 0, "text": piece,
                        "finish_reason": finish}]})
                };
                if let Some(u) = cumulative {
                    doc["usage"] = u.clone();
                }
                format!("data: {doc}\n\n")
            }
            Api::Tgi { .. } => format!(
                "data: {}\n\n",
                json!({"index": i, "token": {"id": i, "text": piece, "logprob": 0.0,
                    "special": false}, "generated_text": null, "details": null})
            ),
            Api::Responses => event(
                "response.output_text.delta",
                &json!({"type": "response.output_text.delta", "item_id": format!("msg_{}", head.id),
                    "output_index": 0, "content_index": 0, "delta": piece}),
            ),
            Api::Messages => event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}}),
            ),
            Api::Solido => format!("data: {}\n\n", json!({"content": piece})),
        }
    }

    /// Events after the last token (without `[DONE]`); `metrics` (vLLM's per-request
    /// metrics object) rides at the root of the trailing usage chunk.
    #[allow(clippy::too_many_arguments)]
    pub fn epilogue(
        self,
        head: &Head,
        text: &str,
        reasoning: &str,
        finish: &str,
        usage: &Value,
        include_usage: bool,
        metrics: Option<&Value>,
    ) -> String {
        match self {
            Api::Chat | Api::Completions if include_usage => {
                let object = if self == Api::Chat {
                    "chat.completion.chunk"
                } else {
                    "text_completion"
                };
                let mut doc = json!({"id": head.id, "object": object, "created": head.created,
                    "model": head.model, "choices": [], "usage": usage});
                if let Some(m) = metrics {
                    doc["metrics"] = m.clone();
                }
                format!("data: {doc}\n\n")
            }
            Api::Responses => {
                let whole = self.whole(head, text, reasoning, finish, usage);
                event(
                    "response.output_text.done",
                    &json!({"type": "response.output_text.done", "item_id": format!("msg_{}", head.id),
                        "output_index": 0, "content_index": 0, "text": text}),
                ) + &event(
                    "response.completed",
                    &json!({"type": "response.completed", "response": whole}),
                )
            }
            Api::Messages => {
                let stop = if finish == "length" {
                    "max_tokens"
                } else {
                    "end_turn"
                };
                event(
                    "content_block_stop",
                    &json!({"type": "content_block_stop", "index": 0}),
                ) + &event(
                    "message_delta",
                    &json!({"type": "message_delta", "delta": {"stop_reason": stop},
                        "usage": {"output_tokens": usage["completion_tokens"]}}),
                ) + &event("message_stop", &json!({"type": "message_stop"}))
            }
            _ => String::new(),
        }
    }
}

/// A typed SSE event.
fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}
