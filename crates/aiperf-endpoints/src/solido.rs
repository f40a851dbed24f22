//! `solido_rag`: the Solido RAG service (`/rag/api/prompt`).

use aiperf_core::Turn;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

pub struct SolidoRag;

impl Endpoint for SolidoRag {
    /// `{"query": [texts], "filters": {"family": "Solido", "tool": "SDE"}, "inference_model"}`.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let mut body = Map::new();
        body.insert("query".into(), json!(turn.texts));
        body.insert("filters".into(), json!({"family": "Solido", "tool": "SDE"}));
        body.insert("inference_model".into(), Value::String(opts.model.clone()));
        Ok(body)
    }

    /// Text from the first of `content`, `text`, `response`, `output`, `result` (whole body or
    /// streamed event), or an OpenAI-shaped `choices[0]`.
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(doc) = serde_json::from_str::<Value>(json) else {
            return (None, None);
        };
        (
            crate::template::auto_detect(&doc),
            keep_usage(doc.get("usage").cloned()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_golden_and_parse() {
        let turn = Turn {
            texts: vec!["how do I sweep?".into()],
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "llm".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&SolidoRag.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"query":["how do I sweep?"],"filters":{"family":"Solido","tool":"SDE"},"inference_model":"llm"}"#
        );
        assert_eq!(
            SolidoRag.parse_json(r#"{"content":"use a sweep"}"#).0,
            Some(ResponseData::Text("use a sweep".into()))
        );
    }
}
