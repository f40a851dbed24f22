//! The APIs that answer with something other than generated tokens: rankings, images, image
//! retrieval, transcriptions and video jobs. Each waits the configured TTFT before answering
//! (zero with `--fast`), so latency metrics have a known floor; under the load model
//! ([`crate::load`]) after any `--capacity` queue and plus `--ttft-per-inflight` per other
//! request in flight. Video jobs are queued at once and not part of the load model.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Value};

use crate::load::{Admission, Wait};
use crate::multipart;
use crate::server::{error_response, json_response, respond, MockBody, State};

/// A 1x1 transparent PNG, base64: the image every generation returns.
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// Counts the request, admits it (after any `--capacity` queue) and waits the configured TTFT
/// (longer under load). The request is in flight until the returned guard is dropped: keep it
/// until the reply is built.
pub(crate) async fn think(state: &State) -> Admission {
    state.requests.fetch_add(1, Ordering::Relaxed);
    state.metrics.served_other();
    let admission = state.load.admit().await;
    let mut w = Wait {
        start: admission.at,
        base: state.cfg.ttft_ms(),
        per: state.cfg.ttft_per_inflight_ms(),
        jitter: 0.0,
        u: 0.0,
        peak: admission.others(),
    };
    if w.due() > Instant::now() {
        admission.wait(&mut w).await;
    }
    admission
}

fn json_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

fn form(content_type: &str, body: &[u8]) -> Result<Vec<multipart::Field>, String> {
    multipart::parse(content_type, body).ok_or_else(|| "expected a multipart/form-data body".into())
}

/// A stable score in [0, 1) for a passage.
fn score(text: &str) -> f64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// NIM `/v1/ranking` (`rankings` with `logit`), TEI `/rerank` (a bare list with `score`),
/// Cohere `/v2/rerank` (`results` with `relevance_score`); best first.
pub async fn rankings(state: &Arc<State>, path: &str, body: &[u8]) -> Response<MockBody> {
    let req = match json_body(body) {
        Ok(v) => v,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    let (query, passages): (Option<String>, Vec<String>) = match path {
        "/v1/ranking" => (
            req.pointer("/query/text")
                .and_then(Value::as_str)
                .map(str::to_string),
            req.get("passages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("text").and_then(Value::as_str).map(str::to_string))
                .collect(),
        ),
        _ => (
            req.get("query").and_then(Value::as_str).map(str::to_string),
            req.get(if path == "/rerank" {
                "texts"
            } else {
                "documents"
            })
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        ),
    };
    let Some(query) = query else {
        return error_response(StatusCode::BAD_REQUEST, "missing 'query'");
    };
    if passages.is_empty() {
        return error_response(StatusCode::BAD_REQUEST, "no passages to rank");
    }
    let _in_flight = think(state).await;
    let mut ranked: Vec<(usize, f64)> = passages
        .iter()
        .enumerate()
        .map(|(i, p)| (i, score(&format!("{query}\n{p}"))))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let tokens: u32 = std::iter::once(&query)
        .chain(&passages)
        .map(|t| state.tokens.count(t))
        .sum();
    let doc = match path {
        "/v1/ranking" => {
            json!({"rankings": ranked.iter().map(|(i, s)| json!({"index": i, "logit": s * 10.0 - 5.0})).collect::<Vec<_>>(),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
        }
        "/rerank" => json!(ranked
            .iter()
            .map(|(i, s)| json!({"index": i, "score": s}))
            .collect::<Vec<_>>()),
        _ => {
            json!({"id": "rerank-mock", "results": ranked.iter().map(|(i, s)| json!({"index": i, "relevance_score": s})).collect::<Vec<_>>(),
            "meta": {"billed_units": {"search_units": 1}}})
        }
    };
    json_response(StatusCode::OK, &doc)
}

/// OpenAI `/v1/images/generations`: `n` images as `b64_json`; with `stream: true`, a
/// `partial_image` event then a `completed` event per image.
pub async fn image_generation(state: &Arc<State>, body: &[u8]) -> Response<MockBody> {
    let req = match json_body(body) {
        Ok(v) => v,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    let Some(prompt) = req.get("prompt").and_then(Value::as_str) else {
        return error_response(StatusCode::BAD_REQUEST, "missing 'prompt'");
    };
    let n = req.get("n").and_then(Value::as_u64).unwrap_or(1).max(1);
    let tokens = state.tokens.count(prompt);
    let usage = json!({"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens});
    let _in_flight = think(state).await;
    if req.get("stream").and_then(Value::as_bool) == Some(true) {
        let mut sse = String::new();
        for i in 0..n {
            let partial = json!({"type": "image_generation.partial_image", "b64_json": PNG_1X1,
                "partial_image_index": 0, "index": i});
            sse.push_str(&format!(
                "event: image_generation.partial_image\ndata: {partial}\n\n"
            ));
            let done = json!({"type": "image_generation.completed", "b64_json": PNG_1X1,
                "index": i, "usage": usage});
            sse.push_str(&format!(
                "event: image_generation.completed\ndata: {done}\n\n"
            ));
        }
        return respond(
            StatusCode::OK,
            "text/event-stream",
            MockBody::Full(Some(Bytes::from(sse))),
        );
    }
    let data: Vec<Value> = (0..n).map(|_| json!({"b64_json": PNG_1X1})).collect();
    json_response(
        StatusCode::OK,
        &json!({"created": state.created, "data": data, "usage": usage}),
    )
}

/// OpenAI `/v1/images/edits` (multipart `image`, `prompt`).
pub async fn image_edit(state: &Arc<State>, content_type: &str, body: &[u8]) -> Response<MockBody> {
    let fields = match form(content_type, body) {
        Ok(f) => f,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    let images = fields
        .iter()
        .filter(|f| f.name.starts_with("image") && f.filename.is_some())
        .count();
    if images == 0 {
        return error_response(StatusCode::BAD_REQUEST, "missing 'image' file");
    }
    let Some(prompt) = fields.iter().find(|f| f.name == "prompt") else {
        return error_response(StatusCode::BAD_REQUEST, "missing 'prompt'");
    };
    let tokens = state.tokens.count(&prompt.text());
    let _in_flight = think(state).await;
    json_response(
        StatusCode::OK,
        &json!({"created": state.created, "data": [{"b64_json": PNG_1X1}],
            "usage": {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}}),
    )
}

/// NIM image retrieval (`/v1/infer`): one result per input image.
pub async fn image_retrieval(state: &Arc<State>, body: &[u8]) -> Response<MockBody> {
    let req = match json_body(body) {
        Ok(v) => v,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    let n = req
        .get("input")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if n == 0 {
        return error_response(StatusCode::BAD_REQUEST, "missing 'input' images");
    }
    let _in_flight = think(state).await;
    let data: Vec<Value> = (0..n)
        .map(|i| json!({"index": i, "bounding_boxes": {"table": [{"x_min": 0.1, "y_min": 0.1, "x_max": 0.9, "y_max": 0.5, "confidence": 0.9}]}}))
        .collect();
    json_response(StatusCode::OK, &json!({"data": data}))
}

/// OpenAI `/v1/audio/transcriptions` (multipart `file`): a transcript whose length follows the
/// clip's size.
pub async fn transcription(
    state: &Arc<State>,
    content_type: &str,
    body: &[u8],
) -> Response<MockBody> {
    let fields = match form(content_type, body) {
        Ok(f) => f,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    let Some(file) = fields
        .iter()
        .find(|f| f.name == "file" && f.filename.is_some())
    else {
        return error_response(StatusCode::BAD_REQUEST, "missing 'file'");
    };
    let _in_flight = think(state).await;
    let words = (file.data.len() / 4000).clamp(1, 200);
    let text = vec!["hello"; words].join(" ");
    json_response(StatusCode::OK, &json!({"text": text}))
}

/// Video jobs (`POST /v1/videos`, multipart `prompt`): queued at once; complete
/// `ttft + itl * default_output_tokens` after submission.
pub fn video_submit(state: &Arc<State>, content_type: &str, body: &[u8]) -> Response<MockBody> {
    let fields = match form(content_type, body) {
        Ok(f) => f,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    if !fields.iter().any(|f| f.name == "prompt") {
        return error_response(StatusCode::BAD_REQUEST, "missing 'prompt'");
    }
    let n = state.requests.fetch_add(1, Ordering::Relaxed);
    let id = format!("video_mock_{n}");
    if let Ok(mut jobs) = state.jobs.lock() {
        jobs.insert(id.clone(), Instant::now());
    }
    json_response(StatusCode::OK, &job_doc(&id, "queued", 0))
}

/// A completed job; with `--video-peak-memory-mb`, with SGLang's `inference_time_s` (the
/// job's modelled `total_ms`) and `peak_memory_mb` at its root.
fn finished_job_doc(state: &State, id: &str, total_ms: f64) -> Value {
    let mut doc = job_doc(id, "completed", 100);
    if let Some(mb) = state.cfg.video_peak_memory_mb {
        doc["inference_time_s"] = json!(total_ms / 1e3);
        doc["peak_memory_mb"] = json!(mb);
    }
    doc
}

fn job_doc(id: &str, status: &str, progress: u32) -> Value {
    json!({"id": id, "object": "video", "status": status, "progress": progress})
}

/// `GET /v1/videos/{id}` (status) and `GET /v1/videos/{id}/content` (the video bytes).
pub fn video_get(state: &Arc<State>, path: &str) -> Response<MockBody> {
    let rest = path.trim_start_matches("/v1/videos/");
    let (id, content) = match rest.strip_suffix("/content") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let Some(submitted) = state.jobs.lock().ok().and_then(|j| j.get(id).copied()) else {
        return error_response(StatusCode::NOT_FOUND, &format!("no video job '{id}'"));
    };
    let total =
        state.cfg.ttft_ms() + state.cfg.itl_ms() * f64::from(state.cfg.default_output_tokens);
    let elapsed = submitted.elapsed().as_secs_f64() * 1e3;
    let done = elapsed >= total;
    if content {
        if !done {
            return error_response(StatusCode::CONFLICT, "video is not ready");
        }
        return respond(
            StatusCode::OK,
            "video/mp4",
            MockBody::Full(Some(Bytes::from_static(
                b"\x00\x00\x00\x18ftypmp42mock-video",
            ))),
        );
    }
    let doc = if done {
        finished_job_doc(state, id, total)
    } else {
        job_doc(
            id,
            "in_progress",
            ((elapsed / total.max(1e-9)) * 100.0) as u32,
        )
    };
    json_response(StatusCode::OK, &doc)
}
