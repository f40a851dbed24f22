//! `--failed-request-threshold`: a run whose failed share of profiling records exceeds the ratio
//! (once `max(concurrency, 10)` records came back) stops itself, writes every artifact, says why
//! and exits 1; a run at or below it, or still under the grace floor, runs to its end.

use std::path::Path;

use crate::common::*;
use aiperf_mock_server::MockConfig;
use serde_json::Value;

/// A mock answering every `every`-th generation request with HTTP 500.
async fn failing_every(every: u32) -> aiperf_mock_server::MockHandle {
    mock_with(MockConfig {
        faults: vec![format!("http:500@{every}")],
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await
}

/// A mock failing every request after about 10 ms (reset mid-stream): 200 requests at
/// concurrency 4 would take half a second, time enough for a stop to be seen long before the
/// last one (answered at once, a debug build sends dozens more before the processor catches up).
async fn failing_slowly() -> aiperf_mock_server::MockHandle {
    mock_with(MockConfig {
        faults: vec!["reset_mid_stream@1".to_string()],
        ..MockConfig::for_tests(10.0, 1.0)
    })
    .await
}

/// A streamed chat run against `mock` with `--failed-request-threshold threshold`.
fn profile(
    mock: &aiperf_mock_server::MockHandle,
    concurrency: impl std::fmt::Display,
    count: u64,
    threshold: &str,
) -> Profile {
    Profile::chat(&mock.url())
        .streaming()
        .concurrency(concurrency)
        .request_count(count)
        .isl(8)
        .osl(4)
        .arg("--failed-request-threshold", threshold)
}

/// The summary, after checking every request sent ended as exactly one JSONL line.
fn summary(dir: &Path, out: &aiperf_engine::RunOutcome) -> Value {
    let lines = read_jsonl(dir.join("profile_export.jsonl"));
    assert_eq!(
        lines.len() as u64,
        out.request_count + out.error_count,
        "one JSONL line per request"
    );
    assert_eq!(
        lines.iter().filter(|l| l.get("error").is_some()).count() as u64,
        out.error_count
    );
    assert!(dir.join("profile_export_aiperf.csv").is_file());
    read_json(dir.join("profile_export_aiperf.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_server_stops_the_run_early_with_exit_1() {
    let mock = failing_slowly().await;
    let dir = tempfile::tempdir().unwrap();
    let out = profile(&mock, 4, 200, "0.5").run(dir.path()).await.unwrap();
    let s = summary(dir.path(), &out);
    let total = out.request_count + out.error_count;
    assert!(
        (10..200).contains(&total),
        "stopped after the grace floor, before the end: {total}"
    );
    assert_eq!(out.exit_code, 1, "a failure, not an interruption (130)");
    assert_eq!(s["was_cancelled"], true);
    assert_eq!(s["is_complete"], false);
    let reason = s["incomplete_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("--failed-request-threshold exceeded: 10/10 = 1.000 > 0.500"),
        "{reason}"
    );
    assert!(!reason.contains("user"), "{reason}");
    mock.stop().await;
}

/// 0 failed of n is a share of 0, not above a threshold of 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_run_completes_under_a_zero_threshold() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = profile(&mock, 2, 20, "0").run(dir.path()).await.unwrap();
    let s = summary(dir.path(), &out);
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 20, 0)
    );
    assert_eq!(s["was_cancelled"], false);
    assert_eq!(s["is_complete"], true);
    assert!(s["incomplete_reason"].is_null());
    mock.stop().await;
}

/// Every record fails, but fewer than the grace floor (10) ever come back: the check is never
/// armed, and the run ends as any run whose every request failed (complete, exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_under_the_grace_floor_do_not_stop_the_run() {
    let mock = failing_every(1).await;
    let dir = tempfile::tempdir().unwrap();
    let out = profile(&mock, 3, 9, "0.5").run(dir.path()).await.unwrap();
    let s = summary(dir.path(), &out);
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (1, 0, 9)
    );
    assert_eq!(s["was_cancelled"], false);
    assert_eq!(s["is_complete"], true);
    assert!(s["incomplete_reason"].is_null());
    mock.stop().await;
}

/// Every second request fails, in order (concurrency 1): the share reaches 0.5 and never goes
/// above it, so a threshold of 0.5 (strict) never fires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_equal_to_the_threshold_does_not_stop_the_run() {
    let mock = failing_every(2).await;
    let dir = tempfile::tempdir().unwrap();
    let out = profile(&mock, 1, 30, "0.5").run(dir.path()).await.unwrap();
    let s = summary(dir.path(), &out);
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 15, 15)
    );
    assert_eq!(s["is_complete"], true);
    mock.stop().await;
}

/// A sweep: the threshold ends each run it is exceeded in, not the sweep (the engine's stop
/// signal is not touched, so the next run still sends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_stop_ends_only_its_run_of_a_sweep() {
    let mock = failing_slowly().await;
    let dir = tempfile::tempdir().unwrap();
    let (set, _) = profile(&mock, "2,4", 200, "0.5")
        .run_set(dir.path())
        .await
        .unwrap();
    assert!(!set.interrupted);
    assert_eq!(set.runs.len(), 2, "{:?}", set.runs);
    for run in &set.runs {
        assert!(run.result.outcome.is_err(), "{:?}", run.result);
        let s = read_json(run.dir.join("profile_export_aiperf.json"));
        assert_eq!(s["is_complete"], false, "{}", run.dir.display());
        let reason = s["incomplete_reason"].as_str().unwrap();
        assert!(
            reason.starts_with("--failed-request-threshold exceeded"),
            "{reason}"
        );
        let lines = read_jsonl(run.dir.join("profile_export.jsonl"));
        assert!((10..200).contains(&lines.len()), "{}", lines.len());
    }
    mock.stop().await;
}
