//! `responses`: the OpenAI Responses API (`/v1/responses`) and its typed SSE events.

use std::borrow::Cow;

use aiperf_core::Turn;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

pub struct Responses;

/// A turn as one `input` message: a string for a single text, else `input_text`,
/// `input_image` and `input_audio` parts.
fn input_message(turn: &Turn) -> Result<Value, String> {
    if !turn.videos.is_empty() {
        return Err("the Responses API takes no video input".into());
    }
    let role = turn.role.as_deref().unwrap_or("user");
    let content = if turn.texts.len() == 1 && turn.images.is_empty() && turn.audios.is_empty() {
        Value::String(turn.texts[0].clone())
    } else {
        let mut parts: Vec<Value> = turn
            .texts
            .iter()
            .map(|t| json!({"type": "input_text", "text": t}))
            .collect();
        parts.extend(
            turn.images
                .iter()
                .map(|url| json!({"type": "input_image", "image_url": url})),
        );
        parts.extend(turn.audios.iter().map(|a| {
            let (format, data) = crate::media::split_audio(a);
            json!({"type": "input_audio", "input_audio": {"data": data, "format": format}})
        }));
        Value::Array(parts)
    };
    Ok(json!({"type": "message", "role": role, "content": content}))
}

impl Endpoint for Responses {
    /// `{"input": [message], "model", "stream", "max_output_tokens"?}`; verbatim `messages`
    /// become the input list; `stream_options` only with `--per-chunk-usage` (as AIPerf).
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let input = match &turn.messages {
            Some(m) => Value::Array(m.clone()),
            None => Value::Array(vec![input_message(turn)?]),
        };
        let mut body = Map::new();
        body.insert("input".into(), input);
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("stream".into(), Value::Bool(opts.body.streaming));
        if let Some(n) = turn.max_tokens {
            body.insert("max_output_tokens".into(), json!(n));
        }
        Ok(body)
    }

    fn messages_mut<'b>(&self, body: &'b mut Map<String, Value>) -> Option<&'b mut Vec<Value>> {
        body.get_mut("input").and_then(Value::as_array_mut)
    }

    /// The system prompt goes to `instructions`, the user context before the first input.
    fn insert_preamble(
        &self,
        body: &mut Map<String, Value>,
        system: Option<&str>,
        user_context: Option<&str>,
    ) -> bool {
        let context =
            user_context.map(|u| json!({"type": "message", "role": "user", "content": u}));
        crate::preamble_in_field(self, body, "instructions", system, context)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        self.parse_event(json, false)
    }

    /// Later turns of a conversation name the previous response instead of resending it.
    fn chain_field(&self) -> Option<&'static str> {
        Some("previous_response_id")
    }

    /// `id` of a whole response, or `response.id` of a stream's `response.created` event.
    fn response_id(&self, json: &str) -> Option<String> {
        let doc: Value = serde_json::from_str(json).ok()?;
        let id = match doc.get("type").and_then(Value::as_str) {
            Some(_) => doc.pointer("/response/id"),
            None => doc.get("id"),
        };
        id.and_then(Value::as_str).map(str::to_string)
    }

    /// Streams: `response.output_text.delta` (text), `response.reasoning_text.delta` and
    /// `response.reasoning_summary_text.delta` (reasoning), `response.function_call_arguments
    /// .delta` (tool call), `response.output_text.done` (the whole text, counted only when no
    /// delta came before it), `response.completed` (usage). Whole bodies: `object: response`.
    fn parse_event(&self, json: &str, content_seen: bool) -> (Option<ResponseData>, Option<Value>) {
        // Stream events are read into a borrowed struct (most are one short delta); only a
        // whole response falls back to a `Value` tree.
        let Ok(ev) = serde_json::from_str::<Event<'_>>(json) else {
            return (None, None);
        };
        let text = |t: Option<Cow<'_, str>>| t.filter(|s| !s.is_empty()).map(Cow::into_owned);
        match ev.kind.as_deref() {
            Some("response.output_text.delta") => (text(ev.delta).map(ResponseData::Text), None),
            Some("response.reasoning_text.delta" | "response.reasoning_summary_text.delta") => (
                text(ev.delta).map(|r| ResponseData::Reasoning {
                    content: String::new(),
                    reasoning: r,
                }),
                None,
            ),
            Some("response.function_call_arguments.delta") => {
                (text(ev.delta).map(ResponseData::ToolCall), None)
            }
            Some("response.output_text.done") if !content_seen => {
                (text(ev.text).map(ResponseData::Text), None)
            }
            Some("response.completed" | "response.incomplete") => {
                (None, keep_usage(ev.response.and_then(|r| r.usage)))
            }
            Some(_) => (None, None),
            None if ev.object.as_deref() == Some("response") => {
                let Ok(doc) = serde_json::from_str::<Value>(json) else {
                    return (None, None);
                };
                (whole_response(&doc), keep_usage(doc.get("usage").cloned()))
            }
            None => (None, None),
        }
    }
}

/// The fields of a stream event (or whole response) that parsing reads.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    delta: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    object: Option<Cow<'a, str>>,
    #[serde(default)]
    response: Option<EventResponse>,
}

#[derive(Deserialize)]
struct EventResponse {
    #[serde(default)]
    usage: Option<Value>,
}

/// Text, reasoning and tool calls of a non-streamed response's `output[]`.
fn whole_response(doc: &Value) -> Option<ResponseData> {
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut tools = String::new();
    for item in doc
        .get("output")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let parts = |key: &str| {
            item.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<String>()
        };
        match item.get("type").and_then(Value::as_str) {
            Some("message") => content.push_str(&parts("content")),
            Some("reasoning") => {
                reasoning.push_str(&parts("content"));
                reasoning.push_str(&parts("summary"));
            }
            Some("function_call") => {
                for k in ["name", "arguments"] {
                    tools.push_str(item.get(k).and_then(Value::as_str).unwrap_or(""));
                }
            }
            _ => {}
        }
    }
    if !reasoning.is_empty() {
        Some(ResponseData::Reasoning { content, reasoning })
    } else if !tools.is_empty() {
        Some(ResponseData::ToolCall(tools))
    } else {
        (!content.is_empty()).then_some(ResponseData::Text(content))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_golden() {
        let turn = Turn {
            texts: vec!["hi".into()],
            max_tokens: Some(9),
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "m".into(),
            body: crate::BodyOptions {
                streaming: true,
                ..Default::default()
            },
        };
        let mut body = Responses.payload(&turn, &o).unwrap();
        assert!(Responses.insert_preamble(&mut body, Some("be brief"), Some("ctx")));
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"input":[{"type":"message","role":"user","content":"ctx"},{"type":"message","role":"user","content":"hi"}],"model":"m","stream":true,"max_output_tokens":9,"instructions":"be brief"}"#
        );
        let mm = Turn {
            texts: vec!["what".into()],
            images: vec!["data:image/png;base64,AA".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&Responses.payload(&mm, &o).unwrap()["input"]).unwrap(),
            r#"[{"type":"message","role":"user","content":[{"type":"input_text","text":"what"},{"type":"input_image","image_url":"data:image/png;base64,AA"}]}]"#
        );
        let video = Turn {
            videos: vec!["v".into()],
            ..Default::default()
        };
        assert!(Responses.payload(&video, &o).is_err());
    }

    #[test]
    fn typed_events() {
        let e = |j: &str, seen| Responses.parse_event(j, seen);
        assert_eq!(
            e(
                r#"{"type":"response.output_text.delta","delta":"Hi"}"#,
                false
            )
            .0,
            Some(ResponseData::Text("Hi".into()))
        );
        assert_eq!(
            e(
                r#"{"type":"response.reasoning_text.delta","delta":"hm"}"#,
                false
            )
            .0,
            Some(ResponseData::Reasoning {
                content: String::new(),
                reasoning: "hm".into()
            })
        );
        assert_eq!(
            e(
                r#"{"type":"response.function_call_arguments.delta","delta":"{"}"#,
                false
            )
            .0,
            Some(ResponseData::ToolCall("{".into()))
        );
        let done = r#"{"type":"response.output_text.done","text":"Hi there"}"#;
        assert_eq!(e(done, true).0, None, "already counted from deltas");
        assert_eq!(
            e(done, false).0,
            Some(ResponseData::Text("Hi there".into()))
        );
        let (d, u) = e(
            r#"{"type":"response.completed","response":{"usage":{"input_tokens":3,"output_tokens":2}}}"#,
            true,
        );
        assert_eq!(d, None);
        assert_eq!(u.unwrap()["output_tokens"], 2);
        assert_eq!(e(r#"{"type":"response.created"}"#, false), (None, None));
        assert_eq!(
            Responses.response_id(r#"{"type":"response.created","response":{"id":"resp_1"}}"#),
            Some("resp_1".into())
        );
        assert_eq!(
            Responses.response_id(r#"{"object":"response","id":"resp_2"}"#),
            Some("resp_2".into())
        );
        let whole = r#"{"object":"response","output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"r"}]},{"type":"message","content":[{"type":"output_text","text":"a"},{"type":"output_text","text":"b"}]}],"usage":{"output_tokens":2}}"#;
        assert_eq!(
            Responses.parse_json(whole).0,
            Some(ResponseData::Reasoning {
                content: "ab".into(),
                reasoning: "r".into()
            })
        );
    }
}
