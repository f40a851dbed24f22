//! End-to-end: the real client against the real mock server over loopback, artifacts checked
//! field by field.

use aiperf_mock_server::MockConfig;

use std::collections::HashSet;

use crate::common::*;
use serde_json::Value;

const RECORD_KEYS: [&str; 17] = [
    "session_num",
    "x_request_id",
    "x_correlation_id",
    "conversation_id",
    "turn_index",
    "credit_issued_ns",
    "request_start_ns",
    "request_ack_ns",
    "request_end_ns",
    "worker_id",
    "record_processor_id",
    "benchmark_phase",
    "phase_index",
    "profiling_index",
    "phase_name",
    "phase_kind",
    "was_cancelled",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streaming_end_to_end() {
    let mock = mock(5.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::chat(&url)
        .streaming()
        .concurrency(4)
        .request_count(20)
        .isl(32)
        .osl(8)
        .seed(7)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, 20, 0)
    );

    // Summary JSON.
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(s["schema_version"], "1.4");
    assert_eq!(s["benchmark_id"].as_str().unwrap().len(), 12);
    assert_eq!(stat(&s, "request_count", "avg"), 20.0);
    assert_eq!(s["request_count"]["unit"], "requests");
    for (tag, v) in [
        ("output_sequence_length", 8.0),
        ("input_sequence_length", 32.0),
    ] {
        for f in ["avg", "min", "max", "p50", "p99"] {
            assert_eq!(stat(&s, tag, f), v, "{tag}.{f}");
        }
        assert_eq!(stat(&s, tag, "count"), 20.0);
        assert_eq!(stat(&s, tag, "std"), 0.0);
    }
    assert_eq!(s["time_to_first_token"]["unit"], "ms");
    let ttft = stat(&s, "time_to_first_token", "avg");
    let latency = stat(&s, "request_latency", "avg");
    assert!(
        ttft >= 4.0,
        "mock waits 5 ms before the first token: {ttft}"
    );
    assert!(
        latency >= ttft + 5.0,
        "7 more tokens 1 ms apart follow: {latency} vs {ttft}"
    );
    for tag in [
        "time_to_second_token",
        "inter_token_latency",
        "decode_duration",
        "output_token_throughput_per_user",
        "e2e_output_token_throughput",
        "inter_chunk_latency",
        "prefill_throughput_per_user",
    ] {
        assert!(s[tag].is_object(), "{tag} missing");
    }
    // Derived metrics agree with their definitions.
    let duration = stat(&s, "benchmark_duration", "avg");
    assert_eq!(s["benchmark_duration"]["unit"], "sec");
    assert_close(
        stat(&s, "request_throughput", "avg"),
        20.0 / duration,
        1e-6,
        "request_throughput",
    );
    assert_eq!(stat(&s, "total_osl", "avg"), 160.0);
    assert_close(
        stat(&s, "output_token_throughput", "avg"),
        160.0 / duration,
        1e-6,
        "output_token_throughput",
    );
    assert_close(
        stat(&s, "inter_token_latency", "avg"),
        stat(&s, "decode_duration", "avg") / 7.0,
        1e-9,
        "ITL = decode / (OSL - 1)",
    );
    assert_eq!(s["error_summary"], Value::Array(vec![]));
    assert_eq!(s["was_cancelled"], false);
    assert_eq!(s["input_config"]["endpoint"]["streaming"], true);
    assert!(
        s.get("min_request_timestamp").is_none(),
        "internal metrics are not exported"
    );

    // Per-record JSONL.
    let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(lines.len(), 20);
    let mut ids = HashSet::new();
    let mut ttfts = Vec::new();
    for l in &lines {
        let m = &l["metadata"];
        for k in RECORD_KEYS {
            assert!(m.get(k).is_some(), "metadata.{k} missing");
        }
        assert_eq!(m["benchmark_phase"], "profiling");
        assert!(ids.insert(m["x_request_id"].as_str().unwrap().to_string()));
        let (start, end) = (
            m["request_start_ns"].as_u64().unwrap(),
            m["request_end_ns"].as_u64().unwrap(),
        );
        assert!(m["credit_issued_ns"].as_u64().unwrap() <= start && start < end);
        assert_eq!(l["metrics"]["output_sequence_length"]["value"], 8);
        assert_eq!(l["metrics"]["input_sequence_length"]["value"], 32);
        assert!(l.get("error").is_none());
        assert!(
            l["metrics"].get("request_count").is_none(),
            "NO_INDIVIDUAL_RECORDS metrics stay out"
        );
        ttfts.push(
            l["metrics"]["time_to_first_token"]["value"]
                .as_f64()
                .unwrap(),
        );
    }
    assert_close(
        ttfts.iter().sum::<f64>() / 20.0,
        ttft,
        1e-9,
        "JSONL TTFTs average to the summary",
    );

    // inputs.json holds exactly the bodies the server received.
    let inputs = read_json(dir.path().join("inputs.json"));
    let payloads: Vec<Value> = inputs["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["payloads"][0].clone())
        .collect();
    assert_eq!(payloads.len(), 20);
    assert_eq!(inputs["data"][0]["session_id"], "session_000000");
    let p = &payloads[0];
    assert_eq!(p["model"], "mock-model");
    assert_eq!(p["stream"], true);
    assert_eq!(p["max_completion_tokens"], 8);
    assert_eq!(p["stream_options"]["include_usage"], true);
    assert_eq!(p["messages"][0]["role"], "user");
    let received = mock.requests();
    assert_eq!(
        received.len(),
        20,
        "the start-up probe only connects; it sends no request"
    );
    for r in &received {
        assert_eq!(r.path, "/v1/chat/completions");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("accept"), Some("text/event-stream"));
        assert!(r.header("user-agent").unwrap().starts_with("aiperf/"));
        assert!(r.header("x-request-id").is_some() && r.header("x-correlation-id").is_some());
        assert!(
            payloads.contains(&r.json().unwrap()),
            "a body that is not in inputs.json was sent"
        );
    }

    // CSV and console.
    let csv = std::fs::read_to_string(dir.path().join("profile_export_aiperf.csv")).unwrap();
    assert!(csv.starts_with("Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std\n"));
    assert!(csv.contains("\n\nMetric,Value\n"));
    assert!(csv.contains("Request Count,20.00"));
    assert!(out.console.contains("NVIDIA AIPerf | LLM Metrics"));
    assert!(out.console.contains("Time to First Token (ms)"));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_non_streaming_has_no_streaming_metrics() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("m1", &url)
        .request_count(10)
        .isl(16)
        .osl(5)
        .seed(1)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 10));
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    for tag in [
        "time_to_first_token",
        "time_to_second_token",
        "inter_token_latency",
        "inter_chunk_latency",
        "decode_duration",
    ] {
        assert!(s.get(tag).is_none(), "{tag} is streaming-only");
    }
    assert_eq!(stat(&s, "output_sequence_length", "avg"), 5.0);
    assert!(stat(&s, "request_latency", "avg") > 0.0);
    let req = &mock.requests()[0];
    assert_eq!(req.header("accept"), Some("application/json"));
    let body = req.json().unwrap();
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_streaming_and_not() {
    let mock = mock(1.0, 0.5).await;
    let url = mock.url();
    for streaming in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let out = Profile::new("m", &url)
            .endpoint("completions")
            .request_count(6)
            .concurrency(2)
            .isl(20)
            .osl(4)
            .seed(3)
            .flag_if(streaming, "--streaming")
            .run(dir.path())
            .await
            .unwrap();
        assert_eq!(
            (out.exit_code, out.request_count, out.error_count),
            (0, 6, 0),
            "streaming={streaming}"
        );
        let s = read_json(dir.path().join("profile_export_aiperf.json"));
        assert_eq!(stat(&s, "output_sequence_length", "avg"), 4.0);
        assert_eq!(stat(&s, "input_sequence_length", "avg"), 20.0);
        assert_eq!(s.get("time_to_first_token").is_some(), streaming);
        let inputs = read_json(dir.path().join("inputs.json"));
        let p = &inputs["data"][0]["payloads"][0];
        assert!(p["prompt"].is_string());
        assert_eq!(p["max_tokens"], 4);
    }
    let paths: HashSet<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, HashSet::from(["/v1/completions".to_string()]));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_token_counts_match_client_counts_on_the_mock() {
    // The mock counts prompts and emits outputs with the same o200k_base tokenizer, so the
    // client-side and server-side counts must agree exactly.
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let mut results = Vec::new();
    for server in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        Profile::new("m", &url)
            .streaming()
            .request_count(8)
            .isl(40)
            .arg("--isl-stddev", 10)
            .osl(12)
            .seed(11)
            .flag_if(server, "--use-server-token-count")
            .run(dir.path())
            .await
            .unwrap();
        let s = read_json(dir.path().join("profile_export_aiperf.json"));
        results.push((stat(&s, "total_isl", "avg"), stat(&s, "total_osl", "avg")));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].1, 96.0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_are_counted_and_summarised() {
    let mock = mock_with(MockConfig {
        error_rate: 50.0,
        random_seed: 5,
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("m", &url)
        .streaming()
        .request_count(40)
        .concurrency(4)
        .isl(10)
        .osl(3)
        .seed(2)
        .run(dir.path())
        .await
        .unwrap();
    assert!(
        out.error_count > 5 && out.request_count > 5,
        "{} ok, {} errors",
        out.request_count,
        out.error_count
    );
    assert_eq!(out.request_count + out.error_count, 40);
    assert_eq!(out.exit_code, 0);
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(
        stat(&s, "error_request_count", "avg"),
        out.error_count as f64
    );
    assert_eq!(stat(&s, "request_count", "avg"), out.request_count as f64);
    assert_close(
        stat(&s, "request_error_rate", "avg"),
        100.0 * out.error_count as f64 / 40.0,
        1e-9,
        "error rate",
    );
    let summary = s["error_summary"].as_array().unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0]["count"], out.error_count);
    assert_eq!(summary[0]["error_details"]["code"], 500);
    assert_eq!(summary[0]["error_details"]["type"], "Internal Server Error");
    assert!(summary[0]["error_details"]["message"]
        .as_str()
        .unwrap()
        .contains("Simulated error"));
    let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(lines.len(), 40);
    let errors: Vec<&Value> = lines.iter().filter(|l| l.get("error").is_some()).collect();
    assert_eq!(errors.len() as u64, out.error_count);
    for e in errors {
        assert_eq!(e["error"]["code"], 500);
        let metrics: Vec<&String> = e["metrics"].as_object().unwrap().keys().collect();
        assert_eq!(
            metrics,
            ["error_isl"],
            "failed requests carry only their input length"
        );
        assert_eq!(e["metrics"]["error_isl"]["value"], 10);
    }
    assert_eq!(
        stat(&s, "total_error_isl", "avg"),
        10.0 * out.error_count as f64
    );
    assert!(out.console.contains("Error Summary"));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_failed_exits_one_with_artifacts() {
    let mock = mock_with(MockConfig {
        error_rate: 100.0,
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("m", &url)
        .request_count(5)
        .isl(8)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (1, 0, 5)
    );
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "error_request_count", "avg"), 5.0);
    assert!(
        s.get("request_throughput").is_none(),
        "no success, no duration, no throughput"
    );
    assert_eq!(read_jsonl(dir.path().join("profile_export.jsonl")).len(), 5);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_fails_fast_without_artifacts() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("run");
    let url = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let err = Profile::new("m", &url)
        .isl(8)
        .run(&artifacts)
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(&url) && msg.contains("refused"), "{msg}");
    assert!(started.elapsed().as_secs() < 10);
    assert!(
        !artifacts.exists(),
        "no artifact directory for a run that never started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmup_is_sent_but_not_measured() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("m", &url)
        .arg("--warmup-request-count", 5)
        .request_count(10)
        .concurrency(3)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.request_count, 10);
    assert_eq!(mock.requests().len(), 15);
    assert_eq!(
        read_jsonl(dir.path().join("profile_export.jsonl")).len(),
        10
    );
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "request_count", "avg"), 10.0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duration_bound_run_stops_sending_and_drains() {
    let mock = mock(2.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let started = std::time::Instant::now();
    let out = Profile::new("m", &url)
        .streaming()
        .arg("--benchmark-duration", 1)
        .concurrency(2)
        .isl(8)
        .osl(4)
        .run(dir.path())
        .await
        .unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(out.request_count > 10, "{}", out.request_count);
    assert!(took < 10.0, "run took {took} s");
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let d = stat(&s, "benchmark_duration", "avg");
    assert!(d > 0.5 && d < 1.5, "benchmark_duration {d}");
    assert_eq!(
        s["input_config"]["phases"]["profiling"]["grace_period"],
        30.0
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_measure_latency_and_input_only() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("e", &url)
        .endpoint("embeddings")
        .request_count(6)
        .isl(12)
        .arg("--batch-size", 2)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (6, 0));
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert!(s.get("output_sequence_length").is_none());
    assert!(s.get("output_token_throughput").is_none());
    assert!(s["request_latency"].is_object());
    // ISL counts the batch texts joined with a space: at least 2 x 12 tokens.
    assert!(stat(&s, "input_sequence_length", "min") >= 24.0);
    assert!(out.console.contains("NVIDIA AIPerf | Embeddings Metrics"));
    let body = mock.requests()[0].json().unwrap();
    assert_eq!(body["input"].as_array().unwrap().len(), 2);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_responses_have_no_itl() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .streaming()
        .request_count(4)
        .isl(8)
        .osl(1)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "output_sequence_length", "max"), 1.0);
    for tag in [
        "inter_token_latency",
        "time_to_second_token",
        "output_token_throughput_per_user",
        "inter_chunk_latency",
    ] {
        assert!(s.get(tag).is_none(), "{tag} needs two tokens");
    }
    assert!(s["time_to_first_token"].is_object());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_reaches_the_server_but_no_artifact() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let secret = "sk-test-9f8e7d6c5b4a";
    Profile::new("m", &url)
        .request_count(3)
        .isl(8)
        .arg("--api-key", secret)
        .arg("-H", "X-Api-Key:other-secret-123")
        .arg("-H", "X-Team:blue")
        .run(dir.path())
        .await
        .unwrap();
    let req = &mock.requests()[0];
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {secret}").as_str())
    );
    assert_eq!(req.header("x-team"), Some("blue"));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(secret) && !text.contains("other-secret-123"),
            "secret leaked into {}",
            path.display()
        );
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_same_inputs() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let mut docs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        Profile::new("m", &url)
            .request_count(3)
            .arg("--num-dataset-entries", 10)
            .isl(30)
            .arg("--isl-stddev", 5)
            .osl(9)
            .arg("--osl-stddev", 3)
            .seed(99)
            .run(dir.path())
            .await
            .unwrap();
        docs.push(std::fs::read_to_string(dir.path().join("inputs.json")).unwrap());
    }
    assert_eq!(docs[0], docs[1]);
    mock.stop().await;
}

/// The flags every AIPerf script passes to its reference runs are accepted (issue 20's first
/// step): the run goes on and writes its usual files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiperf_telemetry_flags_are_accepted() {
    let mock = mock(1.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .request_count(3)
        .isl(8)
        .osl(2)
        .flag("--no-server-metrics")
        .flag("--no-gpu-telemetry")
        .arg("--server-metrics-formats", "json")
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 3));
    assert!(dir.path().join("profile_export_aiperf.json").is_file());
}
