//! `completions`: OpenAI Completions (`/v1/completions`), streaming and not.

use std::borrow::Cow;

use aiperf_core::Turn;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

pub struct Completions;

impl Endpoint for Completions {
    /// `{"prompt": str | [str], "model", "stream", "max_tokens"?, "stream_options"?}`.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let prompt = if turn.texts.len() == 1 {
            json!(turn.texts[0])
        } else {
            json!(turn.texts)
        };
        let mut body = Map::new();
        body.insert("prompt".into(), prompt);
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("stream".into(), Value::Bool(opts.body.streaming));
        if let Some(n) = turn.max_tokens {
            body.insert("max_tokens".into(), json!(n));
        }
        if opts.body.streaming {
            body.insert("stream_options".into(), opts.body.stream_options());
        }
        Ok(body)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(doc) = serde_json::from_str::<Doc<'_>>(json) else {
            return (None, None);
        };
        let usage = keep_usage(doc.usage);
        let data = match doc.object.as_deref() {
            Some("completion") | Some("text_completion") => doc
                .choices
                .into_iter()
                .next()
                .and_then(|c| c.text)
                .filter(|t| !t.is_empty())
                .map(|t| ResponseData::Text(t.into_owned())),
            _ => None,
        };
        (data, usage)
    }
}

#[derive(Deserialize)]
struct Doc<'a> {
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
    text: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_golden() {
        let turn = Turn {
            texts: vec!["p".into()],
            max_tokens: Some(7),
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "m".into(),
            body: crate::BodyOptions {
                streaming: true,
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_string(&Completions.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"prompt":"p","model":"m","stream":true,"max_tokens":7,"stream_options":{"include_usage":true}}"#
        );
        let o = PayloadOptions {
            model: "m".into(),
            ..Default::default()
        };
        let turn = Turn {
            texts: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&Completions.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"prompt":["a","b"],"model":"m","stream":false}"#
        );
    }

    #[test]
    fn parses_text_completion() {
        let j = r#"{"object":"text_completion","choices":[{"text":" world"}]}"#;
        assert_eq!(
            Completions.parse_json(j).0,
            Some(ResponseData::Text(" world".into()))
        );
        let empty = r#"{"object":"text_completion","choices":[{"text":""}],"usage":{"completion_tokens":1}}"#;
        let (d, u) = Completions.parse_json(empty);
        assert_eq!(d, None);
        assert!(u.is_some());
        assert_eq!(
            Completions
                .parse_json(r#"{"object":"chat.completion","choices":[{"text":"x"}]}"#)
                .0,
            None
        );
    }
}
