//! Output-length limits over loopback: a request for an absurd number of tokens gets an
//! OpenAI-style HTTP 400 instead of a reply the mock would have to build in memory, and long
//! replies that are allowed arrive as a stream of frames generated as they are sent.
//!
//! The client is a few lines of raw HTTP/1.1, so nothing here depends on aiperf's own client.

use aiperf_mock_server::{start, MockConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Reply {
    status: u16,
    /// Body chunks as the server framed them (chunked transfer encoding), or one.
    chunks: Vec<Vec<u8>>,
}

impl Reply {
    fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body()).expect("a JSON body")
    }
}

/// POSTs `body` to `path` and reads the whole response (the connection is closed after it).
async fn post(addr: std::net::SocketAddr, path: &str, body: &Value) -> Reply {
    let body = body.to_string();
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n\
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
    let chunks = if head.contains("transfer-encoding: chunked") {
        let mut chunks = Vec::new();
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").expect("size");
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap(), 16)
                .expect("hex size");
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            chunks.push(rest[..size].to_vec());
            rest = &rest[size + 2..];
        }
        chunks
    } else {
        vec![rest.to_vec()]
    };
    Reply { status, chunks }
}

fn fast() -> MockConfig {
    MockConfig::for_tests(0.0, 0.0)
}

#[tokio::test]
async fn too_many_tokens_is_an_openai_style_400() {
    let mock = start(fast()).await.unwrap();
    let msgs = json!([{"role": "user", "content": "hi"}]);
    for (path, body) in [
        (
            "/v1/chat/completions",
            json!({"model": "m", "messages": msgs, "max_completion_tokens": 1_000_001}),
        ),
        // Used to be truncated to 32 bits: 2^32 + 5 asked for 5 tokens.
        (
            "/v1/chat/completions",
            json!({"model": "m", "messages": msgs, "max_tokens": 4_294_967_301u64, "stream": true}),
        ),
        (
            "/v1/completions",
            json!({"model": "m", "prompt": "hi", "max_tokens": u64::MAX}),
        ),
    ] {
        let r = post(mock.addr, path, &body).await;
        assert_eq!(r.status, 400, "{body}");
        let err = &r.json()["error"];
        assert_eq!(err["type"], "invalid_request_error", "{err}");
        assert_eq!(err["code"], 400);
        let msg = err["message"].as_str().unwrap();
        assert!(msg.contains("at most 1000000 per request"), "{msg}");
    }
    for bad in [json!(-1), json!("many"), json!(1.5)] {
        let body = json!({"model": "m", "messages": msgs, "max_completion_tokens": bad});
        let r = post(mock.addr, "/v1/chat/completions", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'max_completion_tokens' must be a non-negative integer"));
    }
    // The mock is still serving.
    let r = post(
        mock.addr,
        "/v1/chat/completions",
        &json!({"model": "m", "messages": msgs, "max_tokens": 3}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["usage"]["completion_tokens"], 3);
    mock.stop().await;
}

#[tokio::test]
async fn the_limit_is_configurable_and_long_replies_arrive_in_frames() {
    let mock = start(MockConfig {
        max_output_tokens: 50_000,
        ..fast()
    })
    .await
    .unwrap();
    let msgs = json!([{"role": "user", "content": "hi"}]);
    let over = post(
        mock.addr,
        "/v1/chat/completions",
        &json!({"model": "m", "messages": msgs, "max_tokens": 50_001}),
    )
    .await;
    assert_eq!(over.status, 400);

    // A whole-body reply at the limit: valid JSON, every token, written in several frames.
    let r = post(
        mock.addr,
        "/v1/completions",
        &json!({"model": "m", "prompt": "hi", "max_tokens": 50_000}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.chunks.len() > 1, "one {} byte frame", r.body().len());
    let doc = r.json();
    assert_eq!(doc["usage"]["completion_tokens"], 50_000);
    let text = doc["choices"][0]["text"].as_str().unwrap();
    assert!(text.len() > 50_000, "{} bytes of text", text.len());

    // A streamed one: one event per token, then [DONE], in several frames.
    let r = post(
        mock.addr,
        "/v1/chat/completions",
        &json!({"model": "m", "messages": msgs, "max_tokens": 20_000, "stream": true}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.chunks.len() > 1);
    let body = String::from_utf8(r.body()).unwrap();
    let events: Vec<&str> = body
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let tokens = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter(|e| e["choices"][0]["delta"].get("content").is_some())
        .count();
    // The preamble carries an empty content delta too.
    assert_eq!(tokens, 20_001);
    mock.stop().await;
}
