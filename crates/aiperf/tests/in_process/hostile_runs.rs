//! What a hostile run does to the accounting: servers that never answer, interrupts, drain
//! deadlines, random faults and cancellations. Whatever happens, every request sent ends as
//! exactly one record: `requests_sent == ok + errors == JSONL lines`.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use aiperf_engine::{Engine, RunOutcome};
use aiperf_mock_server::MockConfig;
use aiperf_plugins::Registry;
use serde_json::Value;

/// A server that accepts connections and never answers a byte.
async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// Checks the invariant on the artifacts of a finished run; returns (summary, records).
fn assert_every_request_is_one_record(dir: &Path, out: &RunOutcome) -> (Value, Vec<Value>) {
    let s = read_json(dir.join("profile_export_aiperf.json"));
    let lines = read_jsonl(dir.join("profile_export.jsonl"));
    let sent = s["load_report"]["requests_sent"].as_u64().unwrap();
    assert_eq!(
        sent,
        out.request_count + out.error_count,
        "sent == ok + errors"
    );
    assert_eq!(lines.len() as u64, sent, "one JSONL line per request sent");
    assert_eq!(
        lines.iter().filter(|l| l.get("error").is_some()).count() as u64,
        out.error_count
    );
    (s, lines)
}

fn error_messages(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l["error"]["message"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_gives_cancelled_records_and_a_failed_run() {
    let (url, server) = silent_server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &url)
        .streaming()
        .isl(8)
        .osl(4)
        .seed(1)
        .concurrency(3)
        .arg("--benchmark-duration", 1)
        .arg("--benchmark-grace-period", 1)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 1, "no successful request is a failed run");
    assert_eq!((out.request_count, out.error_count), (0, 3));
    let (s, lines) = assert_every_request_is_one_record(dir.path(), &out);
    for l in &lines {
        assert_eq!(l["error"]["code"], 499, "{l}");
        assert_eq!(l["error"]["type"], "RequestCancellationError", "{l}");
    }
    for m in error_messages(&lines) {
        assert!(m.contains("grace-period deadline"), "{m}");
    }
    assert_eq!(s["error_request_count"]["avg"], 3.0);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_cancels_requests_in_flight_and_each_is_recorded() {
    let mock = mock(20_000.0, 0.0).await; // answers would take 20 s
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::new("m", &mock.url())
        .streaming()
        .isl(8)
        .osl(4)
        .seed(1)
        .concurrency(4)
        .request_count(100);
    let cfg = p.config(dir.path());
    let engine = Arc::new(Engine::new(Arc::new(Registry::builtin())));
    let stop = engine.stop_signal();
    let run = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.run(&cfg, &aiperf_engine::Silent).await })
    };
    while mock.requests().len() < 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A second Ctrl-C: stop sending and cancel what is in flight.
    stop.stop.store(true, Ordering::Relaxed);
    stop.abort.store(true, Ordering::Relaxed);
    let out = tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .expect("the abort must not wait for the 20 s answers")
        .unwrap()
        .unwrap();
    assert_eq!(out.exit_code, 130);
    assert_eq!((out.request_count, out.error_count), (0, 4));
    let (_, lines) = assert_every_request_is_one_record(dir.path(), &out);
    for m in error_messages(&lines) {
        assert!(m.contains("interrupted"), "{m}");
    }
    mock.stop().await;
}

/// A tiny deterministic generator for the cases below (no dependency, same cases every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random faults, cancellations, timeouts and stops: the invariant holds in every case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_equals_ok_plus_errors_under_random_faults_cancellations_and_stops() {
    const FAULTS: [&str; 8] = [
        "http:500",
        "http:429",
        "reset",
        "reset_mid_stream",
        "stall:0.4",
        "no_done",
        "error_event",
        "invalid_json",
    ];
    let mut rng = Lcg(0x5eed);
    for case in 0..10 {
        let faults: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                let f = FAULTS[rng.below(FAULTS.len() as u64) as usize];
                format!("{f}@{}", 2 + rng.below(5))
            })
            .collect();
        let mock = mock_with(MockConfig {
            faults: faults.clone(),
            ..MockConfig::for_tests(5.0, 1.0)
        })
        .await;
        let mut p = Profile::new("m", &mock.url())
            .streaming()
            .isl(8)
            .osl(4)
            .seed(case)
            .concurrency(1 + rng.below(6))
            .request_count(10 + rng.below(30));
        if rng.below(2) == 0 {
            p = p
                .arg("--request-cancellation-rate", 10 + rng.below(50))
                .arg("--request-cancellation-delay", 0.005);
        }
        if rng.below(3) == 0 {
            p = p.arg("--request-timeout-seconds", 0.2);
        }
        // Some cases are stopped (as by a second Ctrl-C) once the mock has seen k requests.
        let stop_after = (rng.below(3) == 0).then(|| 1 + rng.below(8) as usize);
        let dir = tempfile::tempdir().unwrap();
        let cfg = p.config(dir.path());
        let engine = Engine::new(Arc::new(Registry::builtin()));
        let mock = Arc::new(mock);
        let stopper = stop_after.map(|k| {
            let (stop, mock) = (engine.stop_signal(), mock.clone());
            tokio::spawn(async move {
                while mock.requests().len() < k {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                stop.stop.store(true, Ordering::Relaxed);
                stop.abort.store(true, Ordering::Relaxed);
            })
        });
        let out = engine.run(&cfg, &aiperf_engine::Silent).await.unwrap();
        if let Some(task) = stopper {
            task.abort();
            let _ = task.await;
        }
        let what = format!("case {case}: faults {faults:?}, stop after {stop_after:?}");
        assert_every_request_is_one_record(dir.path(), &out);
        // A stop may come after the run already ended on its own.
        let natural = if out.request_count == 0 { 1 } else { 0 };
        if stop_after.is_some() && out.exit_code == 130 {
            eprintln!("{what}: stopped");
        } else {
            assert_eq!(out.exit_code, natural, "{what}");
        }
        let Ok(mock) = Arc::try_unwrap(mock) else {
            panic!("the stopper still holds the mock")
        };
        mock.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sse_messages_are_counted_per_record_and_per_run() {
    let mock = mock_with(MockConfig {
        // Requests 2, 4, 6 get a line that is not SSE; request 3 a data event with broken JSON.
        faults: vec!["malformed_sse@2".into(), "invalid_json@3".into()],
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &mock.url())
        .streaming()
        .isl(8)
        .osl(4)
        .seed(1)
        .concurrency(1)
        .request_count(6)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 6, 0)
    );
    let (s, lines) = assert_every_request_is_one_record(dir.path(), &out);
    let per_record: Vec<u64> = lines
        .iter()
        .map(|l| l["metadata"]["malformed_sse_events"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(per_record, [0, 1, 1, 1, 0, 1]);
    assert_eq!(s["malformed_sse_events"], 4);
    mock.stop().await;
}
