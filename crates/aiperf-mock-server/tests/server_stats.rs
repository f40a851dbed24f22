//! What the mock sends for the server-reported metrics, over loopback: vLLM's
//! `metrics.speculative_decoding` (whole body and trailing usage chunk), SGLang's video job
//! stats, and vLLM's context-window refusal. The client is raw HTTP/1.1, independent of
//! aiperf's own.

use aiperf_mock_server::{start, MockConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one request (`Connection: close`) and returns its status and de-chunked body.
async fn send(addr: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write head");
    s.write_all(body.as_bytes()).await.expect("write body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().expect("a status code");
    let mut rest = &raw[split + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return (status, String::from_utf8_lossy(rest).into_owned());
    }
    let mut body = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n").expect("size");
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap(), 16)
            .expect("hex size");
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn post(addr: std::net::SocketAddr, path: &str, body: &Value) -> (u16, String) {
    send(addr, "POST", path, &body.to_string()).await
}

fn spec_config(k: u32, p: f64, detailed: bool) -> MockConfig {
    MockConfig {
        num_speculative_tokens: k,
        spec_acceptance_prob: p,
        spec_decode_detailed: detailed,
        ..MockConfig::for_tests(0.0, 0.0)
    }
}

/// The `data:` payloads of an SSE body, `[DONE]` left out.
fn events(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("JSON event"))
        .collect()
}

#[tokio::test]
async fn spec_decode_stats_ride_at_the_response_root() {
    let mock = start(spec_config(3, 1.0, true)).await.unwrap();
    // Whole body, 9 tokens, every draft accepted: 8 after the prefill = 4 + 4 (2 steps of 3).
    let (status, body) = post(
        mock.addr,
        "/v1/chat/completions",
        &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 9}),
    )
    .await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        doc["metrics"]["speculative_decoding"],
        json!({"mean_acceptance_length": 4.0, "draft_acceptance_rate": 1.0,
            "acceptance_histogram": [0, 0, 0, 2], "num_spec_steps": 2,
            "num_accepted_draft_tokens": 6, "num_draft_tokens": 6, "num_spec_tokens": 3,
            "per_step_accepted": [3, 3], "per_step_drafted": [3, 3]})
    );
    // Streamed completions: only on the trailing usage chunk (choices empty).
    let (_, body) = post(
        mock.addr,
        "/v1/completions",
        &json!({"model": "m", "prompt": "hi", "max_tokens": 3, "stream": true,
            "stream_options": {"include_usage": true}}),
    )
    .await;
    let ev = events(&body);
    let last = ev.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 3);
    // 2 tokens after the prefill: one step accepting 1 of 3 (the reply has no room for more).
    assert_eq!(
        last["metrics"]["speculative_decoding"]["acceptance_histogram"],
        json!([0, 1, 0, 0])
    );
    assert!(ev[..ev.len() - 1]
        .iter()
        .all(|e| e.get("metrics").is_none()));
    // Not on other APIs.
    let (_, body) = post(
        mock.addr,
        "/v1/responses",
        &json!({"model": "m", "input": "hi", "max_output_tokens": 3}),
    )
    .await;
    assert!(!body.contains("speculative_decoding"), "{body}");
    mock.stop().await;
    // Off by default.
    let plain = start(MockConfig::for_tests(0.0, 0.0)).await.unwrap();
    let (_, body) = post(
        plain.addr,
        "/v1/completions",
        &json!({"model": "m", "prompt": "hi", "max_tokens": 3}),
    )
    .await;
    assert!(!body.contains("metrics"), "{body}");
}

#[tokio::test]
async fn spec_acceptance_is_seeded_per_request() {
    let draw = |seed: u64| async move {
        let mock = start(MockConfig {
            random_seed: seed,
            ..spec_config(4, 0.5, false)
        })
        .await
        .unwrap();
        let mut out = Vec::new();
        for _ in 0..3 {
            let (_, body) = post(
                mock.addr,
                "/v1/completions",
                &json!({"model": "m", "prompt": "hi", "max_tokens": 40}),
            )
            .await;
            let doc: Value = serde_json::from_str(&body).unwrap();
            out.push(doc["metrics"]["speculative_decoding"].clone());
        }
        mock.stop().await;
        out
    };
    let a = draw(1).await;
    assert_eq!(a, draw(1).await, "the same seed repeats");
    assert_ne!(a, draw(2).await, "another seed draws anew");
    for p in &a {
        let steps = p["num_spec_steps"].as_u64().unwrap();
        let accepted = p["num_accepted_draft_tokens"].as_u64().unwrap();
        assert_eq!(steps + accepted, 39, "{p}");
        assert_eq!(p["num_draft_tokens"].as_u64().unwrap(), 4 * steps);
    }
}

#[tokio::test]
async fn finished_video_jobs_carry_sglang_stats() {
    // A job takes ttft + itl * 64 = 2 + 64 * 0.5 = 34 ms.
    let mock = start(MockConfig {
        video_peak_memory_mb: Some(512.0),
        ..MockConfig::for_tests(2.0, 0.5)
    })
    .await
    .unwrap();
    let boundary = "XyZ";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n--{boundary}--\r\n"
    );
    let mut s = TcpStream::connect(mock.addr).await.unwrap();
    let head = format!(
        "POST /v1/videos HTTP/1.1\r\nHost: mock\r\nContent-Type: multipart/form-data; \
         boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        form.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(form.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    assert!(raw.contains("\"status\":\"queued\""), "{raw}");
    assert!(
        !raw.contains("peak_memory_mb"),
        "not before it is done: {raw}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    let (status, body) = send(mock.addr, "GET", "/v1/videos/video_mock_0", "").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["status"], "completed");
    assert_eq!(doc["inference_time_s"], 0.034);
    assert_eq!(doc["peak_memory_mb"], 512.0);
}

#[tokio::test]
async fn prompts_beyond_max_model_len_get_vllms_400() {
    // Without a tokenizer a token is 4 characters (rounded up): "abc abc abc" is 3 tokens.
    let mock = start(MockConfig {
        tokenizer: "none".into(),
        max_model_len: Some(4),
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await
    .unwrap();
    let chat = |text: &str, max: Option<u64>| {
        let mut b = json!({"model": "m", "messages": [{"role": "user", "content": text}]});
        if let Some(m) = max {
            b["max_tokens"] = json!(m);
        }
        b
    };
    let (status, body) = post(
        mock.addr,
        "/v1/chat/completions",
        &chat("abc abc abc abc abc", None),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"error": {"message": "This model's maximum context length is 4 tokens. However, \
            your request has 5 input tokens. Please reduce the length of the input messages.",
            "type": "BadRequestError", "param": null, "code": 400}})
    );
    let (status, body) = post(
        mock.addr,
        "/v1/chat/completions",
        &chat("abc abc abc", Some(2)),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("'max_tokens' or 'max_completion_tokens' is too large: 2. This model's maximum context length is 4 tokens and your request has 3 input tokens (2 > 4 - 3)."),
        "{body}"
    );
    let (status, _) = post(
        mock.addr,
        "/v1/chat/completions",
        &chat("abc abc abc", Some(1)),
    )
    .await;
    assert_eq!(status, 200, "3 + 1 fits in 4");
    let (status, _) = post(
        mock.addr,
        "/v1/completions",
        &json!({"model": "m", "prompt": "abc abc abc abc abc"}),
    )
    .await;
    assert_eq!(status, 400);
}
