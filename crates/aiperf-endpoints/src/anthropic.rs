//! `messages`: the Anthropic Messages API (`/v1/messages`) and its SSE events.

use std::borrow::Cow;

use aiperf_core::Turn;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

/// `max_tokens` is required by the API; this is sent when the turn requests no length.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The `anthropic-version` header sent with every request.
pub const API_VERSION: &str = "2023-06-01";

pub struct Messages;

/// A turn's content: a string for one text, else `text` and `image` blocks (base64 data
/// URIs as `base64` sources, anything else as `url` sources).
fn content(turn: &Turn) -> Value {
    if turn.texts.len() == 1 && turn.images.is_empty() {
        return Value::String(turn.texts[0].clone());
    }
    let mut blocks: Vec<Value> = turn
        .texts
        .iter()
        .map(|t| json!({"type": "text", "text": t}))
        .collect();
    blocks.extend(turn.images.iter().map(|img| {
        let source = match crate::media::data_uri(img) {
            Some((mime, data)) => json!({"type": "base64", "media_type": mime, "data": data}),
            None => json!({"type": "url", "url": img}),
        };
        json!({"type": "image", "source": source})
    }));
    Value::Array(blocks)
}

impl Endpoint for Messages {
    /// `{"model", "messages": [...], "max_tokens", "stream"}`.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let role = turn.role.as_deref().unwrap_or("user");
        let messages = match &turn.messages {
            Some(m) => Value::Array(m.clone()),
            None => json!([{"role": role, "content": content(turn)}]),
        };
        let mut body = Map::new();
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("messages".into(), messages);
        body.insert(
            "max_tokens".into(),
            json!(turn.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        );
        body.insert("stream".into(), Value::Bool(opts.body.streaming));
        Ok(body)
    }

    fn messages_mut<'b>(&self, body: &'b mut Map<String, Value>) -> Option<&'b mut Vec<Value>> {
        body.get_mut("messages").and_then(Value::as_array_mut)
    }

    /// The system prompt is the top-level `system` field (the API has no system role).
    fn insert_preamble(
        &self,
        body: &mut Map<String, Value>,
        system: Option<&str>,
        user_context: Option<&str>,
    ) -> bool {
        let context = user_context.map(|u| json!({"role": "user", "content": u}));
        crate::preamble_in_field(self, body, "system", system, context)
    }

    /// Stream events: `content_block_delta` with `text_delta` (text), `thinking_delta`
    /// (reasoning) or `input_json_delta` (tool call); `message_start` and `message_delta` carry
    /// usage. A whole body is a `message` with content blocks.
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        // Fast path for the per-token events: a borrowed struct, no `Value` tree.
        if let Ok(ev) = serde_json::from_str::<DeltaEvent<'_>>(json) {
            if ev.kind.as_deref() == Some("content_block_delta") {
                return (ev.delta.and_then(Delta::into_data), None);
            }
        }
        let Ok(doc) = serde_json::from_str::<Value>(json) else {
            return (None, None);
        };
        let str_at = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match doc.get("type").and_then(Value::as_str) {
            Some("message_start") => (None, keep_usage(doc.pointer("/message/usage").cloned())),
            Some("message_delta") => (None, keep_usage(doc.get("usage").cloned())),
            Some("message") => {
                let mut text = String::new();
                let mut thinking = String::new();
                let mut tools = String::new();
                for b in doc
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match b.get("type").and_then(Value::as_str) {
                        Some("text") => text.push_str(&str_at(b, "text").unwrap_or_default()),
                        Some("thinking") => {
                            thinking.push_str(&str_at(b, "thinking").unwrap_or_default())
                        }
                        Some("tool_use") => {
                            tools.push_str(&str_at(b, "name").unwrap_or_default());
                            if let Some(input) = b.get("input") {
                                tools.push_str(&input.to_string());
                            }
                        }
                        _ => {}
                    }
                }
                let data = if !thinking.is_empty() {
                    Some(ResponseData::Reasoning {
                        content: text,
                        reasoning: thinking,
                    })
                } else if !tools.is_empty() {
                    Some(ResponseData::ToolCall(tools))
                } else {
                    (!text.is_empty()).then_some(ResponseData::Text(text))
                };
                (data, keep_usage(doc.get("usage").cloned()))
            }
            _ => (None, None),
        }
    }

    /// Anthropic authenticates with `x-api-key` and needs `anthropic-version`.
    fn auth_headers(&self, api_key: &str) -> Vec<(&'static str, String)> {
        vec![
            ("x-api-key", api_key.to_string()),
            ("anthropic-version", API_VERSION.to_string()),
        ]
    }
}

/// A `content_block_delta` event, read without building a `Value`.
#[derive(Deserialize)]
struct DeltaEvent<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
}

impl Delta<'_> {
    fn into_data(self) -> Option<ResponseData> {
        let some = |t: Option<Cow<'_, str>>| t.filter(|s| !s.is_empty()).map(Cow::into_owned);
        match self.kind.as_deref() {
            Some("text_delta") => some(self.text).map(ResponseData::Text),
            Some("thinking_delta") => some(self.thinking).map(|r| ResponseData::Reasoning {
                content: String::new(),
                reasoning: r,
            }),
            Some("input_json_delta") => some(self.partial_json).map(ResponseData::ToolCall),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_golden() {
        let turn = Turn {
            texts: vec!["hi".into()],
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "claude".into(),
            body: crate::BodyOptions {
                streaming: true,
                ..Default::default()
            },
        };
        let mut body = Messages.payload(&turn, &o).unwrap();
        assert!(Messages.insert_preamble(&mut body, Some("sys"), None));
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"model":"claude","messages":[{"role":"user","content":"hi"}],"max_tokens":1024,"stream":true,"system":"sys"}"#
        );
        let mm = Turn {
            texts: vec!["what".into()],
            images: vec!["data:image/png;base64,AA".into(), "https://x/y.jpg".into()],
            max_tokens: Some(5),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&Messages.payload(&mm, &o).unwrap()).unwrap(),
            r#"{"model":"claude","messages":[{"role":"user","content":[{"type":"text","text":"what"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}},{"type":"image","source":{"type":"url","url":"https://x/y.jpg"}}]}],"max_tokens":5,"stream":true}"#
        );
    }

    #[test]
    fn stream_events_and_whole_message() {
        let p = |j: &str| Messages.parse_json(j);
        assert_eq!(
            p(r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#).0,
            Some(ResponseData::Text("Hi".into()))
        );
        assert_eq!(
            p(r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#).0,
            Some(ResponseData::Reasoning { content: String::new(), reasoning: "hm".into() })
        );
        assert_eq!(
            p(r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a"}}"#).0,
            Some(ResponseData::ToolCall("{\"a".into()))
        );
        let (d, u) = p(
            r#"{"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}}"#,
        );
        assert_eq!((d, u.unwrap()["input_tokens"].clone()), (None, json!(7)));
        let (_, u) = p(
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":12}}"#,
        );
        assert_eq!(u.unwrap()["output_tokens"], 12);
        assert_eq!(p(r#"{"type":"ping"}"#), (None, None));
        let whole = r#"{"type":"message","content":[{"type":"text","text":"Hello"}],"usage":{"input_tokens":3,"output_tokens":1}}"#;
        assert_eq!(p(whole).0, Some(ResponseData::Text("Hello".into())));
        assert_eq!(
            Messages.auth_headers("k")[0],
            ("x-api-key", "k".to_string())
        );
    }
}
