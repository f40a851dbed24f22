//! `huggingface_generate`: Hugging Face TGI `/generate` and `/generate_stream`.

use std::borrow::Cow;

use aiperf_core::Turn;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{Endpoint, PayloadOptions, ResponseData};

pub struct Generate;

impl Endpoint for Generate {
    /// `{"inputs": texts joined by spaces, "parameters": {"max_new_tokens"?, ...}}`. As in
    /// AIPerf, `--extra-inputs` go inside `parameters` (see [`Endpoint::consumed_extra_inputs`]
    /// for why they are not merged at the top level); per-turn `extra` stays top-level.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let mut parameters = opts.body.extra_inputs.clone();
        if let Some(n) = turn.max_tokens {
            parameters.insert("max_new_tokens".into(), json!(n));
        }
        let mut body = Map::new();
        body.insert("inputs".into(), json!(turn.texts.join(" ")));
        body.insert("parameters".into(), Value::Object(parameters));
        Ok(body)
    }

    /// Streams: `token.text` per event (special tokens skipped); whole bodies:
    /// `generated_text` of the object or of the first list element.
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        // `/generate` may answer a list of one object.
        let doc = if json.trim_start().starts_with('[') {
            serde_json::from_str::<Vec<Doc<'_>>>(json)
                .ok()
                .and_then(|mut items| (!items.is_empty()).then(|| items.swap_remove(0)))
        } else {
            serde_json::from_str::<Doc<'_>>(json).ok()
        };
        let Some(doc) = doc else {
            return (None, None);
        };
        let text = match doc.token {
            Some(t) if t.special => None,
            Some(t) => t.text,
            None => doc.generated_text,
        };
        (
            text.filter(|t| !t.is_empty())
                .map(|t| ResponseData::Text(t.into_owned())),
            None,
        )
    }

    /// Every `--extra-inputs` key: they were put inside `parameters` already.
    fn extra_inputs_inside(&self) -> bool {
        true
    }
}

/// A stream event or a whole answer.
#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, default)]
    token: Option<Token<'a>>,
    #[serde(borrow, default)]
    generated_text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Token<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    special: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_golden_and_parse() {
        let turn = Turn {
            texts: vec!["a".into(), "b".into()],
            max_tokens: Some(4),
            ..Default::default()
        };
        let mut o = PayloadOptions::default();
        o.body.extra_inputs.insert("temperature".into(), json!(0.1));
        assert_eq!(
            serde_json::to_string(&Generate.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"inputs":"a b","parameters":{"temperature":0.1,"max_new_tokens":4}}"#
        );
        assert_eq!(
            Generate
                .parse_json(r#"{"index":0,"token":{"id":1,"text":" hi","special":false}}"#)
                .0,
            Some(ResponseData::Text(" hi".into()))
        );
        assert_eq!(
            Generate
                .parse_json(r#"{"token":{"text":"</s>","special":true}}"#)
                .0,
            None
        );
        assert_eq!(
            Generate.parse_json(r#"[{"generated_text":"whole"}]"#).0,
            Some(ResponseData::Text("whole".into()))
        );
    }
}
