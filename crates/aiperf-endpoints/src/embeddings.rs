//! Embeddings APIs (`/v1/embeddings`), never streamed: OpenAI `embeddings`, vLLM's
//! chat-style multimodal `chat_embeddings`, and `nim_embeddings` (texts, images or pairs).

use aiperf_core::Turn;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

pub struct Embeddings;

impl Endpoint for Embeddings {
    /// `{"model", "input": [texts]}`.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let mut body = Map::new();
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("input".into(), json!(turn.texts));
        Ok(body)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_embeddings(json)
    }
}

/// `chat_embeddings`: a chat-style `messages` body (text and images), an embeddings answer.
pub struct ChatEmbeddings;

impl Endpoint for ChatEmbeddings {
    /// `{"model", "messages": [{"role", "content"}], "encoding_format": "float"}`.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let role = turn.role.as_deref().unwrap_or("user");
        let mut body = Map::new();
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert(
            "messages".into(),
            json!([{"role": role, "content": crate::chat::user_content(turn)}]),
        );
        body.insert("encoding_format".into(), json!("float"));
        Ok(body)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_embeddings(json)
    }
}

/// `nim_embeddings`: NVIDIA NIM embeddings; each input is a text, an image, or for a turn
/// with as many texts as images, `"<text> <image>"` pairs.
pub struct NimEmbeddings;

impl Endpoint for NimEmbeddings {
    /// `{"model", "input": [...]}` (NIM's `input_type` and `truncate` come from
    /// `--extra-inputs`, as the NIM model in use requires).
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let input: Vec<String> = if !turn.images.is_empty() && turn.images.len() == turn.texts.len()
        {
            turn.texts
                .iter()
                .zip(&turn.images)
                .map(|(t, i)| format!("{t} {i}"))
                .collect()
        } else {
            turn.texts.iter().chain(&turn.images).cloned().collect()
        };
        let mut body = Map::new();
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("input".into(), json!(input));
        Ok(body)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_embeddings(json)
    }
}

/// Content only when every `data[]` item is an `embedding` object.
pub(crate) fn parse_embeddings(json: &str) -> (Option<ResponseData>, Option<Value>) {
    #[derive(Deserialize)]
    struct Doc {
        #[serde(default)]
        data: Vec<Item>,
        #[serde(default)]
        usage: Option<Value>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        object: Option<String>,
    }
    let Ok(doc) = serde_json::from_str::<Doc>(json) else {
        return (None, None);
    };
    let ok = !doc.data.is_empty()
        && doc
            .data
            .iter()
            .all(|d| d.object.as_deref() == Some("embedding"));
    (
        ok.then_some(ResponseData::Embeddings(doc.data.len())),
        keep_usage(doc.usage),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_parse() {
        let turn = Turn {
            texts: vec!["x".into()],
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "e".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&Embeddings.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"model":"e","input":["x"]}"#
        );
        let j = r#"{"object":"list","data":[{"object":"embedding","embedding":[0.1],"index":0}],"usage":{"prompt_tokens":1}}"#;
        assert_eq!(
            Embeddings.parse_json(j).0,
            Some(ResponseData::Embeddings(1))
        );
        assert_eq!(
            Embeddings.parse_json(r#"{"data":[{"object":"other"}]}"#).0,
            None
        );
    }

    #[test]
    fn chat_and_nim_golden() {
        let turn = Turn {
            texts: vec!["cat".into()],
            images: vec!["data:image/png;base64,AA".into()],
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "e".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&ChatEmbeddings.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"model":"e","messages":[{"role":"user","content":[{"type":"text","text":"cat"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]}],"encoding_format":"float"}"#
        );
        assert_eq!(
            serde_json::to_string(&NimEmbeddings.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"model":"e","input":["cat data:image/png;base64,AA"]}"#
        );
        let texts = Turn {
            texts: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&NimEmbeddings.payload(&texts, &o).unwrap()).unwrap(),
            r#"{"model":"e","input":["a","b"]}"#
        );
    }
}
