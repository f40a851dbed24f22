//! `raw`: datasets' verbatim request bodies (mooncake `payload` rows and the like) sent as they
//! are to `--url` + `--custom-endpoint`; answers read with `--extra-inputs
//! response_field:<jmespath>` or auto-detected (embeddings, rankings, text, OpenAI shapes).

use aiperf_core::Turn;
use serde_json::{Map, Value};

use crate::template::{auto_detect, compile_field, search, to_data};
use crate::{Endpoint, PayloadOptions, ResponseData};

pub struct Raw {
    response_field: Option<jmespath::Expression<'static>>,
}

impl Raw {
    /// Reads `response_field` from `--extra-inputs`.
    pub fn from_config(extra_inputs: &Map<String, Value>) -> Result<Self, String> {
        let expr = match extra_inputs.get("response_field") {
            Some(Value::String(expr)) => Some(expr.as_str()),
            Some(other) => return Err(format!("response_field must be a string, got {other}")),
            None => None,
        };
        Ok(Self {
            response_field: compile_field(expr, "response_field")?,
        })
    }
}

impl Endpoint for Raw {
    /// Only reached for turns without a verbatim payload, which raw cannot send.
    fn payload(&self, _turn: &Turn, _opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        Err(
            "the raw endpoint sends datasets' verbatim payloads, and this turn has none \
             (use a mooncake_trace file with 'payload' rows)"
                .into(),
        )
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(doc) = serde_json::from_str::<Value>(json) else {
            let t = json.trim();
            return (
                (!t.is_empty()).then(|| ResponseData::Text(t.to_string())),
                None,
            );
        };
        let usage = crate::parse::keep_usage(doc.get("usage").cloned());
        let found = self
            .response_field
            .as_ref()
            .and_then(|f| search(f, &doc))
            .and_then(to_data);
        // A configured field that finds nothing falls back to auto-detection (as AIPerf).
        (found.or_else(|| auto_detect(&doc)), usage)
    }

    fn consumed_extra_inputs(&self) -> &'static [&'static str] {
        &["response_field"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_then_auto_detection() {
        let mut extra = Map::new();
        extra.insert("response_field".into(), json!("out.text"));
        let raw = Raw::from_config(&extra).unwrap();
        assert_eq!(
            raw.parse_json(r#"{"out":{"text":"a"}}"#).0,
            Some(ResponseData::Text("a".into()))
        );
        assert_eq!(
            raw.parse_json(r#"{"choices":[{"message":{"content":"b"}}]}"#)
                .0,
            Some(ResponseData::Text("b".into()))
        );
        assert_eq!(
            raw.parse_json(r#"{"results":[{"index":0,"relevance_score":0.3}]}"#)
                .0,
            Some(ResponseData::Rankings(1))
        );
        assert_eq!(
            raw.parse_json("plain text").0,
            Some(ResponseData::Text("plain text".into()))
        );
        assert!(raw
            .payload(&Turn::default(), &PayloadOptions::default())
            .is_err());
        extra.insert("response_field".into(), json!("[["));
        assert!(Raw::from_config(&extra).is_err());
    }
}
