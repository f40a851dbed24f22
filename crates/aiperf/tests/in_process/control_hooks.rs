//! `--reset-kv-cache` and `--server-profiler` against the mock: the control POSTs go where and
//! when AIPerf sends them (reset before the first request, profiler start after warm-up and
//! before profiling, stop after the last request), with the run's auth, and a failure does
//! what AIPerf does (reset or start: the run fails; stop: a warning, the run completes).

use crate::common::*;
use aiperf_mock_server::RecordedRequest;

const HOOKS: [&str; 3] = ["/reset_prefix_cache", "/start_profile", "/stop_profile"];

fn paths(posts: &[RecordedRequest]) -> Vec<&str> {
    posts.iter().map(|r| r.path.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_profiler_surround_the_profiling_requests() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .concurrency(1)
        .request_count(4)
        .arg("--warmup-request-count", 2)
        .arg("--api-key", "sk-control")
        .flag("--reset-kv-cache")
        .flag("--server-profiler")
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.request_count, 4);
    let posts = posts(&mock);
    let chat = "/v1/chat/completions";
    assert_eq!(
        paths(&posts),
        [
            "/reset_prefix_cache",
            chat,
            chat,
            "/start_profile",
            chat,
            chat,
            chat,
            chat,
            "/stop_profile"
        ],
        "reset before warm-up, profiler around the profiling phase"
    );
    for r in posts.iter().filter(|r| HOOKS.contains(&r.path.as_str())) {
        assert!(r.body.is_empty(), "{}: empty body", r.path);
        assert_eq!(r.header("authorization"), Some("Bearer sk-control"));
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flags_no_control_request_is_sent() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .concurrency(2)
        .request_count(4)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let hooks = mock
        .requests()
        .into_iter()
        .filter(|r| HOOKS.contains(&r.path.as_str()))
        .count();
    assert_eq!(hooks, 0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_paths_are_honoured_and_one_url_per_origin_is_posted() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    // Two --url values on the same origin: one control POST each, as AIPerf dedupes origins.
    let url = mock.url();
    let out = Profile::chat(&url)
        .arg("-u", format!("{url}/v1"))
        .concurrency(2)
        .request_count(4)
        .arg("--reset-kv-cache-path", "/stop_profile")
        .arg("--server-profiler-start-path", "/reset_prefix_cache")
        .arg("--server-profiler-stop-path", "/start_profile")
        .arg("--server-profiler-timeout-seconds", 5)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let posts = posts(&mock);
    let p = paths(&posts);
    assert_eq!(p.first(), Some(&"/stop_profile"), "{p:?}");
    assert_eq!(p.get(1), Some(&"/reset_prefix_cache"), "{p:?}");
    assert_eq!(p.last(), Some(&"/start_profile"), "{p:?}");
    assert_eq!(
        p.iter().filter(|x| HOOKS.contains(x)).count(),
        3,
        "one POST per hook for one origin: {p:?}"
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_profiler_stop_is_a_warning_and_the_run_completes() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    // The mock answers 404 to a path it does not serve.
    let out = Profile::chat(&mock.url())
        .concurrency(1)
        .request_count(3)
        .arg("--server-profiler-stop-path", "/no_such_stop")
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.request_count, 3);
    assert!(dir.path().join("profile_export_aiperf.json").is_file());
    let posts = posts(&mock);
    assert_eq!(paths(&posts).last(), Some(&"/no_such_stop"));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reset_or_profiler_start_fails_the_run_as_in_aiperf() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let e = Profile::chat(&mock.url())
        .request_count(3)
        .arg("--reset-kv-cache-path", "/no_such_reset")
        .run(dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--reset-kv-cache"), "{e}");
    assert!(e.contains("/no_such_reset"), "{e}");
    assert!(e.contains("HTTP 404"), "{e}");
    assert!(
        !paths(&posts(&mock)).contains(&"/v1/chat/completions"),
        "no inference request after a failed reset"
    );

    let dir = tempfile::tempdir().unwrap();
    let e = Profile::chat(&mock.url())
        .request_count(3)
        .arg("--server-profiler-start-path", "/no_such_start")
        .run(dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--server-profiler"), "{e}");
    assert!(e.contains("/no_such_start"), "{e}");
    assert!(
        !paths(&posts(&mock)).contains(&"/v1/chat/completions"),
        "no profiling request after a failed profiler start"
    );
    mock.stop().await;
}
