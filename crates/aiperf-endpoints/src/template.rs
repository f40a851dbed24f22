//! `template`: any JSON API described declaratively (AIPerf's template endpoint).
//!
//! The request body is a Jinja template (minijinja) rendered once per dataset entry before the run;
//! it must produce a JSON object. Response content is picked from each response document (whole
//! body, or each SSE `data` event) with a JMESPath expression compiled once.
//!
//! Configured by an endpoint entry's `template` metadata (a plugin manifest alone can add an API),
//! or, for the built-in `template` entry, by `--extra-inputs payload_template:<template, file or
//! named template>` and `--extra-inputs response_field:<jmespath>` as in AIPerf.
//!
//! Template variables: `text` (first text), `texts`, `model`, `max_tokens`, `role`, `stream`, and
//! `turn` (`{texts, max_tokens, role}`).

use aiperf_core::Turn;
use aiperf_plugins::{EndpointMetadata, TemplateMetadata};
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{Endpoint, PayloadOptions, ResponseData};

/// Named templates AIPerf ships.
const NAMED: [(&str, &str); 1] = [("nv-embedqa", r#"{"text": {{ texts|tojson }}}"#)];

pub struct Template {
    body: String,
    response_field: Option<jmespath::Expression<'static>>,
    usage_field: Option<jmespath::Expression<'static>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("body", &self.body)
            .finish()
    }
}

impl Template {
    /// From entry metadata, else from `--extra-inputs payload_template` / `response_field`.
    pub fn from_config(
        metadata: &EndpointMetadata,
        extra_inputs: &Map<String, Value>,
    ) -> Result<Self, String> {
        let spec = match &metadata.template {
            Some(t) => t.clone(),
            None => {
                let body = extra_inputs.get("payload_template").and_then(Value::as_str).ok_or(
                    "the template endpoint needs a body: --extra-inputs payload_template:<template or file>",
                )?;
                TemplateMetadata {
                    body: body.to_string(),
                    response_field: extra_inputs
                        .get("response_field")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    usage_field: extra_inputs
                        .get("usage_field")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }
            }
        };
        Self::new(&spec)
    }

    pub fn new(spec: &TemplateMetadata) -> Result<Self, String> {
        let body = if let Some((_, t)) = NAMED.iter().find(|(n, _)| *n == spec.body) {
            t.to_string()
        } else if !spec.body.contains("{{") && std::path::Path::new(&spec.body).is_file() {
            aiperf_core::textfile::read_to_string(std::path::Path::new(&spec.body))
                .map_err(|e| format!("payload template '{}': {e}", spec.body))?
        } else {
            spec.body.clone()
        };
        // Check the syntax now rather than at the first request.
        minijinja::Environment::new()
            .template_from_str(&body)
            .map_err(|e| format!("payload template does not parse: {e}"))?;
        Ok(Self {
            body,
            response_field: compile_field(spec.response_field.as_deref(), "response_field")?,
            usage_field: compile_field(spec.usage_field.as_deref(), "usage_field")?,
        })
    }
}

impl Endpoint for Template {
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let ctx = json!({
            "text": turn.texts.first(),
            "texts": turn.texts,
            "model": opts.model,
            "max_tokens": turn.max_tokens,
            "role": turn.role.as_deref().unwrap_or("user"),
            "stream": opts.body.streaming,
            "turn": {"texts": turn.texts, "max_tokens": turn.max_tokens, "role": turn.role},
        });
        let rendered = minijinja::Environment::new()
            .render_str(&self.body, ctx)
            .map_err(|e| format!("payload template failed to render: {e}"))?;
        match serde_json::from_str::<Value>(&rendered) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(format!(
                "Template did not render valid JSON object: {}",
                rendered.chars().take(200).collect::<String>()
            )),
        }
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(doc) = serde_json::from_str::<Value>(json) else {
            // Plain-text bodies are the text itself.
            let t = json.trim();
            return (
                (!t.is_empty() && self.response_field.is_none())
                    .then(|| ResponseData::Text(t.to_string())),
                None,
            );
        };
        let usage = match &self.usage_field {
            Some(f) => keep_usage(search(f, &doc)),
            None => keep_usage(doc.get("usage").cloned()),
        };
        let data = match &self.response_field {
            Some(f) => search(f, &doc).and_then(to_data),
            None => auto_detect(&doc),
        };
        (data, usage)
    }

    fn consumed_extra_inputs(&self) -> &'static [&'static str] {
        &["payload_template", "response_field", "usage_field"]
    }
}

/// A JMESPath field expression from configuration; the error names the setting.
pub(crate) fn compile_field(
    expr: Option<&str>,
    what: &str,
) -> Result<Option<jmespath::Expression<'static>>, String> {
    expr.map(|e| {
        jmespath::compile(e).map_err(|err| format!("{what} '{e}' is not valid JMESPath: {err}"))
    })
    .transpose()
}

/// What `expr` finds in `doc` (`None` for nothing or null).
pub(crate) fn search(expr: &jmespath::Expression<'static>, doc: &Value) -> Option<Value> {
    let var = jmespath::Variable::from_serializable(doc).ok()?;
    let found = expr.search(var).ok()?;
    serde_json::to_value(&*found).ok().filter(|v| !v.is_null())
}

/// A found value as content: text, embeddings for (lists of) numbers, rankings for a list of
/// objects.
pub(crate) fn to_data(v: Value) -> Option<ResponseData> {
    match v {
        Value::String(s) if !s.is_empty() => Some(ResponseData::Text(s)),
        Value::Array(items) if !items.is_empty() => {
            if items.iter().all(Value::is_number) {
                Some(ResponseData::Embeddings(1))
            } else if items.iter().all(Value::is_array) {
                Some(ResponseData::Embeddings(items.len()))
            } else if items.iter().all(Value::is_object) {
                Some(ResponseData::Rankings(items.len()))
            } else {
                let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                (!texts.is_empty()).then(|| ResponseData::Text(texts.concat()))
            }
        }
        _ => None,
    }
}

/// AIPerf's auto-detection order: embeddings, rankings, common text fields, OpenAI shapes.
pub(crate) fn auto_detect(doc: &Value) -> Option<ResponseData> {
    if let Some(data) = doc.get("data").and_then(Value::as_array) {
        if !data.is_empty()
            && data
                .iter()
                .all(|d| d.get("object").and_then(Value::as_str) == Some("embedding"))
        {
            return Some(ResponseData::Embeddings(data.len()));
        }
    }
    for key in ["embeddings", "embedding"] {
        if let Some(Value::Array(items)) = doc.get(key) {
            if items.iter().all(Value::is_number) && !items.is_empty() {
                return Some(ResponseData::Embeddings(1));
            }
            if items.iter().all(Value::is_array) && !items.is_empty() {
                return Some(ResponseData::Embeddings(items.len()));
            }
        }
    }
    for key in ["rankings", "results"] {
        if let Some(Value::Array(items)) = doc.get(key) {
            if !items.is_empty() && items.iter().all(Value::is_object) {
                return Some(ResponseData::Rankings(items.len()));
            }
        }
    }
    for key in ["text", "content", "response", "output", "result"] {
        if let Some(d) = doc.get(key).cloned().and_then(to_data) {
            return Some(d);
        }
    }
    for ptr in [
        "/choices/0/text",
        "/choices/0/message/content",
        "/choices/0/delta/content",
    ] {
        if let Some(s) = doc
            .pointer(ptr)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            return Some(ResponseData::Text(s.to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(body: &str, field: Option<&str>) -> TemplateMetadata {
        TemplateMetadata {
            body: body.into(),
            response_field: field.map(str::to_string),
            usage_field: None,
        }
    }

    #[test]
    fn renders_the_body_from_the_turn() {
        let t = Template::new(&spec(
            r#"{"inputs": {{ text|tojson }}, "parameters": {"max_new_tokens": {{ max_tokens }}}, "model": {{ model|tojson }}, "stream": {{ stream|tojson }}}"#,
            Some("generated_text"),
        ))
        .unwrap();
        let turn = Turn {
            texts: vec!["say \"hi\"".into()],
            max_tokens: Some(7),
            ..Default::default()
        };
        let opts = PayloadOptions {
            model: "m".into(),
            body: crate::BodyOptions {
                streaming: true,
                ..Default::default()
            },
        };
        let body = Value::Object(t.payload(&turn, &opts).unwrap());
        assert_eq!(
            body,
            json!({"inputs": "say \"hi\"", "parameters": {"max_new_tokens": 7}, "model": "m", "stream": true})
        );
    }

    #[test]
    fn named_template_and_bad_templates() {
        let t = Template::new(&spec("nv-embedqa", None)).unwrap();
        let turn = Turn {
            texts: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(
            Value::Object(t.payload(&turn, &PayloadOptions::default()).unwrap()),
            json!({"text": ["a", "b"]})
        );
        assert!(Template::new(&spec("{{ unclosed", None))
            .unwrap_err()
            .contains("does not parse"));
        let not_json = Template::new(&spec("hello {{ text }}", None)).unwrap();
        assert!(not_json
            .payload(&turn, &PayloadOptions::default())
            .unwrap_err()
            .contains("valid JSON"));
        assert!(Template::new(&spec("{}", Some("a[")))
            .unwrap_err()
            .contains("JMESPath"));
    }

    #[test]
    fn response_field_and_auto_detection() {
        let t = Template::new(&spec("{}", Some("output.choices[0].words"))).unwrap();
        let (d, _) = t.parse_json(r#"{"output": {"choices": [{"words": "hello"}]}}"#);
        assert_eq!(d, Some(ResponseData::Text("hello".into())));
        assert_eq!(t.parse_json(r#"{"other": 1}"#).0, None);
        let auto = Template::new(&spec("{}", None)).unwrap();
        assert_eq!(
            auto.parse_json(r#"{"generated": 1, "text": "x"}"#).0,
            Some(ResponseData::Text("x".into()))
        );
        assert_eq!(
            auto.parse_json(r#"{"choices": [{"message": {"content": "y"}}]}"#)
                .0,
            Some(ResponseData::Text("y".into()))
        );
        let (d, u) = auto
            .parse_json(r#"{"data": [{"object": "embedding"}], "usage": {"prompt_tokens": 2}}"#);
        assert_eq!(d, Some(ResponseData::Embeddings(1)));
        assert_eq!(u.unwrap()["prompt_tokens"], 2);
        let emb = Template::new(&spec("{}", Some("vectors"))).unwrap();
        assert_eq!(
            emb.parse_json(r#"{"vectors": [[0.1], [0.2]]}"#).0,
            Some(ResponseData::Embeddings(2))
        );
    }

    #[test]
    fn configured_from_extra_inputs_when_metadata_has_none() {
        let meta = EndpointMetadata {
            endpoint_path: None,
            streaming_path: None,
            supports_streaming: true,
            produces_tokens: true,
            tokenizes_input: true,
            metrics_title: "LLM Metrics".into(),
            service_kind: "openai".into(),
            stream_done_sentinel: false,
            template: None,
        };
        let mut extra = Map::new();
        assert!(Template::from_config(&meta, &extra)
            .unwrap_err()
            .contains("payload_template"));
        extra.insert(
            "payload_template".into(),
            json!(r#"{"q": {{ text|tojson }}}"#),
        );
        extra.insert("response_field".into(), json!("a"));
        let t = Template::from_config(&meta, &extra).unwrap();
        assert_eq!(
            t.parse_json(r#"{"a": "z"}"#).0,
            Some(ResponseData::Text("z".into()))
        );
    }

    #[test]
    fn arbitrary_documents_never_panic() {
        let t = Template::new(&spec("{}", Some("a.b[0]"))).unwrap();
        let auto = Template::new(&spec("{}", None)).unwrap();
        let mut x: u64 = 7;
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            "\"a\"",
            ":",
            ",",
            "1",
            "\"text\"",
            "null",
            "\"choices\"",
            "\"b\"",
            " ",
        ];
        for _ in 0..3_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let doc: String = (0..(x % 12))
                .map(|i| pieces[((x >> (i * 4)) % pieces.len() as u64) as usize])
                .collect();
            let _ = t.parse_json(&doc);
            let _ = auto.parse_json(&doc);
            let _ = crate::chat::Chat.parse_json(&doc);
            let _ = crate::completions::Completions.parse_json(&doc);
        }
    }
}
