//! The load model over loopback: TTFT and ITL that grow with the requests in flight, a
//! `--capacity` above which requests queue FIFO, slots freed when a client leaves mid-stream,
//! and no change at all with the flags at their defaults.
//!
//! The client is a few lines of raw HTTP/1.1, so nothing here depends on aiperf's own client.
//! The machine running these may be loaded: lower bounds are firm (the mock must never be
//! early), upper bounds are loose or replaced by what the mock reports (`in_flight`, `queued`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aiperf_mock_server::{start, MockConfig, MockHandle};
use clap::Parser;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Timer granularity and scheduling slack allowed below a lower bound.
const SLACK: Duration = Duration::from_millis(2);

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// One response, timed from just before the request was sent.
struct Timed {
    status: u16,
    /// When the first body byte arrived (for a streamed completion: the first token).
    first_byte: Duration,
    /// When the response ended.
    total: Duration,
    /// The body, chunked transfer encoding undone.
    body: Vec<u8>,
}

fn request(path: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// POSTs `body` to `path` and reads the whole response, noting when its body began and ended.
async fn post(addr: SocketAddr, path: &str, body: &Value) -> Timed {
    let sent = Instant::now();
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&request(path, body)).await.expect("write");
    let mut raw = Vec::new();
    let mut first_byte = None;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let got = s.read(&mut buf).await.expect("read");
        if got == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..got]);
        if first_byte.is_none() && head_end(&raw).is_some_and(|end| raw.len() > end) {
            first_byte = Some(sent.elapsed());
        }
    }
    let total = sent.elapsed();
    let end = head_end(&raw).expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let status = head[9..12].parse().expect("a status code");
    let mut rest = &raw[end..];
    let body = if head.contains("transfer-encoding: chunked") {
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
        body
    } else {
        rest.to_vec()
    };
    Timed {
        status,
        first_byte: first_byte.unwrap_or(total),
        total,
        body,
    }
}

/// `count` copies of the same request, sent at once; in the order they were sent.
async fn concurrently(
    addr: SocketAddr,
    path: &'static str,
    body: Value,
    count: usize,
) -> Vec<Timed> {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move { post(addr, path, &body).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        let r = t.await.expect("request task");
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        out.push(r);
    }
    out
}

fn chat(max_tokens: u32) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": max_tokens})
}

/// A streamed completion: its first body bytes are the first token (there is no preamble).
fn streamed(max_tokens: u32) -> Value {
    json!({"model": "m", "prompt": "hi", "max_tokens": max_tokens, "stream": true})
}

/// Waits (up to 5 s) until `cond` holds of the mock.
async fn until(mock: &MockHandle, what: &str, cond: impl Fn(&MockHandle) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond(mock) {
        assert!(
            Instant::now() < deadline,
            "{what}: in flight {}, queued {}",
            mock.in_flight(),
            mock.queued()
        );
        tokio::time::sleep(ms(1)).await;
    }
}

fn load(ttft: f64, itl: f64) -> MockConfig {
    MockConfig::for_tests(ttft, itl)
}

#[test]
fn the_flags_parse_and_default_to_off() {
    let cfg = MockConfig::try_parse_from([
        "aiperf-mock-server",
        "--ttft-per-inflight",
        "12.5",
        "--itl-per-inflight",
        "0.5",
        "--capacity",
        "8",
    ])
    .unwrap();
    assert_eq!(cfg.ttft_per_inflight, 12.5);
    assert_eq!(cfg.itl_per_inflight, 0.5);
    assert_eq!((cfg.capacity, cfg.capacity()), (8, Some(8)));
    for cfg in [MockConfig::default(), MockConfig::for_tests(10.0, 1.0)] {
        assert_eq!(cfg.ttft_per_inflight, 0.0);
        assert_eq!(cfg.itl_per_inflight, 0.0);
        assert_eq!((cfg.capacity, cfg.capacity()), (0, None));
    }
    // --fast zeroes the load terms with the rest of the latencies.
    let fast = MockConfig { fast: true, ..cfg };
    assert_eq!(
        (fast.ttft_per_inflight_ms(), fast.itl_per_inflight_ms()),
        (0.0, 0.0)
    );
}

#[tokio::test]
async fn ttft_grows_with_the_other_requests_in_flight() {
    // TTFT = 10 + 20 * (others in flight): 10 ms alone, 50 ms for each of 3 at once.
    let mock = start(MockConfig {
        ttft_per_inflight: 20.0,
        ..load(10.0, 0.0)
    })
    .await
    .unwrap();
    let loaded = ms(10 + 20 * 2) - SLACK;

    // Whole replies (1 token: latency = TTFT).
    for r in concurrently(mock.addr, "/v1/chat/completions", chat(1), 3).await {
        assert!(r.total >= loaded, "chat under load took {:?}", r.total);
        let doc: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(doc["usage"]["completion_tokens"], 1);
    }
    // Streams: the first token comes at the loaded TTFT.
    for r in concurrently(mock.addr, "/v1/completions", streamed(2), 3).await {
        assert!(r.first_byte >= loaded, "streamed TTFT {:?}", r.first_byte);
    }
    // Non-token APIs wait a TTFT too, under the same law.
    let emb = json!({"model": "m", "input": "hello"});
    for r in concurrently(mock.addr, "/v1/embeddings", emb, 3).await {
        assert!(
            r.total >= loaded,
            "embeddings under load took {:?}",
            r.total
        );
    }
    until(&mock, "all finished", |m| m.in_flight() == 0).await;

    // Alone: only the base TTFT (the best of a few, in case the machine hiccups).
    let mut alone = Duration::MAX;
    for _ in 0..3 {
        let r = post(mock.addr, "/v1/chat/completions", &chat(1)).await;
        assert_eq!(r.status, 200);
        assert!(r.total >= ms(10) - SLACK, "alone took {:?}", r.total);
        alone = alone.min(r.total);
    }
    assert!(
        alone < ms(10 + 20),
        "a request alone should not count itself: {alone:?}"
    );
    assert_eq!(mock.in_flight(), 0);
    mock.stop().await;
}

#[tokio::test]
async fn itl_grows_with_the_other_requests_in_flight() {
    // 5 tokens, each gap 5 + 10 * 2 = 25 ms for 3 streams at once: at least 100 ms after the
    // first token.
    let mock = start(MockConfig {
        itl_per_inflight: 10.0,
        ..load(0.0, 5.0)
    })
    .await
    .unwrap();
    for r in concurrently(mock.addr, "/v1/completions", streamed(5), 3).await {
        let gaps = r.total - r.first_byte;
        assert!(gaps >= ms(4 * 25) - SLACK, "4 gaps took {gaps:?}");
    }
    // Whole replies are paced the same way: 4 gaps of 25 ms.
    for r in concurrently(mock.addr, "/v1/chat/completions", chat(5), 3).await {
        assert!(r.total >= ms(4 * 25) - SLACK, "took {:?}", r.total);
    }
    until(&mock, "all finished", |m| m.in_flight() == 0).await;
    // Alone: 4 gaps of 5 ms.
    let mut alone = Duration::MAX;
    for _ in 0..3 {
        let r = post(mock.addr, "/v1/completions", &streamed(5)).await;
        assert!(r.total >= ms(4 * 5) - SLACK, "alone took {:?}", r.total);
        alone = alone.min(r.total);
    }
    assert!(alone < ms(4 * 15), "alone took {alone:?}");
    mock.stop().await;
}

#[tokio::test]
async fn capacity_serves_requests_one_slot_at_a_time() {
    // One slot; each request takes D = 30 + 2 * 10 = 50 ms, so three sent at once finish
    // D, 2D and 3D after they were sent, and the queued ones see the wait in their TTFT.
    // The load term never applies: the slot holder is always alone.
    let mock = start(MockConfig {
        capacity: 1,
        ttft_per_inflight: 1000.0,
        ..load(30.0, 10.0)
    })
    .await
    .unwrap();
    let d = 50;
    let run = tokio::spawn(concurrently(mock.addr, "/v1/completions", streamed(3), 3));
    until(&mock, "two queued behind one", |m| m.queued() == 2).await;
    let mut most = 0;
    while !run.is_finished() {
        most = most.max(mock.in_flight());
        tokio::time::sleep(ms(1)).await;
    }
    assert_eq!(most, 1, "at most one request is served at a time");
    let mut done = run.await.unwrap();
    done.sort_by_key(|r| r.total);
    for (k, r) in done.iter().enumerate() {
        let k = k as u64;
        assert!(
            r.total >= ms((k + 1) * d) - SLACK,
            "request {k} finished after {:?}",
            r.total
        );
        assert!(
            r.first_byte >= ms(k * d + 30) - SLACK,
            "request {k} got its first token after {:?}",
            r.first_byte
        );
    }
    // Generous: 3 requests of 50 ms with a 1000 ms load term would take seconds.
    assert!(done[2].total < ms(3 * d + 900), "{:?}", done[2].total);
    assert_eq!((mock.in_flight(), mock.queued()), (0, 0));
    mock.stop().await;
}

#[tokio::test]
async fn a_client_leaving_mid_stream_frees_its_slot() {
    // A 1000-token stream at 20 ms a token would hold the only slot for 20 s.
    let mock = start(MockConfig {
        capacity: 1,
        ..load(0.0, 20.0)
    })
    .await
    .unwrap();
    let mut s = TcpStream::connect(mock.addr).await.unwrap();
    s.write_all(&request("/v1/completions", &streamed(1000)))
        .await
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while head_end(&raw).is_none_or(|end| raw.len() <= end) {
        let got = s.read(&mut buf).await.unwrap();
        assert!(got > 0, "the stream ended early");
        raw.extend_from_slice(&buf[..got]);
    }
    assert_eq!(mock.in_flight(), 1);

    // A second request queues behind it, and /metrics says so.
    let addr = mock.addr;
    let second = tokio::spawn(async move { post(addr, "/v1/completions", &streamed(2)).await });
    until(&mock, "the second request queued", |m| m.queued() == 1).await;
    let metrics = String::from_utf8(get(mock.addr, "/metrics").await).unwrap();
    assert!(
        metrics.contains("vllm:num_requests_running{model_name=\"mock-model\",engine=\"0\"} 1.0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vllm:num_requests_waiting{model_name=\"mock-model\",engine=\"0\"} 1.0\n"),
        "{metrics}"
    );

    // The first client leaves: its slot goes to the second request within a couple of tokens.
    let left = Instant::now();
    drop(s);
    let r = second.await.unwrap();
    assert_eq!(r.status, 200);
    assert!(
        left.elapsed() < Duration::from_secs(5),
        "{:?}",
        left.elapsed()
    );
    until(&mock, "nothing in flight", |m| {
        m.in_flight() == 0 && m.queued() == 0
    })
    .await;
    mock.stop().await;
}

/// GETs `path`, the whole body (not chunked: the mock sends small pages with a length).
async fn get(addr: SocketAddr, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let end = head_end(&raw).expect("a head");
    raw[end..].to_vec()
}

#[tokio::test]
async fn defaults_add_no_load_and_no_queue() {
    // Flags at 0: three requests at once are all served at once, each in the base TTFT.
    let mock = start(load(200.0, 0.0)).await.unwrap();
    let run = tokio::spawn(concurrently(mock.addr, "/v1/chat/completions", chat(1), 3));
    until(&mock, "all three in flight at once", |m| m.in_flight() == 3).await;
    assert_eq!(mock.queued(), 0);
    for r in run.await.unwrap() {
        assert!(r.total >= ms(200) - SLACK, "took {:?}", r.total);
        // Loose: served one after another, the last would take 600 ms.
        assert!(r.total < ms(400), "took {:?}", r.total);
    }
    assert_eq!(mock.in_flight(), 0);
    mock.stop().await;
}
