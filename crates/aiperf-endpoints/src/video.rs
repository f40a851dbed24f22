//! `video_generation`: OpenAI-style `/v1/videos`, an asynchronous job. The submission
//! (multipart `prompt`, `model`) answers with a job; the session polls `GET /v1/videos/{id}`
//! until it is `completed` or `failed`, and with `--download-video-content` fetches
//! `/v1/videos/{id}/content`. The request's latency spans submission to completion.

use aiperf_core::Turn;
use serde_json::{json, Map, Value};

use crate::{AsyncJob, BodyEncoding, Endpoint, JobState, PayloadOptions, ResponseData};

pub struct VideoGeneration;

impl Endpoint for VideoGeneration {
    /// Multipart `prompt` and `model` (`seconds`, `size` and the like from `--extra-inputs`).
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let mut body = Map::new();
        body.insert("prompt".into(), json!(turn.texts.join(" ")));
        body.insert("model".into(), Value::String(opts.model.clone()));
        Ok(body)
    }

    /// Content is a completed job document (or the downloaded video itself).
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        match self.status(json) {
            Some((_, JobState::Done)) => (Some(ResponseData::Video), None),
            Some(_) => (None, None),
            // Not JSON: the downloaded content.
            None => ((!json.is_empty()).then_some(ResponseData::Video), None),
        }
    }

    fn encoding(&self) -> BodyEncoding {
        BodyEncoding::Multipart
    }

    fn job(&self) -> Option<&dyn AsyncJob> {
        Some(self)
    }
}

impl AsyncJob for VideoGeneration {
    /// `{"id", "object": "video", "status": queued | in_progress | completed | failed}`.
    fn status(&self, json: &str) -> Option<(String, JobState)> {
        let doc: Value = serde_json::from_str(json).ok()?;
        let id = doc.get("id")?.as_str()?.to_string();
        let state = match doc.get("status")?.as_str()? {
            "completed" | "succeeded" => JobState::Done,
            "failed" | "cancelled" => JobState::Failed(
                doc.pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("video generation failed")
                    .to_string(),
            ),
            _ => JobState::Running,
        };
        Some((id, state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_job_states() {
        let turn = Turn {
            texts: vec!["a cat".into()],
            ..Default::default()
        };
        let o = PayloadOptions {
            model: "sora".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&VideoGeneration.payload(&turn, &o).unwrap()).unwrap(),
            r#"{"prompt":"a cat","model":"sora"}"#
        );
        let v = VideoGeneration;
        assert_eq!(
            v.status(r#"{"id":"video_1","status":"queued"}"#),
            Some(("video_1".into(), JobState::Running))
        );
        assert_eq!(
            v.status(r#"{"id":"video_1","status":"failed","error":{"message":"no"}}"#),
            Some(("video_1".into(), JobState::Failed("no".into())))
        );
        assert_eq!(
            v.parse_json(r#"{"id":"video_1","status":"completed"}"#).0,
            Some(ResponseData::Video)
        );
        assert_eq!(
            v.parse_json(r#"{"id":"video_1","status":"in_progress"}"#).0,
            None
        );
        assert_eq!(v.status_path("/v1/videos", "video_1"), "/v1/videos/video_1");
        assert_eq!(
            v.content_path("/v1/videos/", "video_1"),
            "/v1/videos/video_1/content"
        );
    }
}
