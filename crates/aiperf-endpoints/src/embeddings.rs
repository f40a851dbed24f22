//! `embeddings`: OpenAI Embeddings (`/v1/embeddings`), never streamed.

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

    /// Content only when every `data[]` item is an `embedding` object.
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
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
}
