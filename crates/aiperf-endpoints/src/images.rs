//! Image APIs: OpenAI image generation (JSON, optionally streamed partial images), image
//! edits (multipart upload) and NIM image retrieval (images inline, one result per image).

use aiperf_core::Turn;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{BodyEncoding, Endpoint, PayloadOptions, ResponseData};

/// Images in a generation or edit answer: streamed `image_generation.partial_image` /
/// `image_generation.completed` (and the `image_edit.*` equivalents) events, or `data[]` items
/// with `b64_json` or `url`.
fn parse_images(json: &str) -> (Option<ResponseData>, Option<Value>) {
    let Ok(doc) = serde_json::from_str::<Value>(json) else {
        return (None, None);
    };
    let usage = keep_usage(doc.get("usage").cloned());
    if let Some(kind) = doc.get("type").and_then(Value::as_str) {
        let image = (kind.ends_with(".partial_image") || kind.ends_with(".completed"))
            && doc.get("b64_json").is_some_and(Value::is_string);
        return (image.then_some(ResponseData::Images(1)), usage);
    }
    let n = doc.get("data").and_then(Value::as_array).map_or(0, |d| {
        d.iter()
            .filter(|i| {
                i.get("b64_json")
                    .or_else(|| i.get("url"))
                    .is_some_and(Value::is_string)
            })
            .count()
    });
    ((n > 0).then_some(ResponseData::Images(n)), usage)
}

/// `image_generation`: `{"prompt", "model", "response_format": "b64_json", "n": 1, "stream"?}`.
pub struct ImageGeneration;

impl Endpoint for ImageGeneration {
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let mut body = Map::new();
        body.insert(
            "prompt".into(),
            json!(turn.texts.first().cloned().unwrap_or_default()),
        );
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("response_format".into(), json!("b64_json"));
        body.insert("n".into(), json!(1));
        if opts.body.streaming {
            body.insert("stream".into(), json!(true));
        }
        Ok(body)
    }

    fn input_texts<'t>(&self, turn: &'t Turn) -> Vec<&'t str> {
        turn.texts.first().map(String::as_str).into_iter().collect()
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_images(json)
    }
}

/// `image_edit`: multipart `image` file(s), `prompt`, `model`, `n`, `response_format`.
pub struct ImageEdit;

impl Endpoint for ImageEdit {
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        if turn.images.is_empty() {
            return Err(
                "image_edit needs an input image (dataset 'image' or --image-* flags)".into(),
            );
        }
        let mut body = Map::new();
        body.insert(
            "image".into(),
            Value::Array(
                turn.images
                    .iter()
                    .map(|i| crate::media::file_part(i, "image", "image"))
                    .collect(),
            ),
        );
        body.insert("prompt".into(), json!(turn.texts.join(" ")));
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("n".into(), json!(1));
        body.insert("response_format".into(), json!("b64_json"));
        Ok(body)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        parse_images(json)
    }

    fn encoding(&self) -> BodyEncoding {
        BodyEncoding::Multipart
    }
}

/// `image_retrieval` (NIM, `/v1/infer`): `{"input": [{"type": "image_url", "url"}...]}`.
pub struct ImageRetrieval;

impl Endpoint for ImageRetrieval {
    fn payload(&self, turn: &Turn, _opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        if turn.images.is_empty() {
            return Err("image_retrieval needs input images".into());
        }
        let mut body = Map::new();
        body.insert(
            "input".into(),
            Value::Array(
                turn.images
                    .iter()
                    .map(|u| json!({"type": "image_url", "url": u}))
                    .collect(),
            ),
        );
        Ok(body)
    }

    fn input_texts<'t>(&self, _turn: &'t Turn) -> Vec<&'t str> {
        Vec::new()
    }

    /// A `data[]` list with one result per image.
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(doc) = serde_json::from_str::<Value>(json) else {
            return (None, None);
        };
        let n = doc
            .get("data")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        (
            (n > 0).then_some(ResponseData::Images(n)),
            keep_usage(doc.get("usage").cloned()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_golden() {
        let turn = Turn {
            texts: vec!["a red fox".into()],
            images: vec!["data:image/png;base64,AAE=".into()],
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "img".into(),
            body: crate::BodyOptions {
                streaming: true,
                ..Default::default()
            },
        };
        let s = |e: &dyn Endpoint| serde_json::to_string(&e.payload(&turn, &o).unwrap()).unwrap();
        assert_eq!(
            s(&ImageGeneration),
            r#"{"prompt":"a red fox","model":"img","response_format":"b64_json","n":1,"stream":true}"#
        );
        assert_eq!(
            s(&ImageEdit),
            r#"{"image":[{"filename":"image.png","content_type":"image/png","data":"AAE="}],"prompt":"a red fox","model":"img","n":1,"response_format":"b64_json"}"#
        );
        assert_eq!(
            s(&ImageRetrieval),
            r#"{"input":[{"type":"image_url","url":"data:image/png;base64,AAE="}]}"#
        );
        assert!(ImageEdit.payload(&Turn::default(), &o).is_err());
    }

    #[test]
    fn parses_images() {
        assert_eq!(
            parse_images(r#"{"data":[{"b64_json":"AA"},{"url":"u"}],"usage":{"total_tokens":5}}"#)
                .0,
            Some(ResponseData::Images(2))
        );
        assert_eq!(
            parse_images(r#"{"type":"image_generation.partial_image","b64_json":"AA","partial_image_index":0}"#).0,
            Some(ResponseData::Images(1))
        );
        assert_eq!(parse_images(r#"{"data":[]}"#).0, None);
        assert_eq!(
            ImageRetrieval
                .parse_json(r#"{"data":[{"index":0,"bounding_boxes":{}}]}"#)
                .0,
            Some(ResponseData::Images(1))
        );
    }
}
