//! Transport end to end: HTTPS (rustls) with and without certificate checks, HTTP/2 by ALPN
//! and by prior knowledge, the three connection reuse strategies counted on the mock's side,
//! the session header, and readiness probing of a server that is still loading.

use std::collections::{HashMap, HashSet};

use crate::common::*;
use aiperf_mock_server::{MockConfig, MockHandle, RecordedRequest};

fn posts(mock: &MockHandle) -> Vec<RecordedRequest> {
    let mut r: Vec<RecordedRequest> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    r.sort_by_key(|r| r.arrived);
    r
}

/// The options every run here shares; callers add theirs.
fn args(url: &str) -> Profile {
    Profile::new("mock-model", url)
        .streaming()
        .request_count(6)
        .concurrency(2)
        .arg("--synthetic-input-tokens-mean", 16)
        .arg("--output-tokens-mean", 4)
        .seed(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_insecure_and_http2_by_alpn() {
    let mock = mock_with(MockConfig::for_tests_tls(2.0, 0.5)).await;
    let url = mock.url();
    assert!(url.starts_with("https://"));

    let dir = tempfile::tempdir().unwrap();
    let out = args(&url)
        .flag("--insecure")
        .run(&dir.path().join("h1"))
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 6, 0)
    );
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 6);
    assert!(reqs.iter().all(|r| r.version == "HTTP/1.1"));
    let s = read_json(dir.path().join("h1/profile_export_aiperf.json"));
    assert_eq!(s["output_sequence_length"]["avg"], 4.0);

    let out = args(&url)
        .flag("--insecure")
        .flag("--http2")
        .run(&dir.path().join("h2"))
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 6, 0)
    );
    let h2: Vec<RecordedRequest> = posts(&mock).into_iter().skip(6).collect();
    assert_eq!(h2.len(), 6);
    assert!(h2.iter().all(|r| r.version == "HTTP/2.0"), "ALPN picked h2");
    // Streams share connections: 2 concurrent streams fit on one HTTP/2 connection.
    let conns: HashSet<u64> = h2.iter().map(|r| r.connection).collect();
    assert_eq!(conns.len(), 1, "{conns:?}");
    let s = read_json(dir.path().join("h2/profile_export_aiperf.json"));
    assert_eq!(s["output_sequence_length"]["avg"], 4.0);
    assert!(s["time_to_first_token"]["avg"].as_f64().unwrap() >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_refused_without_insecure() {
    let mock = mock_with(MockConfig::for_tests_tls(1.0, 0.0)).await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let err = args(&url).run(&dir.path().join("run")).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("TLS handshake"), "{msg}");
    assert!(msg.contains(&url), "names the URL: {msg}");
    assert!(
        !dir.path().join("run").exists(),
        "no artifacts for a run that never started"
    );
    assert!(posts(&mock).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_on_plain_http() {
    let mock = mock(1.0, 0.2).await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let out = args(&url)
        .flag("--http2")
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.error_count), (0, 0));
    assert!(posts(&mock).iter().all(|r| r.version == "HTTP/2.0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_reuse_strategies() {
    // pooled: two concurrent requests at a time over at most two connections.
    let m = mock(1.0, 0.2).await;
    let url = m.url();
    let dir = tempfile::tempdir().unwrap();
    args(&url).run(&dir.path().join("pooled")).await.unwrap();
    let pooled: HashSet<u64> = posts(&m).iter().map(|r| r.connection).collect();
    assert!(pooled.len() <= 2, "{pooled:?}");

    // never: every request on its own connection.
    let m = mock(1.0, 0.2).await;
    let url = m.url();
    args(&url)
        .arg("--connection-reuse-strategy", "never")
        .run(&dir.path().join("never"))
        .await
        .unwrap();
    let never: HashSet<u64> = posts(&m).iter().map(|r| r.connection).collect();
    assert_eq!(never.len(), 6);

    // sticky-user-sessions: the turns of one conversation share a connection of their own.
    let m = mock(1.0, 0.2).await;
    let url = m.url();
    Profile::new("mock-model", &url)
        .arg("--conversation-num", 4)
        .arg("--conversation-turn-mean", 3)
        .concurrency(2)
        .arg("--synthetic-input-tokens-mean", 16)
        .arg("--output-tokens-mean", 4)
        .arg("--connection-reuse-strategy", "sticky-user-sessions")
        .arg("--session-header", "X-Session-Affinity")
        .run(&dir.path().join("sticky"))
        .await
        .unwrap();
    let reqs = posts(&m);
    assert_eq!(reqs.len(), 12);
    let mut by_session: HashMap<String, HashSet<u64>> = HashMap::new();
    for r in &reqs {
        assert!(r.header("x-correlation-id").is_none(), "header renamed");
        let session = r.header("x-session-affinity").unwrap().to_string();
        by_session.entry(session).or_default().insert(r.connection);
    }
    assert_eq!(by_session.len(), 4);
    let mut all = HashSet::new();
    for conns in by_session.values() {
        assert_eq!(conns.len(), 1, "one connection per session: {by_session:?}");
        assert!(all.insert(*conns.iter().next().unwrap()), "not shared");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_a_loading_model() {
    let mock = mock_with(MockConfig {
        inference_ready_delay_seconds: 3.0,
        models_ready_delay_seconds: 2.0,
        ..MockConfig::for_tests(1.0, 0.0)
    })
    .await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let out = args(&url)
        .arg("--wait-for-model-timeout", 10)
        .arg("--wait-for-model-interval", 0.1)
        .arg("--wait-for-model-mode", "both")
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 6, 0)
    );
    let all = mock.requests();
    let models = all.iter().filter(|r| r.path == "/v1/models").count();
    assert!(models >= 2, "models probed until ready ({models})");
    let probes: Vec<&RecordedRequest> = all
        .iter()
        .filter(|r| {
            r.header("x-request-id") == Some("aiperf-readiness-probe") && r.method == "POST"
        })
        .collect();
    assert!(probes.len() >= 2, "inference probed until ready");
    let body = probes[0].json().unwrap();
    assert_eq!(body["max_completion_tokens"], 1);
    assert_eq!(body["stream"], false);

    // Not ready in time: a clear error naming the URL, nothing written.
    let mock = mock_with(MockConfig {
        inference_ready_delay_seconds: 30.0,
        ..MockConfig::for_tests(1.0, 0.0)
    })
    .await;
    let url = mock.url();
    let err = args(&url)
        .arg("--wait-for-model-timeout", 0.4)
        .arg("--wait-for-model-interval", 0.1)
        .run(&dir.path().join("late"))
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("was not ready within 0.4 s"), "{msg}");
    assert!(msg.contains("HTTP 503"), "{msg}");
    assert!(!dir.path().join("late").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_urls_share_the_load_round_robin() {
    let (a, b) = (mock(1.0, 0.2).await, mock(1.0, 0.2).await);
    let (ua, ub) = (a.url(), b.url());
    let dir = tempfile::tempdir().unwrap();
    let out = args(&ua)
        .arg("-u", &ub)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 6, 0)
    );
    assert_eq!((posts(&a).len(), posts(&b).len()), (3, 3));
}

/// The mock's own timestamps (`--record-timestamps`) line up with the client's records: one
/// line per request by X-Request-ID, frames in order, and the client saw the first token after
/// the server wrote it (and within a few ms on loopback).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_records_server_side_chunk_times() {
    let dir = tempfile::tempdir().unwrap();
    let stamps = dir.path().join("stamps.jsonl");
    let m = mock_with(MockConfig {
        record_timestamps: Some(stamps.clone()),
        ..MockConfig::for_tests(20.0, 2.0)
    })
    .await;
    let url = m.url();
    let out = args(&url).run(&dir.path().join("run")).await.unwrap();
    assert_eq!((out.exit_code, out.error_count), (0, 0));
    let server: HashMap<String, serde_json::Value> = read_jsonl(stamps)
        .into_iter()
        .map(|l| (l["x_request_id"].as_str().unwrap().to_string(), l))
        .collect();
    let records = read_jsonl(dir.path().join("run/profile_export.jsonl"));
    assert_eq!(records.len(), 6);
    for r in &records {
        let id = r["metadata"]["x_request_id"].as_str().unwrap();
        let s = &server[id];
        let chunks: Vec<u64> = s["chunks_ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        // Role preamble, then 4 tokens (the last with usage and [DONE]); a mock that falls
        // behind sends tokens that are already due in one frame.
        assert!((2..=5).contains(&chunks.len()), "{s}");
        assert!(chunks.windows(2).all(|w| w[0] <= w[1]));
        let arrived = s["arrived_ns"].as_u64().unwrap();
        assert!(
            chunks[1] >= arrived + 20_000_000,
            "first token after the TTFT"
        );
        let start = r["metadata"]["request_start_ns"].as_u64().unwrap();
        let ttft_ns = r["metrics"]["time_to_first_token"]["value"]
            .as_f64()
            .unwrap()
            * 1e6;
        let client_first = start as f64 + ttft_ns;
        let error_ms = (client_first - chunks[1] as f64) / 1e6;
        assert!(
            (-1.0..50.0).contains(&error_ms),
            "client saw the first token {error_ms} ms after the server wrote it"
        );
    }
}

/// An HTTP/2 connection carries at most 100 streams; 150 concurrent streams need two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_opens_another_connection_past_100_streams() {
    let m = mock(400.0, 0.0).await;
    let url = m.url();
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("mock-model", &url)
        .flag("--http2")
        .streaming()
        .concurrency(150)
        .request_count(150)
        .arg("--synthetic-input-tokens-mean", 8)
        .arg("--output-tokens-mean", 2)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.error_count), (0, 0));
    let conns: HashSet<u64> = posts(&m).iter().map(|r| r.connection).collect();
    let mut per: HashMap<u64, usize> = HashMap::new();
    for r in posts(&m) {
        *per.entry(r.connection).or_default() += 1;
    }
    assert_eq!(conns.len(), 2, "{per:?}");
}
