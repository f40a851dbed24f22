//! `chat`: OpenAI Chat Completions (`/v1/chat/completions`), streaming and not.

use std::borrow::Cow;

use aiperf_core::Turn;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

pub struct Chat;

/// A turn's message content: a plain string for a single text, a parts array otherwise
/// (several texts, images as `image_url`, audio as `input_audio`, video as `video_url`).
pub fn user_content(turn: &Turn) -> Value {
    let media = turn.images.len() + turn.audios.len() + turn.videos.len();
    if turn.texts.len() == 1 && media == 0 {
        return Value::String(turn.texts[0].clone());
    }
    let mut parts: Vec<Value> = turn
        .texts
        .iter()
        .map(|t| json!({"type": "text", "text": t}))
        .collect();
    // With vLLM cache ids, each image part carries its `uuid` (AIPerf passes them through).
    parts.extend(
        turn.images
            .iter()
            .enumerate()
            .map(|(i, url)| match turn.image_uuids.get(i) {
                Some(uuid) => json!({"type": "image_url", "image_url": {"url": url}, "uuid": uuid}),
                None => json!({"type": "image_url", "image_url": {"url": url}}),
            }),
    );
    parts.extend(turn.audios.iter().map(|a| {
        let (format, data) = crate::media::split_audio(a);
        json!({"type": "input_audio", "input_audio": {"data": data, "format": format}})
    }));
    parts.extend(
        turn.videos
            .iter()
            .map(|url| json!({"type": "video_url", "video_url": {"url": url}})),
    );
    Value::Array(parts)
}

impl Endpoint for Chat {
    /// `{"messages": [...], "model", "stream", "max_completion_tokens"?, "stream_options"?}`.
    /// Content is a plain string for a single text, a parts array otherwise (several texts,
    /// images as `image_url`, audio as `input_audio`). A turn with verbatim `messages` sends
    /// them as they are.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let content = user_content(turn);
        let role = turn.role.as_deref().unwrap_or("user");
        let mut body = Map::new();
        let messages = match &turn.messages {
            Some(m) => Value::Array(m.clone()),
            None => json!([{"role": role, "content": content}]),
        };
        body.insert("messages".into(), messages);
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("stream".into(), Value::Bool(opts.body.streaming));
        if let Some(n) = turn.max_tokens {
            let key = if opts.body.use_legacy_max_tokens {
                "max_tokens"
            } else {
                "max_completion_tokens"
            };
            body.insert(key.into(), json!(n));
        }
        if opts.body.streaming {
            body.insert("stream_options".into(), opts.body.stream_options());
        }
        Ok(body)
    }

    fn messages_mut<'b>(&self, body: &'b mut Map<String, Value>) -> Option<&'b mut Vec<Value>> {
        body.get_mut("messages").and_then(Value::as_array_mut)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(doc) = serde_json::from_str::<ChatDoc<'_>>(json) else {
            return (None, None);
        };
        let usage = keep_usage(doc.usage);
        let message = match doc.object.as_deref() {
            Some("chat.completion.chunk") => doc.choices.into_iter().next().and_then(|c| c.delta),
            Some("chat.completion") => doc.choices.into_iter().next().and_then(|c| c.message),
            _ => None,
        };
        (message.and_then(Message::into_data), usage)
    }
}

#[derive(Deserialize)]
struct ChatDoc<'a> {
    #[serde(borrow, default)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    choices: Vec<Choice<'a>>,
    #[serde(default)]
    usage: Option<Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow, default)]
    delta: Option<Message<'a>>,
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow, default)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

impl Message<'_> {
    /// AIPerf's order: reasoning, else tool calls, else non-empty content, else nothing.
    fn into_data(self) -> Option<ResponseData> {
        let reasoning = self
            .reasoning_content
            .or(self.reasoning)
            .filter(|r| !r.is_empty());
        if let Some(reasoning) = reasoning {
            return Some(ResponseData::Reasoning {
                content: self.content.map(Cow::into_owned).unwrap_or_default(),
                reasoning: reasoning.into_owned(),
            });
        }
        if let Some(calls) = self.tool_calls {
            let mut text = String::new();
            for f in calls.into_iter().filter_map(|c| c.function) {
                text.push_str(f.name.as_deref().unwrap_or(""));
                text.push_str(f.arguments.as_deref().unwrap_or(""));
            }
            if !text.is_empty() {
                return Some(ResponseData::ToolCall(text));
            }
        }
        self.content
            .filter(|c| !c.is_empty())
            .map(|c| ResponseData::Text(c.into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(streaming: bool) -> PayloadOptions {
        PayloadOptions {
            model: "m".into(),
            body: crate::BodyOptions {
                streaming,
                ..Default::default()
            },
        }
    }

    #[test]
    fn payload_golden_streaming() {
        let turn = Turn {
            texts: vec!["hi".into()],
            max_tokens: Some(5),
            ..Default::default()
        };
        let body = serde_json::to_string(&Chat.payload(&turn, &opts(true)).unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"messages":[{"role":"user","content":"hi"}],"model":"m","stream":true,"max_completion_tokens":5,"stream_options":{"include_usage":true}}"#
        );
    }

    #[test]
    fn payload_golden_non_streaming_legacy_and_batch() {
        let turn = Turn {
            texts: vec!["a".into(), "b".into()],
            max_tokens: Some(2),
            ..Default::default()
        };
        let mut o = opts(false);
        o.body.use_legacy_max_tokens = true;
        let body = serde_json::to_string(&Chat.payload(&turn, &o).unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"model":"m","stream":false,"max_tokens":2}"#
        );
    }

    #[test]
    fn payload_golden_multimodal_and_verbatim_messages() {
        let turn = Turn {
            texts: vec!["what is this?".into()],
            images: vec!["data:image/png;base64,AAAA".into()],
            audios: vec!["wav,UklG".into()],
            ..Default::default()
        };
        let body = serde_json::to_string(&Chat.payload(&turn, &opts(false)).unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"input_audio","input_audio":{"data":"UklG","format":"wav"}}]}],"model":"m","stream":false}"#
        );
        let verbatim = Turn {
            messages: Some(vec![
                json!({"role": "system", "content": "s"}),
                json!({"role": "user", "content": "u"}),
            ]),
            ..Default::default()
        };
        let mut b = Chat.payload(&verbatim, &opts(false)).unwrap();
        assert_eq!(
            serde_json::to_string(&b["messages"]).unwrap(),
            r#"[{"role":"system","content":"s"},{"role":"user","content":"u"}]"#
        );
        assert_eq!(Chat.messages_mut(&mut b).map(|m| m.len()), Some(2));
    }

    #[test]
    fn parses_chunks_per_aiperf_rules() {
        let role_only = r#"{"object":"chat.completion.chunk","choices":[{"delta":{"role":"assistant","content":""}}]}"#;
        assert_eq!(Chat.parse_json(role_only), (None, None));
        let text = r#"{"object":"chat.completion.chunk","choices":[{"delta":{"content":"Hi"}}]}"#;
        assert_eq!(
            Chat.parse_json(text).0,
            Some(ResponseData::Text("Hi".into()))
        );
        let reasoning = r#"{"object":"chat.completion.chunk","choices":[{"delta":{"reasoning_content":"hmm"}}]}"#;
        assert_eq!(
            Chat.parse_json(reasoning).0,
            Some(ResponseData::Reasoning {
                content: String::new(),
                reasoning: "hmm".into()
            })
        );
        let tool = r#"{"object":"chat.completion.chunk","choices":[{"delta":{"tool_calls":[{"function":{"name":"f","arguments":"{\"a\""}}]}}]}"#;
        assert_eq!(
            Chat.parse_json(tool).0,
            Some(ResponseData::ToolCall("f{\"a\"".into()))
        );
        let usage_only = r#"{"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#;
        let (d, u) = Chat.parse_json(usage_only);
        assert_eq!(d, None);
        assert_eq!(u.unwrap()["completion_tokens"], 2);
        let full = r#"{"object":"chat.completion","choices":[{"message":{"role":"assistant","content":"Hello there"}}],"usage":{}}"#;
        assert_eq!(
            Chat.parse_json(full),
            (Some(ResponseData::Text("Hello there".into())), None)
        );
        assert_eq!(
            Chat.parse_json(r#"{"choices":[{"delta":{"content":"x"}}]}"#)
                .0,
            None,
            "object is required"
        );
        assert_eq!(Chat.parse_json("not json"), (None, None));
    }
}
