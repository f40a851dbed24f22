//! Every endpoint type end to end over loopback: the exact body the mock received (a golden
//! written out here, independent of the client's payload code), the path, and what the run
//! made of the answers (content parsed, token counts, metrics, no errors).

use std::path::Path;

use crate::common::*;
use aiperf_dataset::TextTokenizer;
use aiperf_mock_server::{MockConfig, MockHandle, RecordedRequest};
use serde_json::{json, Value};

/// A 1x1 PNG and an empty 8 kHz WAV clip, inline so bodies are exact.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const WAV: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=";
const PROMPT: &str = "Tell me a short story about a lighthouse";
const REQUESTS: usize = 3;

fn requests_to(mock: &MockHandle, path: &str) -> Vec<RecordedRequest> {
    let mut r: Vec<RecordedRequest> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect();
    r.sort_by_key(|r| r.arrived);
    r
}

/// Runs `--endpoint-type <kind>` on a dataset of identical `line`s, with the options `extra`
/// adds; returns the per-record JSONL lines and the summary JSON.
async fn run(
    mock: &MockHandle,
    dir: &Path,
    kind: &str,
    line: &Value,
    extra: impl FnOnce(Profile) -> Profile,
) -> (Vec<Value>, Value) {
    let file = dir.join("data.jsonl");
    let text: String = (0..REQUESTS).map(|_| format!("{line}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let file = file.display().to_string();
    let url = mock.url();
    let custom_type = if line.get("payload").is_some() {
        "mooncake_trace"
    } else {
        "single_turn"
    };
    let base = Profile::new("mock-model", &url)
        .endpoint(kind)
        .input_file(&file, custom_type)
        .arg("--dataset-sampling-strategy", "sequential")
        .request_count(3)
        .concurrency(1);
    let out = extra(base).run(&dir.join("run")).await.unwrap();
    let records = read_jsonl(dir.join("run/profile_export.jsonl"));
    let errors: Vec<&Value> = records.iter().filter_map(|r| r.get("error")).collect();
    assert!(errors.is_empty(), "{kind}: {errors:?}");
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, REQUESTS as u64, 0),
        "{kind}"
    );
    assert_eq!(records.len(), REQUESTS, "{kind}");
    (
        records,
        read_json(dir.join("run/profile_export_aiperf.json")),
    )
}

fn metric(record: &Value, tag: &str) -> f64 {
    record["metrics"][tag]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("{tag} missing in {}", record["metrics"]))
}

fn isl_of(texts: &[&str]) -> f64 {
    TextTokenizer::builtin().unwrap().count(&texts.join(" ")) as f64
}

/// A token-producing endpoint: exact body, 8 output tokens per record (the mock answers with
/// exactly `output_length` real tokens), ISL of the prompt, TTFT at least the mock's.
async fn check_llm(kind: &str, path: &str, streaming: bool, want_body: Value) {
    let mock = mock_with(MockConfig::for_tests(15.0, 1.0)).await;
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"text": PROMPT, "output_length": 8});
    let extra = |p: Profile| p.flag_if(streaming, "--streaming");
    let (records, summary) = run(&mock, dir.path(), kind, &line, extra).await;
    let got = requests_to(&mock, path);
    assert_eq!(got.len(), REQUESTS, "{kind}: requests to {path}");
    assert_eq!(got[0].json().unwrap(), want_body, "{kind}: body");
    for r in &records {
        assert_eq!(metric(r, "output_sequence_length"), 8.0, "{kind}");
        assert_eq!(
            metric(r, "input_sequence_length"),
            isl_of(&[PROMPT]),
            "{kind}"
        );
        assert!(metric(r, "request_latency") >= 15.0 + 7.0, "{kind}");
        if streaming {
            assert!(metric(r, "time_to_first_token") >= 15.0, "{kind}");
            let itl = metric(r, "decode_duration") / 7.0;
            assert_close(metric(r, "inter_token_latency"), itl, 1e-6, kind);
        }
    }
    assert_eq!(summary["output_sequence_length"]["avg"], 8.0, "{kind}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streaming() {
    check_llm(
        "chat",
        "/v1/chat/completions",
        true,
        json!({"messages": [{"role": "user", "content": PROMPT}], "model": "mock-model",
            "stream": true, "max_completion_tokens": 8, "stream_options": {"include_usage": true}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_non_streaming() {
    check_llm(
        "completions",
        "/v1/completions",
        false,
        json!({"prompt": PROMPT, "model": "mock-model", "stream": false, "max_tokens": 8}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_streaming_and_not() {
    let want = |stream: bool| {
        json!({"input": [{"type": "message", "role": "user", "content": PROMPT}],
            "model": "mock-model", "stream": stream, "max_output_tokens": 8})
    };
    check_llm("responses", "/v1/responses", true, want(true)).await;
    check_llm("responses", "/v1/responses", false, want(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_streaming_and_not() {
    let want = |stream: bool| {
        json!({"model": "mock-model", "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": 8, "stream": stream})
    };
    check_llm("messages", "/v1/messages", true, want(true)).await;
    check_llm("messages", "/v1/messages", false, want(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huggingface_generate_both_paths() {
    let want = json!({"inputs": PROMPT, "parameters": {"max_new_tokens": 8}});
    check_llm(
        "huggingface_generate",
        "/generate_stream",
        true,
        want.clone(),
    )
    .await;
    check_llm("huggingface_generate", "/generate", false, want).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solido_rag_streaming() {
    // Solido takes no output length, so the mock's default (64 tokens) comes back; it streams
    // because the request accepts text/event-stream.
    let mock = mock(5.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"text": PROMPT});
    let (records, _) = run(&mock, dir.path(), "solido_rag", &line, Profile::streaming).await;
    let got = requests_to(&mock, "/rag/api/prompt");
    assert_eq!(
        got[0].json().unwrap(),
        json!({"query": [PROMPT], "filters": {"family": "Solido", "tool": "SDE"},
            "inference_model": "mock-model"})
    );
    for r in &records {
        assert_eq!(metric(r, "output_sequence_length"), 64.0);
        assert!(metric(r, "time_to_first_token") >= 5.0);
    }
}

/// A non-token endpoint: exact body, no token metrics, latency at least the mock's delay.
async fn check_plain(kind: &str, path: &str, line: Value, want_body: Value, isl: Option<f64>) {
    let mock = mock(12.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let (records, summary) = run(&mock, dir.path(), kind, &line, |p| p).await;
    let got = requests_to(&mock, path);
    assert_eq!(got.len(), REQUESTS, "{kind}: requests to {path}");
    assert_eq!(got[0].json().unwrap(), want_body, "{kind}: body");
    for r in &records {
        assert!(metric(r, "request_latency") >= 12.0, "{kind}");
        assert!(
            r["metrics"].get("output_sequence_length").is_none(),
            "{kind}"
        );
        match isl {
            Some(n) => assert_eq!(metric(r, "input_sequence_length"), n, "{kind}"),
            None => assert!(
                r["metrics"].get("input_sequence_length").is_none(),
                "{kind}"
            ),
        }
    }
    assert!(summary["request_throughput"]["avg"].as_f64().unwrap() > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_family() {
    let texts = json!({"texts": ["alpha beta", "gamma"]});
    check_plain(
        "embeddings",
        "/v1/embeddings",
        texts.clone(),
        json!({"model": "mock-model", "input": ["alpha beta", "gamma"]}),
        Some(isl_of(&["alpha beta", "gamma"])),
    )
    .await;
    check_plain(
        "nim_embeddings",
        "/v1/embeddings",
        texts,
        json!({"model": "mock-model", "input": ["alpha beta", "gamma"]}),
        Some(isl_of(&["alpha beta", "gamma"])),
    )
    .await;
    let uri = format!("data:image/png;base64,{PNG}");
    check_plain(
        "chat_embeddings",
        "/v1/embeddings",
        json!({"text": "a red dot", "image": uri}),
        json!({"model": "mock-model", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "a red dot"}, {"type": "image_url", "image_url": {"url": uri}}]}],
            "encoding_format": "float"}),
        Some(isl_of(&["a red dot"])),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rankings_family() {
    let line = json!({"texts": [{"name": "query", "contents": ["what is a lighthouse?"]},
        {"name": "passages", "contents": ["a tower with a lamp", "a kind of bird"]}]});
    let isl = Some(isl_of(&[
        "what is a lighthouse?",
        "a tower with a lamp",
        "a kind of bird",
    ]));
    check_plain(
        "nim_rankings",
        "/v1/ranking",
        line.clone(),
        json!({"model": "mock-model", "query": {"text": "what is a lighthouse?"},
            "passages": [{"text": "a tower with a lamp"}, {"text": "a kind of bird"}]}),
        isl,
    )
    .await;
    check_plain(
        "hf_tei_rankings",
        "/rerank",
        line.clone(),
        json!({"query": "what is a lighthouse?", "texts": ["a tower with a lamp", "a kind of bird"]}),
        isl,
    )
    .await;
    check_plain(
        "cohere_rankings",
        "/v2/rerank",
        line,
        json!({"model": "mock-model", "query": "what is a lighthouse?",
            "documents": ["a tower with a lamp", "a kind of bird"]}),
        isl,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_generation_and_retrieval() {
    check_plain(
        "image_generation",
        "/v1/images/generations",
        json!({"text": "a lighthouse at dusk"}),
        json!({"prompt": "a lighthouse at dusk", "model": "mock-model",
            "response_format": "b64_json", "n": 1}),
        Some(isl_of(&["a lighthouse at dusk"])),
    )
    .await;
    let uri = format!("data:image/png;base64,{PNG}");
    check_plain(
        "image_retrieval",
        "/v1/infer",
        json!({"image": uri}),
        json!({"input": [{"type": "image_url", "url": uri}]}),
        None,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_generation_streams_partial_images() {
    let mock = mock(8.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"text": "a lighthouse"});
    let (records, _) = run(
        &mock,
        dir.path(),
        "image_generation",
        &line,
        Profile::streaming,
    )
    .await;
    let got = requests_to(&mock, "/v1/images/generations");
    assert_eq!(got[0].json().unwrap()["stream"], true);
    for r in &records {
        assert!(metric(r, "request_latency") >= 8.0);
    }
}

/// `(name, Some((filename, content type)) for files, data)`.
type FormField<'a> = (&'a str, Option<(&'a str, &'a str)>, Vec<u8>);

/// The multipart body a form with these fields must be, built here from the boundary the
/// request declared: text fields, then files.
fn multipart_body(r: &RecordedRequest, fields: &[FormField<'_>]) -> Vec<u8> {
    let ct = r.header("content-type").unwrap();
    let boundary = ct.split("boundary=").nth(1).unwrap();
    let mut out = Vec::new();
    for (name, file, data) in fields {
        out.extend(format!("--{boundary}\r\n").bytes());
        match file {
            Some((filename, mime)) => out.extend(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n").bytes(),
            ),
            None => out.extend(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").bytes()),
        }
        out.extend(data);
        out.extend(b"\r\n");
    }
    out.extend(format!("--{boundary}--\r\n").bytes());
    out
}

fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_image_edit_and_transcription() {
    let mock = mock(6.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"text": "make it blue", "image": format!("data:image/png;base64,{PNG}")});
    let (records, _) = run(&mock, dir.path(), "image_edit", &line, |p| p).await;
    let got = requests_to(&mock, "/v1/images/edits");
    assert_eq!(got.len(), REQUESTS);
    assert!(got[0]
        .header("content-type")
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    let want = multipart_body(
        &got[0],
        &[
            ("image", Some(("image.png", "image/png")), b64(PNG)),
            ("prompt", None, b"make it blue".to_vec()),
            ("model", None, b"mock-model".to_vec()),
            ("n", None, b"1".to_vec()),
            ("response_format", None, b"b64_json".to_vec()),
        ],
    );
    assert_eq!(got[0].body.as_ref(), want.as_slice());
    assert!(metric(&records[0], "request_latency") >= 6.0);
    // inputs.json shows the form fields as JSON.
    let inputs = read_json(dir.path().join("run/inputs.json"));
    assert_eq!(inputs["data"][0]["payloads"][0]["prompt"], "make it blue");

    let dir = tempfile::tempdir().unwrap();
    let line = json!({"audio": format!("wav,{WAV}")});
    run(&mock, dir.path(), "audio_transcription", &line, |p| p).await;
    let got = requests_to(&mock, "/v1/audio/transcriptions");
    assert_eq!(got.len(), REQUESTS);
    let want = multipart_body(
        &got[0],
        &[
            ("file", Some(("audio.wav", "audio/wav")), b64(WAV)),
            ("model", None, b"mock-model".to_vec()),
            ("response_format", None, b"json".to_vec()),
        ],
    );
    assert_eq!(got[0].body.as_ref(), want.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_generation_polls_the_job_to_completion() {
    // The mock finishes a job ttft + itl * 64 = 20 + 64 = 84 ms after submission.
    let mock = mock(20.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"text": "a lighthouse in a storm"});
    let (records, _) = run(&mock, dir.path(), "video_generation", &line, |p| {
        p.arg("--job-poll-interval", 0.01)
            .flag("--download-video-content")
    })
    .await;
    let submits = requests_to(&mock, "/v1/videos");
    assert_eq!(submits.len(), REQUESTS);
    let all = mock.requests();
    for (k, r) in records.iter().enumerate() {
        assert!(metric(r, "request_latency") >= 84.0, "{k}");
        let id = format!("video_mock_{}", k);
        let polls = all
            .iter()
            .filter(|q| q.method == "GET" && q.path == format!("/v1/videos/{id}"))
            .count();
        assert!(polls >= 2, "job {id} polled {polls} times");
        let content = all
            .iter()
            .filter(|q| q.path == format!("/v1/videos/{id}/content"))
            .count();
        assert_eq!(content, 1, "job {id} content fetched once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_sends_verbatim_payloads() {
    let mock = mock(5.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let payload = json!({"model": "my-own", "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 8, "temperature": 0.3});
    let line = json!({"payload": payload});
    let (records, _) = run(&mock, dir.path(), "raw", &line, |p| {
        p.arg("--custom-endpoint", "/v1/chat/completions")
    })
    .await;
    let got = requests_to(&mock, "/v1/chat/completions");
    assert_eq!(got.len(), REQUESTS);
    assert_eq!(got[0].json().unwrap(), payload);
    for r in &records {
        assert_eq!(metric(r, "output_sequence_length"), 8.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_key_goes_in_x_api_key() {
    let mock = mock(1.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"text": "hi", "output_length": 2});
    run(&mock, dir.path(), "messages", &line, |p| {
        p.arg("--api-key", "sk-ant-secret")
    })
    .await;
    let got = requests_to(&mock, "/v1/messages");
    assert_eq!(got[0].header("x-api-key"), Some("sk-ant-secret"));
    assert_eq!(got[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(got[0].header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_multi_turn_chains_previous_response_id() {
    let mock = mock(2.0, 0.2).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("conv.jsonl");
    std::fs::write(
        &file,
        r#"{"session_id": "c1", "turns": [{"role": "system", "text": "Be terse."}, {"text": "first question", "output_length": 4}, {"text": "second question", "output_length": 3}]}
"#,
    )
    .unwrap();
    let file = file.display().to_string();
    let url = mock.url();
    for streaming in [false, true] {
        let run = dir.path().join(format!("run{streaming}"));
        let out = Profile::new("mock-model", &url)
            .endpoint("responses")
            .input_file(&file, "multi_turn")
            .arg("--conversation-num", 1)
            .flag_if(streaming, "--streaming")
            .run(&run)
            .await
            .unwrap();
        assert_eq!(
            (out.exit_code, out.request_count, out.error_count),
            (0, 2, 0)
        );
        let got = requests_to(&mock, "/v1/responses");
        let (first, second) = (
            got[got.len() - 2].json().unwrap(),
            got[got.len() - 1].json().unwrap(),
        );
        assert_eq!(first["instructions"], "Be terse.");
        assert!(first.get("previous_response_id").is_none());
        // The second turn names the first response and sends only its own input.
        let first_id = format!("resp_mock-{}", if streaming { 2 } else { 0 });
        assert_eq!(
            second["previous_response_id"],
            first_id.as_str(),
            "{second}"
        );
        assert_eq!(
            second["input"],
            json!([{"type": "message", "role": "user", "content": "second question"}])
        );
        // ISL of the second turn still counts the whole conversation the server holds.
        let records = read_jsonl(run.join("profile_export.jsonl"));
        let isl: Vec<f64> = records
            .iter()
            .map(|r| metric(r, "input_sequence_length"))
            .collect();
        assert!(isl[1] > isl[0], "{isl:?}");
    }
}

/// Reasoning comes back as each API's thinking deltas (or blocks) and is counted apart from
/// the output: 3 of 8 tokens reasoning, 5 output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasoning_is_counted_separately_on_every_api() {
    let mock = mock_with(MockConfig {
        reasoning_tokens: 3,
        ..MockConfig::for_tests(2.0, 0.3)
    })
    .await;
    let line = json!({"text": PROMPT, "output_length": 8});
    for kind in ["chat", "responses", "messages"] {
        for streaming in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let extra = |p: Profile| p.flag_if(streaming, "--streaming");
            let (records, _) = run(&mock, dir.path(), kind, &line, extra).await;
            for r in &records {
                let what = format!("{kind} streaming={streaming}: {}", r["metrics"]);
                assert_eq!(metric(r, "reasoning_token_count"), 3.0, "{what}");
                assert_eq!(metric(r, "output_token_count"), 5.0, "{what}");
                assert_eq!(metric(r, "output_sequence_length"), 8.0, "{what}");
            }
        }
    }
}
