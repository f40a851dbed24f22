//! The warm-up phase's own load (`--warmup-*`), `--prefill-concurrency` and
//! `--request-rate-series`, end to end against the mock server.

use crate::common::*;

/// `--warmup-concurrency 3` sends three warm-up requests at once before a one-at-a-time
/// profiling phase; none of them is measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_runs_at_its_own_concurrency() {
    let mock = mock(300.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &mock.url())
        .arg("--warmup-request-count", 3)
        .arg("--warmup-concurrency", 3)
        .concurrency(1)
        .request_count(2)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.request_count, 2);
    let t = arrivals_ms(&mock);
    assert_eq!(t.len(), 5, "3 warm-up + 2 profiling requests: {t:?}");
    // The three warm-up requests went out together (not 300 ms apart, as one at a time would).
    assert!(t[2] < 150.0, "warm-up arrivals {t:?}");
    // Profiling waits for the warm-up to drain, then sends one at a time.
    assert!(t[3] >= 300.0 && t[4] - t[3] >= 290.0, "{t:?}");
    assert_eq!(read_jsonl(dir.path().join("profile_export.jsonl")).len(), 2);
    mock.stop().await;
}

/// `--warmup-request-rate` with a constant pattern paces the warm-up before a closed-loop
/// profiling phase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_runs_at_its_own_rate() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    Profile::new("m", &mock.url())
        .arg("--warmup-request-count", 4)
        .arg("--warmup-request-rate", 20)
        .arg("--warmup-arrival-pattern", "constant")
        .request_count(1)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    let t = arrivals_ms(&mock);
    assert_eq!(t.len(), 5);
    for (i, got) in t[..4].iter().enumerate() {
        let want = 50.0 * i as f64;
        assert!(
            (got - want).abs() < 25.0,
            "warm-up request {i} at {got:.1} ms: {t:?}"
        );
    }
    mock.stop().await;
}

/// `--num-warmup-sessions 2` warms up with two whole conversations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_sessions_finish_their_turns() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &mock.url())
        .arg("--num-warmup-sessions", 2)
        .arg("--conversation-turn-mean", 3)
        .arg("--conversation-turn-stddev", 0)
        .request_count(3)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.request_count, 3);
    assert_eq!(mock.requests().len(), 2 * 3 + 3);
    mock.stop().await;
}

/// `--warmup-grace-period 0` stops waiting for warm-up answers when the warm-up duration ends:
/// profiling starts at once instead of after the 1.5 s answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_grace_period_bounds_the_drain() {
    let mock = mock(1500.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &mock.url())
        .arg("--warmup-duration", 0.2)
        .arg("--warmup-grace-period", 0)
        .request_count(1)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.request_count, 1);
    let t = arrivals_ms(&mock);
    assert_eq!(
        t.len(),
        2,
        "one warm-up request, one profiling request: {t:?}"
    );
    assert!(
        t[1] < 1000.0,
        "profiling started {:.0} ms after the warm-up request, not after its answer",
        t[1]
    );
    mock.stop().await;
}

/// (start ns, first-token ns) of each record, sorted by start.
fn prefill_windows(dir: &std::path::Path) -> Vec<(f64, f64)> {
    let mut w: Vec<(f64, f64)> = read_jsonl(dir.join("profile_export.jsonl"))
        .iter()
        .map(|r| {
            let start = r["metadata"]["request_start_ns"].as_u64().unwrap() as f64;
            let ttft_ms = r["metrics"]["time_to_first_token"]["value"]
                .as_f64()
                .unwrap();
            (start, start + ttft_ms * 1e6)
        })
        .collect();
    w.sort_by(|a, b| a.0.total_cmp(&b.0));
    w
}

/// With `--prefill-concurrency 1`, no request is sent while another still waits for its first
/// token, though four run at once; without it, they overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefill_concurrency_serialises_the_wait_for_first_tokens() {
    let mock = mock(80.0, 5.0).await;
    let run = |dir: std::path::PathBuf, prefill: bool| {
        let url = mock.url();
        async move {
            let mut p = Profile::new("m", &url)
                .streaming()
                .concurrency(4)
                .request_count(8)
                .isl(8)
                .osl(20);
            if prefill {
                p = p.arg("--prefill-concurrency", 1);
            }
            p.run(&dir).await.unwrap();
            prefill_windows(&dir)
        }
    };
    let limited = tempfile::tempdir().unwrap();
    let w = run(limited.path().to_path_buf(), true).await;
    assert_eq!(w.len(), 8);
    for pair in w.windows(2) {
        // 1 µs of slack for the float round trip of the TTFT in milliseconds.
        assert!(
            pair[1].0 >= pair[0].1 - 1e3,
            "a request started {:.3} ms before the previous one's first token: {w:?}",
            (pair[0].1 - pair[1].0) / 1e6
        );
    }
    let free = tempfile::tempdir().unwrap();
    let w = run(free.path().to_path_buf(), false).await;
    assert!(
        w.windows(2).any(|p| p[1].0 < p[0].1),
        "without the limit, prefills overlap: {w:?}"
    );
    mock.stop().await;
}

/// `--request-rate-series`: the constant-pattern intervals follow the series' rate, set every
/// 0.1 s (AIPerf's update step), exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_rate_series_sets_the_intervals() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let series = write(
        dir.path(),
        "series.json",
        r#"{"points": [{"time_s": 0, "qps": 10}, {"time_s": 1, "qps": 30}]}"#,
    );
    let out_dir = dir.path().join("out");
    Profile::new("m", &mock.url())
        .arg("--request-rate-series", &series)
        .arg("--arrival-pattern", "constant")
        .request_count(5)
        .isl(8)
        .osl(2)
        .run(&out_dir)
        .await
        .unwrap();
    let mut intended: Vec<u64> = read_jsonl(out_dir.join("profile_export.jsonl"))
        .iter()
        .map(|r| r["metadata"]["intended_send_ns"].as_u64().unwrap())
        .collect();
    intended.sort_unstable();
    let gaps_ms: Vec<f64> = intended
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1e6)
        .collect();
    // Sends at 0.1 s (10/s), then in the 0.1 s step at 12/s twice (0.1833, 0.2667), then in
    // the 0.2 s step at 14/s (0.3381), then in the 0.3 s step at 16/s.
    let want = [1e3 / 12.0, 1e3 / 12.0, 1e3 / 14.0, 1e3 / 16.0];
    assert_eq!(gaps_ms.len(), want.len());
    for (got, want) in gaps_ms.iter().zip(want) {
        assert!((got - want).abs() < 1e-3, "gaps {gaps_ms:?}, wanted {want}");
    }
    let s = read_json(out_dir.join("profile_export_aiperf.json"));
    assert_eq!(s["load_report"]["requested_request_rate"], 10.0);
    mock.stop().await;
}

/// A malformed series file is refused before anything is sent, naming the flag and the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rate_series_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let series = write(dir.path(), "s.json", r#"[{"time_s": 0, "qps": 10}]"#);
    let err = Profile::new("m", "http://127.0.0.1:9")
        .arg("--request-rate-series", &series)
        .run(&dir.path().join("out"))
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.starts_with("--request-rate-series")
            && msg.contains("s.json")
            && msg.contains("requires at least two points"),
        "{msg}"
    );
}

/// `image_uuids` go out as each image part's `uuid`; with `--uuid-and-strip` an image a
/// session already sent goes out again as a bare reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_uuids_pass_through_and_repeats_are_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let img = "data:image/png;base64,iVBORw0KGgo=";
    let lines = format!(
        "{{\"session_id\": \"s\", \"text\": \"one\", \"images\": [\"{img}\"], \"image_uuids\": [\"u1\"]}}\n\
         {{\"session_id\": \"s\", \"text\": \"two\", \"images\": [\"{img}\"], \"image_uuids\": [\"u1\"]}}\n"
    );
    let file = write(dir.path(), "turns.jsonl", lines);
    let image_parts = |mock: &aiperf_mock_server::MockHandle| -> Vec<serde_json::Value> {
        posts(mock)
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                let messages = body["messages"].as_array().unwrap();
                let last = messages.last().unwrap();
                last["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["type"] == "image_url")
                    .cloned()
                    .unwrap()
            })
            .collect()
    };
    for (strip, second_url) in [(false, img), (true, "")] {
        let mock = mock(0.0, 0.0).await;
        Profile::new("m", &mock.url())
            .input_file(&file, "single_turn")
            .request_count(2)
            .flag_if(strip, "--uuid-and-strip")
            .run(&dir.path().join(format!("out-{strip}")))
            .await
            .unwrap();
        let parts = image_parts(&mock);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0]["uuid"], "u1");
        assert_eq!(parts[0]["image_url"]["url"], img);
        assert_eq!(parts[1]["uuid"], "u1");
        assert_eq!(parts[1]["image_url"]["url"], second_url, "strip: {strip}");
        mock.stop().await;
    }
}

/// The content type AIPerf refuses for an endpoint is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_type_the_endpoint_cannot_take_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Profile::new("m", "http://127.0.0.1:9")
        .arg("--request-content-type", "multipart/form-data")
        .run(dir.path())
        .await
        .unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "--request-content-type: request_content_type=multipart/form-data is only supported for endpoint types that accept form-data (e.g. image_edit, video_generation); endpoint type chat does not."
    );
    let err = Profile::new("m", "http://127.0.0.1:9")
        .endpoint("completions")
        .flag("--uuid-and-strip")
        .run(dir.path())
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("--uuid-and-strip requires endpoint type 'chat'"),
        "{err:#}"
    );
}

/// `--isl-distribution`/`--osl-distribution` (AIPerf's run-file forms as JSON): every prompt
/// is one of the empirical lengths, exactly, and every request asks for a drawn output length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn length_distributions_draw_the_prompt_and_output_lengths() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    Profile::new("m", &mock.url())
        .arg(
            "--isl-distribution",
            r#"{"points": [{"value": 16, "weight": 1}, {"value": 64, "weight": 1}]}"#,
        )
        .arg(
            "--osl-distribution",
            r#"{"mean": 40, "median": 30, "max": 50}"#,
        )
        .arg("--num-dataset-entries", 40)
        .request_count(40)
        .concurrency(4)
        .run(dir.path())
        .await
        .unwrap();
    let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
    let isl: Vec<f64> = lines
        .iter()
        .map(|r| {
            r["metrics"]["input_sequence_length"]["value"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(isl.iter().all(|v| *v == 16.0 || *v == 64.0), "{isl:?}");
    assert!(isl.contains(&16.0) && isl.contains(&64.0), "{isl:?}");
    for r in posts(&mock) {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let max = body["max_completion_tokens"].as_u64().unwrap();
        assert!((1..=50).contains(&max), "max tokens {max} outside [1, 50]");
    }
    mock.stop().await;
}
