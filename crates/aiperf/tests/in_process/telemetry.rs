//! Server metrics and GPU telemetry end to end: the client scrapes the mock's own metric pages
//! (and small local fakes of awkward servers) beside a real run, and what it wrote is checked
//! against what the client itself measured.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::*;

/// How a fake metrics endpoint answers its n-th request (0 = the probe at start).
type Answer = fn(u64) -> (Duration, &'static str, String);

/// A one-route HTTP/1.1 server answering every request with `answer(n)` after its delay;
/// returns its base URL and the number of requests it saw.
async fn fake_metrics(answer: Answer) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut have = Vec::new();
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    have.extend_from_slice(&buf[..n]);
                    while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                        have.drain(..end + 4);
                        let (delay, ctype, body) = answer(counter.fetch_add(1, Ordering::SeqCst));
                        tokio::time::sleep(delay).await;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        if sock.write_all(head.as_bytes()).await.is_err()
                            || sock.write_all(body.as_bytes()).await.is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
    (url, seen)
}

fn page(n: u64) -> String {
    format!("# TYPE fake_requests_total counter\nfake_requests_total {n}\n")
}

/// Server metrics (on by default): the mock's own counters, read from its `/metrics` page
/// before and after the run, moved by exactly what the client sent and received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_metrics_deltas_equal_what_the_client_measured() {
    let mock = mock(2.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(4)
        .request_count(24)
        .isl(16)
        .osl(5)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(mock.metrics_scrapes() >= 2, "baseline and final scrapes");
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let m = read_json(dir.path().join("server_metrics_export.json"));
    let total = |name: &str| {
        m["metrics"][name]["series"][0]["stats"]["total"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(total("vllm:request_success"), 24.0, "{m:#}");
    assert_eq!(
        total("vllm:generation_tokens"),
        stat(&s, "total_osl", "avg")
    );
    assert_eq!(total("vllm:prompt_tokens"), stat(&s, "total_isl", "avg"));
    assert_eq!(
        m["summary"]["endpoints_successful"][0],
        format!("{}/metrics", mock.url())
    );
    let info = &m["summary"]["endpoint_info"][format!("{}/metrics", mock.url())];
    assert!(info["unique_updates"].as_u64().unwrap() >= 2, "{info:#}");
    assert!(info["last_fetch_ns"].as_u64() >= info["first_fetch_ns"].as_u64());
    let range = &m["summary"]["phase_time_ranges"]["profiling"];
    assert!(range["end_ns"].as_u64() > range["start_ns"].as_u64());
    // The run's configuration echo, the same as in the summary.
    assert_eq!(m["input_config"], s["input_config"]);
    let csv = std::fs::read_to_string(dir.path().join("server_metrics_export.csv")).unwrap();
    assert!(
        csv.contains(",counter,vllm:request_success,requests,24.0000,"),
        "{csv}"
    );
}

/// A metrics page that is not there, or is not Prometheus text, costs the run nothing: it
/// finishes with its usual files and no server metrics file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_garbage_metrics_pages_do_not_hold_the_run() {
    let mock = mock(1.0, 0.5).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = Profile::chat(&mock.url())
        .request_count(4)
        .isl(8)
        .osl(2)
        .arg("--server-metrics", format!("127.0.0.1:{closed}"))
        .arg("--server-metrics", format!("{}/v1/models", mock.url()))
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // The mock's own page still answers, so the file exists with that one endpoint.
    let m = read_json(dir.path().join("server_metrics_export.json"));
    assert_eq!(
        m["summary"]["endpoints_configured"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        m["summary"]["endpoints_successful"],
        serde_json::json!([format!("{}/metrics", mock.url())])
    );
    assert!(dir.path().join("profile_export.jsonl").is_file());
}

/// A page that answers its probe and then takes 5 s per scrape, and one that turns to garbage
/// after its probe: the run ends on time with its files; the garbage one is dropped after five
/// bad pages, the slow one counts failed fetches (each cut at the 2 s fetch timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_garbage_pages_are_cut_off_and_dropped() {
    let mock = mock(1.0, 0.5).await;
    let (slow, slow_seen) = fake_metrics(|n| {
        let delay = if n == 0 { 0 } else { 5 };
        (Duration::from_secs(delay), "text/plain", page(n))
    })
    .await;
    let (garbage, _) = fake_metrics(|n| {
        let body = if n == 0 {
            page(0)
        } else {
            "not { prometheus\n".into()
        };
        (Duration::ZERO, "text/plain", body)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = Profile::chat(&mock.url())
        .concurrency(2)
        .isl(8)
        .osl(2)
        .arg("--benchmark-duration", 3)
        .arg("--server-metrics", format!("{slow}/metrics"))
        .arg("--server-metrics", format!("{garbage}/metrics"))
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    // 3 s of load, at most one 2 s fetch timeout after it, and set-up: never the 5 s pages.
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    let m = read_json(dir.path().join("server_metrics_export.json"));
    let info = &m["summary"]["endpoint_info"];
    let g = &info[format!("{garbage}/metrics")];
    assert!(
        g["dropped"]
            .as_str()
            .unwrap()
            .starts_with("5 pages in a row did not parse"),
        "{m:#}"
    );
    assert_eq!(g["failed_fetches"], 5);
    let s = &info[format!("{slow}/metrics")];
    let failed = s["failed_fetches"].as_u64().unwrap();
    assert!(failed >= 1, "{m:#}");
    assert_eq!(s["total_fetches"].as_u64().unwrap(), failed + 1);
    // Each slow fetch waited its 2 s out: about 3 s / 2 s of them, not one per 333 ms.
    assert!(slow_seen.load(Ordering::SeqCst) <= 4);
    assert!(dir.path().join("profile_export_aiperf.json").is_file());
    assert!(dir.path().join("profile_export.jsonl").is_file());
}

/// TensorRT-LLM's `/metrics` is JSON iteration statistics; its Prometheus page is at
/// `/prometheus/metrics`, and that is what gets read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_metrics_page_falls_back_to_tensorrt_llm_s_prometheus_path() {
    let mock = mock(1.0, 0.5).await;
    // The fake answers JSON to the probe of /metrics, then Prometheus text to everything else
    // (it does not look at the path; the export shows which URL was read).
    let (trt, _) = fake_metrics(|n| match n {
        0 => (
            Duration::ZERO,
            "application/json",
            r#"[{"iter": 1, "numActiveRequests": 0}]"#.into(),
        ),
        n => (Duration::ZERO, "text/plain", page(n)),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .request_count(4)
        .isl(8)
        .osl(2)
        .arg("--server-metrics", format!("{trt}/metrics"))
        .arg("--server-metrics-formats", "json")
        .arg("--server-metrics-formats", "jsonl")
        .arg("--server-metrics-formats", "parquet")
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let m = read_json(dir.path().join("server_metrics_export.json"));
    let url = format!("{trt}/prometheus/metrics");
    assert!(m["summary"]["endpoint_info"][&url].is_object(), "{m:#}");
    let series = &m["metrics"]["fake_requests"]["series"];
    assert!(series
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["endpoint_url"] == url.as_str()));
    // Every scrape is a line of the JSONL, with its own fetch latency.
    let lines = read_jsonl(dir.path().join("server_metrics_export.jsonl"));
    let trt_lines: Vec<_> = lines
        .iter()
        .filter(|l| l["endpoint_url"] == url.as_str())
        .collect();
    assert!(trt_lines.len() >= 2);
    assert!(trt_lines
        .iter()
        .all(|l| l["endpoint_latency_ns"].as_u64().is_some()));
    assert!(!dir.path().join("server_metrics_export.csv").exists());
    // The raw series as Parquet (its layout is checked in aiperf-export): a whole file.
    let pq = std::fs::read(dir.path().join("server_metrics_export.parquet")).unwrap();
    assert!(pq.len() > 8 && pq.starts_with(b"PAR1") && pq.ends_with(b"PAR1"));
}

/// Two fake GPUs that draw nothing idle and 0.5 J per generated token: the GPU pages are read
/// beside the run, and every energy figure follows by hand from the client's own token and
/// request counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn energy_per_token_equals_the_hand_worked_figure_from_fake_gpus() {
    let mock = mock_with(aiperf_mock_server::MockConfig {
        fake_gpus: 2,
        gpu_idle_watts: 0.0,
        gpu_joules_per_token: 0.5,
        ..aiperf_mock_server::MockConfig::for_tests(2.0, 0.5)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(4)
        .request_count(20)
        .isl(16)
        .osl(10)
        .arg("--gpu-telemetry", format!("{}/dcgm/metrics", mock.url()))
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let osl = stat(&s, "total_osl", "avg");
    let isl = stat(&s, "total_isl", "avg");
    assert!(osl > 0.0);
    // 0.5 J per token, split evenly over 2 GPUs: osl * 0.25 J each, osl * 0.5 J in all.
    let joules = osl * 0.5;
    let avg = |tag: &str| {
        s[tag]["avg"]
            .as_f64()
            .unwrap_or_else(|| panic!("{tag}: {s:#}"))
    };
    assert_close(
        avg("nvidia_total_gpu_energy"),
        joules,
        1e-9,
        "total energy (J)",
    );
    assert_close(
        avg("nvidia_energy_per_output_token"),
        500.0,
        1e-9,
        "mJ per output token",
    );
    assert_close(
        avg("nvidia_output_tokens_per_joule"),
        2.0,
        1e-12,
        "tokens per J",
    );
    assert_close(
        avg("nvidia_energy_per_request"),
        joules / 20.0,
        1e-9,
        "J per request",
    );
    assert_close(
        avg("nvidia_energy_per_total_token"),
        joules * 1000.0 / (isl + osl),
        1e-9,
        "mJ per total token",
    );
    assert_close(
        avg("nvidia_energy_per_user"),
        joules / 4.0,
        1e-9,
        "J per user",
    );
    assert_eq!(s["nvidia_energy_per_output_token"]["unit"], "mJ/token");
    // The per-GPU block: each GPU's energy counter moved by osl * 0.25 J (in MJ).
    let port = mock.url().rsplit(':').next().unwrap().to_string();
    let gpus = &s["telemetry_data"]["endpoints"][format!("127.0.0.1:{port}/dcgm")]["gpus"];
    for key in ["gpu_0", "gpu_1"] {
        let g = &gpus[key];
        assert_eq!(g["gpu_name"], "NVIDIA H100 80GB HBM3", "{s:#}");
        let e = g["metrics"]["nvidia_energy_consumption"]["avg"]
            .as_f64()
            .unwrap();
        assert_close(e * 1e6, osl * 0.25, 1e-6, "per-GPU energy (J)");
        assert!(g["metrics"]["nvidia_power_usage"]["max"].as_f64().unwrap() > 0.0);
    }
    // Every scrape of each GPU is a line of the JSONL.
    let lines = read_jsonl(dir.path().join("gpu_telemetry_export.jsonl"));
    assert!(lines.iter().filter(|l| l["gpu_index"] == 0).count() >= 2);
    assert!(lines.iter().filter(|l| l["gpu_index"] == 1).count() >= 2);
    let csv = std::fs::read_to_string(dir.path().join("profile_export_aiperf.csv")).unwrap();
    assert!(
        csv.contains("Energy per Output Token (mJ/token),500.00"),
        "{csv}"
    );
    assert!(csv.contains("\nEndpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,"));
    let console = std::fs::read_to_string(dir.path().join("profile_export_console.txt")).unwrap();
    assert!(
        console.contains("GPU Power Efficiency (NVIDIA)"),
        "{console}"
    );
    assert!(console.contains(&format!("127.0.0.1:{port}/dcgm | GPU 1 | NVIDIA H100")));
}

/// `--no-gpu-telemetry` reads no GPU page at all, and nothing about GPUs is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gpu_telemetry_reads_no_gpu_page() {
    let mock = mock_with(aiperf_mock_server::MockConfig {
        fake_gpus: 1,
        ..aiperf_mock_server::MockConfig::for_tests(1.0, 0.5)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .request_count(3)
        .isl(8)
        .osl(2)
        .flag("--no-gpu-telemetry")
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(mock.dcgm_scrapes(), 0);
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert!(s.get("telemetry_data").is_none());
    assert!(s.get("nvidia_total_gpu_energy").is_none());
    assert!(!dir.path().join("gpu_telemetry_export.jsonl").exists());
}

/// The server's own TTFT histogram, read over the window, puts the median within one bucket
/// of the client's: the mock's buckets are vLLM's, and its TTFT is 150 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_ttft_from_its_histogram_is_within_one_bucket_of_ours() {
    let mock = mock(150.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(4)
        .request_count(12)
        .isl(8)
        .osl(4)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let m = read_json(dir.path().join("server_metrics_export.json"));
    let series = &m["metrics"]["vllm:time_to_first_token_seconds"]["series"][0];
    assert_eq!(series["stats"]["count"], 12.0, "{m:#}");
    // Every observation sits in vLLM's (0.1, 0.25] bucket, and so does the client's TTFT.
    assert_eq!(series["buckets"]["0.1"], 0.0);
    assert_eq!(series["buckets"]["0.25"], 12.0);
    let client_p50_s = stat(&s, "time_to_first_token", "p50") / 1e3;
    assert!((0.1..=0.25).contains(&client_p50_s), "{client_p50_s}");
    // The console puts the two side by side.
    let console = std::fs::read_to_string(dir.path().join("profile_export_console.txt")).unwrap();
    assert!(console.contains("Server vs Client Latency"), "{console}");
}

/// With `--slice-duration`, each server counter is also cut into slices: the slices' increases
/// add up to the window's, and the complete slices' rates give `rate_avg` and friends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sliced_server_counters_add_up_to_the_window() {
    let mock = mock(5.0, 2.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .isl(8)
        .osl(8)
        .arg("--benchmark-duration", 2)
        .arg("--slice-duration", 0.5)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let m = read_json(dir.path().join("server_metrics_export.json"));
    let series = &m["metrics"]["vllm:generation_tokens"]["series"][0];
    let total = series["stats"]["total"].as_f64().unwrap();
    let slices = series["timeslices"].as_array().unwrap();
    assert!(slices.len() >= 4, "{series:#}");
    let summed: f64 = slices.iter().map(|s| s["total"].as_f64().unwrap()).sum();
    assert_eq!(summed, total, "{series:#}");
    assert!(series["stats"]["rate_avg"].as_f64().unwrap() > 0.0);
    assert!(series["stats"]["rate_min"].as_f64() <= series["stats"]["rate_max"].as_f64());
}

/// `--gpu-telemetry FILE.csv` adds DCGM fields in AIPerf's format (`FIELD, type, help (in
/// UNIT)`): the SM clock the fake GPUs report appears under AIPerf's name for it, and a bad line
/// is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_dcgm_field_csv_adds_metrics() {
    let mock = mock_with(aiperf_mock_server::MockConfig {
        fake_gpus: 1,
        ..aiperf_mock_server::MockConfig::for_tests(1.0, 0.5)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "fields.csv",
        "# extra fields\nDCGM_FI_DEV_SM_CLOCK, gauge, SM clock frequency (in MHz).\nnot a field line\n",
    );
    let out = Profile::chat(&mock.url())
        .request_count(4)
        .isl(8)
        .osl(4)
        .arg("--gpu-telemetry", format!("{}/dcgm/metrics", mock.url()))
        .arg("--gpu-telemetry", &csv)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let s = read_json(dir.path().join("run/profile_export_aiperf.json"));
    let port = mock.url().rsplit(':').next().unwrap().to_string();
    let g = &s["telemetry_data"]["endpoints"][format!("127.0.0.1:{port}/dcgm")]["gpus"]["gpu_0"];
    let clock = &g["metrics"]["nvidia_sm_clock"];
    assert_eq!(clock["unit"], "MHz", "{g:#}");
    // The mock's SM clock is 345 MHz idle and 1980 MHz busy.
    let max = clock["max"].as_f64().unwrap();
    assert!(max == 345.0 || max == 1980.0, "{clock:#}");
    // The built-in fields are still there.
    assert!(g["metrics"]["nvidia_power_usage"].is_object());
}
