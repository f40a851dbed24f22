//! Reliability: every injected server fault becomes exactly the expected records, and every
//! artifact is still written and valid.

use std::collections::HashMap;

use crate::common::*;
use aiperf_mock_server::MockConfig;
use serde_json::Value;

fn faulty(faults: &[&str]) -> MockConfig {
    MockConfig {
        faults: faults.iter().map(|f| f.to_string()).collect(),
        ..MockConfig::for_tests(0.0, 0.0)
    }
}

/// (code, type) -> count, from the summary's error_summary.
fn error_counts(s: &Value) -> HashMap<(Option<u64>, String), u64> {
    s["error_summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let d = &e["error_details"];
            (
                (d["code"].as_u64(), d["type"].as_str().unwrap().to_string()),
                e["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Runs the client with the options `extra` adds and checks the artifacts agree with each
/// other; returns the summary.
async fn run(
    mock: &aiperf_mock_server::MockHandle,
    extra: impl FnOnce(Profile) -> Profile,
) -> (Value, Vec<Value>, aiperf_engine::RunOutcome) {
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let base = Profile::new("m", &url).isl(8).osl(6).seed(1);
    let out = extra(base).run(dir.path()).await.unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(
        lines.len() as u64,
        out.request_count + out.error_count,
        "one JSONL line per request"
    );
    assert_eq!(
        lines.iter().filter(|l| l.get("error").is_some()).count() as u64,
        out.error_count
    );
    assert!(dir.path().join("profile_export_aiperf.csv").is_file());
    (s, lines, out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_status_faults_are_counted_by_code() {
    let mock = mock_with(faulty(&["http:503@5", "http:429@4", "http:500@7"])).await;
    let (s, _, out) = run(&mock, |p| p.streaming().concurrency(3).request_count(28)).await;
    // Of requests 1..28: every 5th -> 503 (5 requests); every 4th not 5th -> 429 (6: 4,8,12,16,24,28);
    // every 7th not yet taken -> 500 (7, 14, 21).
    let e = error_counts(&s);
    assert_eq!(e[&(Some(503), "Service Unavailable".to_string())], 5);
    assert_eq!(e[&(Some(429), "Too Many Requests".to_string())], 6);
    assert_eq!(e[&(Some(500), "Internal Server Error".to_string())], 3);
    assert_eq!((out.error_count, out.request_count), (14, 14));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_before_and_during_the_response() {
    let mock = mock_with(faulty(&["reset@4"])).await;
    let (s, lines, out) = run(&mock, |p| p.streaming().concurrency(2).request_count(12)).await;
    assert_eq!(out.error_count, 3);
    // Reset before the first byte: nothing arrived, so no partial response.
    assert!(lines
        .iter()
        .filter(|l| l.get("error").is_some())
        .all(|l| l["metadata"].get("partial_response").is_none()));
    let e = error_counts(&s);
    assert_eq!(e.len(), 1, "one stable error type: {e:?}");
    assert!(
        e.keys().all(|(code, _)| code.is_none()),
        "no HTTP status: {e:?}"
    );
    mock.stop().await;

    let mock = mock_with(MockConfig {
        faults: vec!["reset_mid_stream@3".into()],
        ..MockConfig::for_tests(1.0, 1.0)
    })
    .await;
    let (s, lines, out) = run(&mock, |p| p.streaming().concurrency(2).request_count(9)).await;
    assert_eq!((out.error_count, out.request_count), (3, 6));
    assert_eq!(error_counts(&s).len(), 1);
    let failed: Vec<&Value> = lines.iter().filter(|l| l.get("error").is_some()).collect();
    assert!(
        failed
            .iter()
            .all(|l| l["error"]["message"].as_str().unwrap().contains("body")),
        "{failed:?}"
    );
    // Reset mid-stream: the head and whatever events arrived keep their timings, inside the
    // request's span. (The reset may overtake the buffered first events, so a record can have
    // the head and no reads.)
    for l in &failed {
        let m = &l["metadata"];
        let p = &m["partial_response"];
        assert_eq!(p["status"], 200, "{l}");
        let (start, end) = (
            m["request_start_ns"].as_u64().unwrap(),
            m["request_end_ns"].as_u64().unwrap(),
        );
        let head = p["response_head_ns"].as_u64().unwrap();
        assert!(start <= head && head <= end, "{l}");
        let reads = p["chunks_received"].as_u64().unwrap();
        if reads == 0 {
            assert_eq!(p["bytes_received"], 0, "{l}");
            assert!(
                p["first_chunk_ns"].is_null() && p["last_chunk_ns"].is_null(),
                "{l}"
            );
        } else {
            assert!(p["bytes_received"].as_u64().unwrap() > 0, "{l}");
            let (first, last) = (
                p["first_chunk_ns"].as_u64().unwrap(),
                p["last_chunk_ns"].as_u64().unwrap(),
            );
            assert!(head <= first && first <= last && last <= end, "{l}");
        }
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalls_hit_the_request_timeout() {
    let mock = mock_with(faulty(&["stall:30@2"])).await;
    let started = std::time::Instant::now();
    let (s, _, out) = run(&mock, |p| {
        p.concurrency(2)
            .request_count(4)
            .arg("--request-timeout-seconds", 0.5)
    })
    .await;
    assert!(
        started.elapsed().as_secs() < 10,
        "timeouts are enforced per request"
    );
    assert_eq!((out.error_count, out.request_count), (2, 2));
    assert_eq!(
        error_counts(&s)[&(None, "RequestTimeoutError".to_string())],
        2
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_events_inside_a_200_stream() {
    let mock = mock_with(faulty(&["error_event@2"])).await;
    let (s, _, out) = run(&mock, |p| p.streaming().request_count(6)).await;
    assert_eq!(out.error_count, 3);
    assert_eq!(
        error_counts(&s)[&(Some(502), "SSEResponseError".to_string())],
        3
    );
    assert_eq!(
        s["error_summary"][0]["error_details"]["message"],
        "injected error event"
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerated_stream_defects_are_successes_and_marked() {
    // Malformed lines and broken JSON chunks are skipped (as AIPerf does): tokens still count.
    let mock = mock_with(faulty(&["malformed_sse@2", "invalid_json@3"])).await;
    let (s, _, out) = run(&mock, |p| p.streaming().request_count(6)).await;
    assert_eq!((out.error_count, out.request_count), (0, 6));
    assert_eq!(stat(&s, "output_sequence_length", "min"), 6.0);
    mock.stop().await;
    // A stream without [DONE] keeps its measurements and is marked partial.
    let mock = mock_with(faulty(&["no_done@2"])).await;
    let (_, lines, out) = run(&mock, |p| p.streaming().request_count(6)).await;
    assert_eq!(out.error_count, 0);
    let marked = lines
        .iter()
        .filter(|l| l["metadata"]["stream_incomplete"] == true)
        .count();
    assert_eq!(marked, 3);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_first_byte_and_huge_responses() {
    let mock = mock_with(faulty(&["slow_first_byte:0.3@2"])).await;
    let (s, _, _) = run(&mock, |p| p.streaming().request_count(4)).await;
    assert!(stat(&s, "time_to_first_token", "max") >= 300.0);
    assert!(stat(&s, "time_to_first_token", "min") < 100.0);
    mock.stop().await;
    let mock = mock_with(faulty(&["huge:400000@2"])).await;
    let (s, _, out) = run(&mock, |p| p.request_count(2)).await;
    assert_eq!(out.error_count, 0);
    assert!(stat(&s, "http_req_data_received", "max") > 390.0, "KB");
    assert!(stat(&s, "output_sequence_length", "max") > 100_000.0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_dying_mid_run_is_counted_and_the_run_ends() {
    let mock = mock_with(MockConfig {
        stop_after: Some(10),
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let (s, _, out) = run(&mock, |p| p.concurrency(2).request_count(20)).await;
    assert_eq!((out.request_count, out.error_count), (10, 10));
    assert_eq!(out.exit_code, 0, "some requests succeeded");
    assert_eq!(stat(&s, "error_request_count", "avg"), 10.0);
    mock.stop().await;
}
