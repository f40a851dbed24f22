//! `audio_transcription`: OpenAI-style `/v1/audio/transcriptions` (multipart upload).

use aiperf_core::Turn;
use serde_json::{json, Map, Value};

use crate::parse::keep_usage;
use crate::{BodyEncoding, Endpoint, PayloadOptions, ResponseData};

pub struct Transcription;

impl Endpoint for Transcription {
    /// Multipart `file` (the turn's first audio clip), `model`, `response_format: json`.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let audio = turn.audios.first().ok_or(
            "audio_transcription needs an audio input (dataset 'audio' or --audio-* flags)",
        )?;
        let mut body = Map::new();
        body.insert(
            "file".into(),
            crate::media::file_part(audio, "audio", "audio"),
        );
        body.insert("model".into(), Value::String(opts.model.clone()));
        body.insert("response_format".into(), json!("json"));
        Ok(body)
    }

    fn input_texts<'t>(&self, _turn: &'t Turn) -> Vec<&'t str> {
        Vec::new()
    }

    /// `{"text": ...}`.
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(doc) = serde_json::from_str::<Value>(json) else {
            return (None, None);
        };
        let text = doc
            .get("text")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| ResponseData::Text(t.to_string()));
        (text, keep_usage(doc.get("usage").cloned()))
    }

    fn encoding(&self) -> BodyEncoding {
        BodyEncoding::Multipart
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_golden_and_parse() {
        let turn = Turn {
            audios: vec!["wav,UklG".into()],
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "whisper".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&Transcription.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"file":{"filename":"audio.wav","content_type":"audio/wav","data":"UklG"},"model":"whisper","response_format":"json"}"#
        );
        assert!(Transcription.payload(&Turn::default(), &o).is_err());
        assert_eq!(
            Transcription.parse_json(r#"{"text":"hello world"}"#).0,
            Some(ResponseData::Text("hello world".into()))
        );
    }
}
