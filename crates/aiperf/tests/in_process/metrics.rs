//! Metrics end to end against a mock with known timing: values within stated tolerances, usage,
//! goodput, error-adjusted companions, per-chunk usage, timeslices, HTTP trace, time-weighted.

use crate::common::*;
use aiperf_mock_server::MockConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timing_matches_the_mock_within_tolerance() {
    // Mock: first token 40 ms after the request arrives, then one every 5 ms (absolute deadlines).
    let mock = mock(40.0, 5.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .streaming()
        .concurrency(4)
        .request_count(16)
        .isl(32)
        .osl(20)
        .seed(1)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    // Stated tolerance: the client may only add time (loopback, scheduling, 1 ms timer ticks on
    // the mock), never remove it; medians within +10 ms / +1 ms of the mock's schedule.
    let ttft = stat(&s, "time_to_first_token", "p50");
    assert!(
        (40.0..50.0).contains(&ttft),
        "TTFT p50 {ttft} ms, mock 40 ms"
    );
    let itl = stat(&s, "inter_token_latency", "p50");
    assert!((4.9..6.0).contains(&itl), "ITL p50 {itl} ms, mock 5 ms");
    // Latency = 40 + 19 * 5 = 135 ms.
    let lat = stat(&s, "request_latency", "p50");
    assert!(
        (134.0..150.0).contains(&lat),
        "latency p50 {lat} ms, mock 135 ms"
    );
    assert_close(
        stat(&s, "decode_duration", "avg"),
        stat(&s, "request_latency", "avg") - stat(&s, "time_to_first_token", "avg"),
        1e-6,
        "decode",
    );
    assert_eq!(
        stat(&s, "time_to_first_output_token", "avg"),
        stat(&s, "time_to_first_token", "avg"),
        "no reasoning: TTFO = TTFT"
    );
    // Time-weighted: at most 4 in flight, and busy most of the time.
    let conc = stat(&s, "effective_concurrency", "avg");
    assert!(conc > 2.0 && conc <= 4.0, "effective concurrency {conc}");
    assert_eq!(stat(&s, "effective_concurrency", "max"), 4.0);
    assert!(
        s["effective_concurrency"].get("count").is_none(),
        "time-weighted metrics have no count"
    );
    // Decode throughput integrates to the decoded tokens: avg * window ~ total OSL - first tokens.
    assert!(stat(&s, "effective_decode_throughput", "avg") > 0.0);
    // CO-aware latency >= latency (credit issued before the request started).
    assert!(stat(&s, "effective_latency", "avg") >= stat(&s, "request_latency", "avg"));
    // HTTP trace: waiting covers the 40 ms to the first byte; connections are reused.
    assert!(stat(&s, "http_req_waiting", "p50") < stat(&s, "time_to_first_token", "p50") + 1.0);
    assert!(stat(&s, "http_req_connection_reused", "avg") > 0.5);
    assert_eq!(s["http_req_data_sent"]["unit"], "KB");
    let csv = std::fs::read_to_string(dir.path().join("profile_export_console.txt")).unwrap();
    assert!(
        csv.contains("NVIDIA AIPerf | LLM Metrics: Effective"),
        "{csv}"
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_usage_metrics_agree_with_client_counts() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("m", &url)
        .streaming()
        .request_count(10)
        .isl(50)
        .osl(8)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "usage_prompt_tokens", "avg"), 50.0);
    assert_eq!(stat(&s, "usage_completion_tokens", "avg"), 8.0);
    assert_eq!(stat(&s, "usage_total_tokens", "avg"), 58.0);
    assert_eq!(
        stat(&s, "usage_prompt_cache_read_tokens", "avg"),
        20.0,
        "mock caches 40 % of the prompt"
    );
    assert_eq!(stat(&s, "total_usage_prompt_tokens", "avg"), 500.0);
    assert_eq!(stat(&s, "overall_usage_prompt_cache_read_pct", "avg"), 40.0);
    assert_eq!(stat(&s, "usage_discrepancy_count", "avg"), 0.0);
    assert_eq!(stat(&s, "usage_prompt_tokens_diff_pct", "max"), 0.0);
    assert_eq!(stat(&s, "osl_mismatch_count", "avg"), 0.0);
    assert!(out.console.contains("NVIDIA AIPerf | LLM Metrics: Usage"));
    // The client's tables (the server's own section, after them, does show its cache).
    let client = out
        .console
        .split("NVIDIA AIPerf | Server Metrics")
        .next()
        .unwrap_or_default();
    assert!(
        !client.contains("Discrepancy")
            && !client.contains("Mismatch")
            && !client.contains("cache"),
        "{}",
        out.console
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goodput_counts_requests_meeting_every_slo() {
    let mock = mock(20.0, 1.0).await;
    let url = mock.url();
    for (slo, good) in [
        ("time_to_first_token:10", 0.0),
        ("time_to_first_token:1000 output_sequence_length:4", 6.0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        Profile::new("m", &url)
            .streaming()
            .request_count(6)
            .isl(8)
            .osl(4)
            .arg("--goodput", slo)
            .run(dir.path())
            .await
            .unwrap();
        let s = read_json(dir.path().join("profile_export_aiperf.json"));
        assert_eq!(stat(&s, "good_request_count", "avg"), good, "{slo}");
        assert_eq!(
            stat(&s, "good_request_fraction", "avg"),
            good / 6.0,
            "{slo}"
        );
        if good > 0.0 {
            assert_close(
                stat(&s, "goodput", "avg"),
                stat(&s, "request_throughput", "avg"),
                1e-9,
                "all good: goodput = throughput",
            );
        }
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_add_error_adjusted_companions() {
    let mock = mock_with(MockConfig {
        error_rate: 30.0,
        random_seed: 3,
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("m", &url)
        .streaming()
        .request_count(30)
        .isl(8)
        .osl(4)
        .run(dir.path())
        .await
        .unwrap();
    assert!(out.error_count > 0);
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let adj = &s["adj_request_latency"];
    assert_eq!(adj["count"], 30);
    assert!(
        adj.get("avg").is_none() && adj.get("std").is_none() && adj.get("max").is_none(),
        "infinite stats dropped: {adj}"
    );
    assert!(adj["p1"].as_f64().unwrap().is_finite());
    assert!(
        adj.get("p99").is_none(),
        "p99 falls on a failed request: +inf, dropped"
    );
    for tag in [
        "adj_time_to_first_token",
        "adj_inter_token_latency",
        "adj_decode_duration",
    ] {
        assert!(s[tag].is_object(), "{tag}");
    }
    let csv = std::fs::read_to_string(dir.path().join("profile_export_aiperf.csv")).unwrap();
    assert!(
        csv.contains("Request Latency (error-adjusted) (ms),,"),
        "empty cells for infinite stats"
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_chunk_usage_asks_for_and_uses_cumulative_counts() {
    let mock = mock(2.0, 2.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .streaming()
        .flag("--per-chunk-usage")
        .request_count(4)
        .isl(8)
        .osl(6)
        .run(dir.path())
        .await
        .unwrap();
    let body = mock.requests()[0].json().unwrap();
    assert_eq!(body["stream_options"]["continuous_usage_stats"], true);
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    // One token per chunk: k = 1, so ITL = decode / (OSL - 1).
    assert_close(
        stat(&s, "inter_token_latency", "avg"),
        stat(&s, "decode_duration", "avg") / 5.0,
        1e-9,
        "ITL with k = 1",
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeslices_cover_every_request() {
    let mock = mock(5.0, 2.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .streaming()
        .request_count(40)
        .concurrency(2)
        .isl(8)
        .osl(10)
        .arg("--slice-duration", 0.1)
        .run(dir.path())
        .await
        .unwrap();
    let t = read_json(dir.path().join("profile_export_aiperf_timeslices.json"));
    let slices = t["timeslices"].as_array().unwrap();
    assert!(
        slices.len() >= 3,
        "40 requests of ~25 ms at concurrency 2 span several 100 ms windows"
    );
    let total: f64 = slices
        .iter()
        .filter_map(|s| s["request_count"]["avg"].as_f64())
        .sum();
    assert_eq!(total, 40.0);
    for w in slices.windows(2) {
        assert_eq!(w[0]["end_ns"], w[1]["start_ns"]);
    }
    let csv =
        std::fs::read_to_string(dir.path().join("profile_export_aiperf_timeslices.csv")).unwrap();
    assert!(csv.starts_with("Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value\n"));
    // AIPerf's layout: the display name, statistics in its column order.
    assert!(csv.contains(",Request Latency,ms,p50,"), "{csv}");
    assert!(!csv.contains(",request_latency,"), "{csv}");
    mock.stop().await;
}
