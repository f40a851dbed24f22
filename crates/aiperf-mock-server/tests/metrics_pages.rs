//! The metrics pages over loopback: after real requests (streamed and whole), each
//! `--metrics-style` page parses as Prometheus text, its counters equal hand-worked totals, its
//! histograms count what was served (cumulative, monotone buckets, a configured TTFT in the
//! right bucket), its gauges follow the requests in flight, and the fake GPUs' energy grows by
//! exactly `tokens * J / N` per GPU with no idle power.
//!
//! The client is a few lines of raw HTTP/1.1, so nothing here depends on aiperf's own client;
//! the pages are checked with aiperf-telemetry's parser (a dev-dependency).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aiperf_mock_server::{start, MetricsStyle, MockConfig, MockHandle};
use aiperf_telemetry::{parse, MetricType, Page};
use clap::Parser;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Reply {
    status: u16,
    body: String,
}

/// Sends one HTTP/1.1 request and reads the whole response (the connection is closed after it).
async fn send(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Reply {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: mock\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().expect("a status code");
    let mut rest = &raw[split + 4..];
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
    Reply {
        status,
        body: String::from_utf8(body).expect("UTF-8 body"),
    }
}

async fn post(addr: SocketAddr, body: Value) -> Reply {
    let r = send(addr, "POST", "/v1/completions", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

/// GETs a Prometheus page and parses it.
async fn page(addr: SocketAddr, path: &str) -> Page {
    let r = send(addr, "GET", path, None).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    parse(&r.body).unwrap_or_else(|e| panic!("{path} must parse: {e}\n{}", r.body))
}

/// 40 characters: 10 prompt tokens with `--tokenizer none` (a token per 4 bytes).
const PROMPT: &str = "abcdefghijklmnopqrstuvwxyzabcdefghijklmn";
const PROMPT_TOKENS: u64 = 10;

fn completion(max_tokens: Option<u64>, stream: bool) -> Value {
    let mut v = json!({"model": "m", "prompt": PROMPT, "stream": stream});
    if let Some(m) = max_tokens {
        v["max_tokens"] = json!(m);
    }
    v
}

fn cfg(ttft_ms: f64, itl_ms: f64, style: MetricsStyle) -> MockConfig {
    MockConfig {
        tokenizer: "none".into(),
        default_output_tokens: 3,
        metrics_style: style,
        ..MockConfig::for_tests(ttft_ms, itl_ms)
    }
}

/// The four requests every style test sends, at once: streamed with 5 tokens (twice), whole
/// with 4, streamed with no length (the default 3, finish reason `stop`). 17 output tokens,
/// 40 prompt tokens, 10 streamed gaps, 3 streamed replies of 2+ tokens.
async fn four_requests(addr: SocketAddr) {
    let replies = tokio::join!(
        post(addr, completion(Some(5), true)),
        post(addr, completion(Some(5), true)),
        post(addr, completion(Some(4), false)),
        post(addr, completion(None, true)),
    );
    let whole: Value = serde_json::from_str(&replies.2.body).expect("a JSON reply");
    assert_eq!(whole["usage"]["prompt_tokens"], PROMPT_TOKENS);
    assert_eq!(whole["usage"]["completion_tokens"], 4);
}
const OUTPUT_TOKENS: u64 = 17;
const STREAMED_GAPS: u64 = 4 + 4 + 2;

/// The one sample named `name` whose labels include all of `labels`.
fn value(p: &Page, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = p
        .families
        .iter()
        .flat_map(|f| &f.samples)
        .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .map(|s| s.value)
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0]
}

/// Every histogram of the page is well formed: buckets sorted by `le`, cumulative (never
/// falling), `+Inf` last and equal to `_count`, `_sum` present.
fn histograms_are_well_formed(p: &Page) {
    for f in p
        .families
        .iter()
        .filter(|f| f.kind == MetricType::Histogram)
    {
        for s in f.buckets() {
            let counts: Vec<f64> = s.buckets.iter().map(|b| b.1).collect();
            assert!(
                counts.windows(2).all(|w| w[0] <= w[1]),
                "{}: {counts:?}",
                f.name
            );
            let last = s.buckets.last().expect("buckets");
            assert_eq!(last.0, f64::INFINITY, "{}", f.name);
            assert_eq!(Some(last.1), s.count, "{}", f.name);
            assert!(s.sum.is_some_and(|v| v >= 0.0), "{}", f.name);
        }
    }
}

/// `(count, sum, cumulative count at le)` of the single series of histogram `name`.
fn hist(p: &Page, name: &str, le: f64) -> (f64, f64, f64) {
    let f = p.family(name).unwrap_or_else(|| panic!("{name} missing"));
    let s = &f.buckets()[0];
    let at = s
        .buckets
        .iter()
        .find(|b| b.0 == le)
        .unwrap_or_else(|| panic!("{name}: no le={le}"))
        .1;
    (s.count.unwrap(), s.sum.unwrap(), at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_page_counts_and_times_what_was_served() {
    // TTFT 150 ms: streamed TTFTs (~0.15 s) and whole replies' (TTFT = e2e = 150 + 3 * 10 ms)
    // all land in vLLM's (0.1, 0.25] bucket.
    let mock = start(cfg(150.0, 10.0, MetricsStyle::Vllm)).await.unwrap();
    let before = page(mock.addr, "/metrics").await;
    assert_eq!(value(&before, "vllm:prompt_tokens_total", &[]), 0.0);
    assert!(before
        .family("vllm:request_success_total")
        .unwrap()
        .samples
        .is_empty());
    four_requests(mock.addr).await;
    let p = page(mock.addr, "/metrics").await;
    histograms_are_well_formed(&p);

    let l = [("model_name", "mock-model"), ("engine", "0")];
    let total = |name: &str| value(&p, name, &l);
    assert_eq!(total("vllm:prompt_tokens_total"), 40.0);
    assert_eq!(total("vllm:generation_tokens_total"), OUTPUT_TOKENS as f64);
    assert_eq!(mock.prompt_tokens(), 40);
    assert_eq!(mock.generation_tokens(), OUTPUT_TOKENS);
    assert_eq!(total("vllm:prefix_cache_queries_total"), 40.0);
    assert_eq!(total("vllm:prefix_cache_hits_total"), 4.0 * 4.0); // 40 % of 10, each
    assert_eq!(total("vllm:num_preemptions_total"), 0.0);
    let success = |reason| {
        value(
            &p,
            "vllm:request_success_total",
            &[("finished_reason", reason)],
        )
    };
    assert_eq!((success("length"), success("stop")), (3.0, 1.0));
    assert_eq!(total("vllm:num_requests_running"), 0.0);
    assert_eq!(total("vllm:num_requests_waiting"), 0.0);
    assert_eq!(total("vllm:kv_cache_usage_perc"), 0.0);
    assert_eq!(total("vllm:gpu_cache_usage_perc"), 0.0);

    let (count, sum, under) = hist(&p, "vllm:time_to_first_token_seconds", 0.1);
    let (_, _, within) = hist(&p, "vllm:time_to_first_token_seconds", 0.25);
    assert_eq!(
        (count, under, within),
        (4.0, 0.0, 4.0),
        "TTFT in (0.1, 0.25]"
    );
    assert!((0.6..1.0).contains(&sum), "TTFT sum {sum}");
    let (count, sum, _) = hist(&p, "vllm:inter_token_latency_seconds", 0.01);
    assert_eq!(count, STREAMED_GAPS as f64);
    // Absolute deadlines: each streamed reply's gaps add up to ~ (n - 1) * 10 ms.
    assert!((0.05..2.0).contains(&sum), "ITL sum {sum}");
    let (count, _, _) = hist(&p, "vllm:request_time_per_output_token_seconds", 0.01);
    assert_eq!(count, 3.0);
    let (count, sum, under) = hist(&p, "vllm:e2e_request_latency_seconds", 0.3);
    assert_eq!((count, under), (4.0, 4.0));
    assert!(sum >= 4.0 * 0.15, "e2e sum {sum}");
    let (count, sum, _) = hist(&p, "vllm:request_queue_time_seconds", 0.3);
    assert_eq!((count, sum), (4.0, 0.0), "no --capacity, no queueing");
    let (count, sum, at10) = hist(&p, "vllm:request_prompt_tokens", 10.0);
    assert_eq!((count, sum, at10), (4.0, 40.0, 4.0));
    assert_eq!(hist(&p, "vllm:request_prompt_tokens", 5.0).2, 0.0);
    let (count, sum, at5) = hist(&p, "vllm:request_generation_tokens", 5.0);
    assert_eq!((count, sum, at5), (4.0, OUTPUT_TOKENS as f64, 4.0));
    assert_eq!(hist(&p, "vllm:request_generation_tokens", 2.0).2, 0.0);

    // Scrapes are counted, not recorded, and do not count as load.
    assert_eq!(mock.metrics_scrapes(), 2);
    assert_eq!(mock.dcgm_scrapes(), 0);
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec!["/v1/completions"; 4]);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauges_follow_the_requests_in_flight_and_queued() {
    // One slot: a long streamed reply runs while a second one waits for the slot.
    let mock = start(MockConfig {
        capacity: 1,
        kv_cache_tokens: 1000,
        ..cfg(10.0, 40.0, MetricsStyle::Vllm)
    })
    .await
    .unwrap();
    let addr = mock.addr;
    let long = |n| {
        // 400 characters: 100 prompt tokens.
        let prompt = PROMPT.repeat(10);
        json!({"model": "m", "prompt": prompt, "max_tokens": n, "stream": true})
    };
    let first = tokio::spawn(post(addr, long(25)));
    until(&mock, |m| m.in_flight() == 1).await;
    let second = tokio::spawn(post(addr, long(2)));
    until(&mock, |m| m.queued() == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let p = page(addr, "/metrics").await;
    let g = |name: &str| value(&p, name, &[("model_name", "mock-model")]);
    assert_eq!(g("vllm:num_requests_running"), 1.0);
    assert_eq!(g("vllm:num_requests_waiting"), 1.0);
    // The running request holds its 100 prompt tokens and the ~8 it has streamed, of 1000.
    let kv = g("vllm:kv_cache_usage_perc");
    assert!((0.101..0.125).contains(&kv), "KV usage {kv}");
    first.await.unwrap();
    second.await.unwrap();
    let p = page(addr, "/metrics").await;
    assert_eq!(value(&p, "vllm:kv_cache_usage_perc", &[]), 0.0);
    assert_eq!(value(&p, "vllm:num_requests_waiting", &[]), 0.0);
    // The second request waited about the first one's 10 + 24 * 40 ms for its slot.
    let (count, sum, _) = hist(&p, "vllm:request_queue_time_seconds", 0.3);
    assert_eq!(count, 2.0);
    assert!((0.5..5.0).contains(&sum), "queue sum {sum}");
    mock.stop().await;
}

async fn until(mock: &MockHandle, cond: impl Fn(&MockHandle) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond(mock) {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Sends the four requests to a mock of `style` and returns its Prometheus page.
async fn served_page(style: MetricsStyle, path: &str) -> (MockHandle, Page) {
    let mock = start(cfg(1.0, 1.0, style)).await.unwrap();
    four_requests(mock.addr).await;
    let p = page(mock.addr, path).await;
    histograms_are_well_formed(&p);
    (mock, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sglang_page() {
    let (mock, p) = served_page(MetricsStyle::Sglang, "/metrics").await;
    let l = [("model_name", "mock-model")];
    let v = |name: &str| value(&p, name, &l);
    assert_eq!(v("sglang:prompt_tokens_total"), 40.0);
    assert_eq!(v("sglang:generation_tokens_total"), OUTPUT_TOKENS as f64);
    assert_eq!(v("sglang:num_requests_total"), 4.0);
    assert_eq!(v("sglang:cache_hit_rate"), 0.4);
    assert_eq!(v("sglang:num_running_reqs"), 0.0);
    assert_eq!(v("sglang:num_queue_reqs"), 0.0);
    assert_eq!(v("sglang:token_usage"), 0.0);
    assert_eq!(v("sglang:max_total_num_tokens"), 65536.0);
    assert!(
        v("sglang:gen_throughput") > 0.0,
        "tokens were handed over just now"
    );
    assert_eq!(hist(&p, "sglang:time_to_first_token_seconds", 0.1).0, 4.0);
    assert_eq!(
        hist(&p, "sglang:inter_token_latency_seconds", 0.002).0,
        STREAMED_GAPS as f64
    );
    assert_eq!(hist(&p, "sglang:e2e_request_latency_seconds", 0.1).0, 4.0);
    assert_eq!(
        hist(&p, "sglang:request_generation_tokens", 5.0).1,
        OUTPUT_TOKENS as f64
    );
    let r = send(mock.addr, "GET", "/prometheus/metrics", None).await;
    assert_eq!(r.status, 404, "only trtllm serves /prometheus/metrics");
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trtllm_prometheus_page_and_iteration_stats_json() {
    let (mock, p) = served_page(MetricsStyle::Trtllm, "/prometheus/metrics").await;
    let l = [("engine_type", "trtllm"), ("model_name", "mock-model")];
    let v = |name: &str| value(&p, name, &l);
    let success = |r| {
        value(
            &p,
            "trtllm_request_success_total",
            &[("finished_reason", r)],
        )
    };
    assert_eq!((success("length"), success("stop")), (3.0, 1.0));
    assert_eq!(v("trtllm_prompt_tokens_total"), 40.0);
    assert_eq!(v("trtllm_generation_tokens_total"), OUTPUT_TOKENS as f64);
    assert_eq!(v("trtllm_kv_cache_hit_rate"), 0.4);
    assert_eq!(v("trtllm_kv_cache_utilization"), 0.0);
    assert_eq!(v("trtllm_num_requests_running"), 0.0);
    assert_eq!(v("trtllm_num_requests_waiting"), 0.0);
    assert_eq!(hist(&p, "trtllm_time_to_first_token_seconds", 0.001).0, 4.0);
    assert_eq!(hist(&p, "trtllm_e2e_request_latency_seconds", 0.3).0, 4.0);
    assert_eq!(hist(&p, "trtllm_request_queue_time_seconds", 0.3).0, 4.0);
    // Per-request TPOT: the three streamed replies of 2+ tokens.
    assert_eq!(
        hist(&p, "trtllm_time_per_output_token_seconds", 0.01).0,
        3.0
    );

    // trtllm-serve's /metrics is iteration-stats JSON, not Prometheus text.
    let r = send(mock.addr, "GET", "/metrics", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with('['), "{}", r.body);
    let stats: Value = serde_json::from_str(&r.body).expect("JSON");
    let it = &stats[0];
    assert_eq!(it["numActiveRequests"], 0);
    assert_eq!(it["numQueuedRequests"], 0);
    assert_eq!(it["numCompletedRequests"], 4);
    assert_eq!(it["kvCacheStats"]["maxNumBlocks"], 2048);
    assert_eq!(it["kvCacheStats"]["usedNumBlocks"], 0);
    assert_eq!(it["kvCacheStats"]["cacheHitRate"], 0.4);
    assert!(it["gpuMemUsage"].as_u64().unwrap() > 0);
    assert!(it["iter"].as_u64().is_some() && it["timestamp"].is_string());
    assert_eq!(mock.metrics_scrapes(), 2, "both pages are metrics scrapes");
    assert!(mock.requests().iter().all(|r| r.path == "/v1/completions"));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamo_frontend_page() {
    let (mock, p) = served_page(MetricsStyle::Dynamo, "/metrics").await;
    let requests = |request_type| {
        value(
            &p,
            "dynamo_frontend_requests_total",
            &[
                ("endpoint", "completions"),
                ("model", "mock-model"),
                ("request_type", request_type),
                ("status", "success"),
            ],
        )
    };
    assert_eq!((requests("stream"), requests("unary")), (3.0, 1.0));
    let l = [("model", "mock-model")];
    let v = |name: &str| value(&p, name, &l);
    assert_eq!(v("dynamo_frontend_inflight_requests"), 0.0);
    assert_eq!(v("dynamo_frontend_queued_requests"), 0.0);
    assert_eq!(
        v("dynamo_frontend_output_tokens_total"),
        OUTPUT_TOKENS as f64
    );
    let (count, sum, at) = hist(&p, "dynamo_frontend_input_sequence_tokens", 50.0);
    assert_eq!((count, sum, at), (4.0, 40.0, 4.0));
    let (count, sum, at) = hist(&p, "dynamo_frontend_output_sequence_tokens", 0.0);
    assert_eq!((count, sum, at), (4.0, OUTPUT_TOKENS as f64, 0.0));
    assert_eq!(
        hist(&p, "dynamo_frontend_time_to_first_token_seconds", 0.0).0,
        4.0
    );
    assert_eq!(
        hist(&p, "dynamo_frontend_inter_token_latency_seconds", 0.0).0,
        STREAMED_GAPS as f64
    );
    assert_eq!(
        hist(&p, "dynamo_frontend_request_duration_seconds", 0.0).0,
        4.0
    );
    mock.stop().await;
}

/// Every sample's value of DCGM field `name`, by GPU index.
fn per_gpu(p: &Page, name: &str) -> Vec<f64> {
    let f = p.family(name).unwrap_or_else(|| panic!("{name} missing"));
    let mut v: Vec<(String, f64)> = f
        .samples
        .iter()
        .map(|s| (s.label("gpu").unwrap().to_string(), s.value))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into_iter().map(|(_, x)| x).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_gpu_energy_grows_by_exactly_tokens_times_joules_over_gpus() {
    let mock = start(MockConfig {
        fake_gpus: 2,
        gpu_idle_watts: 0.0,
        gpu_joules_per_token: 0.5,
        ..cfg(0.0, 0.0, MetricsStyle::Vllm)
    })
    .await
    .unwrap();
    let energy = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
    let before = page(mock.addr, "/dcgm/metrics").await;
    assert_eq!(per_gpu(&before, energy), vec![0.0, 0.0]);
    // 1000 output tokens: 4 streamed replies of 250.
    let body = json!({"model": "m", "prompt": PROMPT, "max_tokens": 250, "stream": true});
    tokio::join!(
        post(mock.addr, body.clone()),
        post(mock.addr, body.clone()),
        post(mock.addr, body.clone()),
        post(mock.addr, body),
    );
    let after = page(mock.addr, "/dcgm/metrics").await;
    // 1000 tokens * 0.5 J / 2 GPUs = 250 J = 250000 mJ per GPU, 500 J in all.
    let delta: Vec<f64> = per_gpu(&after, energy)
        .iter()
        .zip(per_gpu(&before, energy))
        .map(|(a, b)| a - b)
        .collect();
    assert_eq!(delta, vec![250_000.0, 250_000.0]);
    assert_eq!(after.family(energy).unwrap().kind, MetricType::Counter);

    // dcgm-exporter's labels, one GPU each.
    let power = after.family("DCGM_FI_DEV_POWER_USAGE").unwrap();
    assert_eq!(power.kind, MetricType::Gauge);
    let s = &power.samples[1];
    let names: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "gpu",
            "UUID",
            "pci_bus_id",
            "device",
            "modelName",
            "Hostname",
            "DCGM_FI_DRIVER_VERSION",
            "container",
            "namespace",
            "pod"
        ]
    );
    assert_eq!(s.label("gpu"), Some("1"));
    assert_eq!(s.label("device"), Some("nvidia1"));
    assert_eq!(s.label("pci_bus_id"), Some("00000000:2A:00.0"));
    assert_eq!(s.label("modelName"), Some("NVIDIA H100 80GB HBM3"));
    assert!(s.label("UUID").unwrap().starts_with("GPU-"));
    assert_ne!(power.samples[0].label("UUID"), s.label("UUID"));
    for name in [
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_PROF_SM_ACTIVE",
        "DCGM_FI_DEV_XID_ERRORS",
        "DCGM_FI_DEV_POWER_VIOLATION",
        "DCGM_FI_DEV_SM_CLOCK",
        "DCGM_FI_DEV_MEM_CLOCK",
    ] {
        assert_eq!(per_gpu(&after, name).len(), 2, "{name}");
    }
    // Idle now: nothing in flight, the KV cache empty.
    assert_eq!(per_gpu(&after, "DCGM_FI_DEV_GPU_UTIL"), vec![0.0, 0.0]);
    assert_eq!(per_gpu(&after, "DCGM_FI_DEV_FB_USED"), vec![17_000.0; 2]);
    assert_eq!(per_gpu(&after, "DCGM_FI_DEV_FB_FREE"), vec![64_559.0; 2]);
    // Power = idle (0) + 0.5 J * recent token rate / 2: the 1000 tokens were just generated.
    assert!(per_gpu(&after, "DCGM_FI_DEV_POWER_USAGE")[0] > 0.0);

    assert_eq!((mock.dcgm_scrapes(), mock.metrics_scrapes()), (2, 0));
    assert!(mock.requests().iter().all(|r| r.path == "/v1/completions"));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_gpus_draw_idle_power_into_the_energy_counter() {
    let mock = start(MockConfig {
        fake_gpus: 1,
        gpu_idle_watts: 100.0,
        ..cfg(0.0, 0.0, MetricsStyle::Vllm)
    })
    .await
    .unwrap();
    let energy = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";
    let t0 = Instant::now();
    let a = per_gpu(&page(mock.addr, "/dcgm/metrics").await, energy)[0];
    let t1 = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t2 = Instant::now();
    let p = page(mock.addr, "/dcgm/metrics").await;
    let t3 = Instant::now();
    let b = per_gpu(&p, energy)[0];
    // The two reads happened between t0..t1 and t2..t3: 100 W is 100 mJ per ms.
    let lo = 100.0 * (t2 - t1).as_secs_f64() * 1000.0 - 1.0;
    let hi = 100.0 * (t3 - t0).as_secs_f64() * 1000.0 + 1.0;
    assert!((lo..=hi).contains(&(b - a)), "{} not in {lo}..={hi}", b - a);
    assert_eq!(per_gpu(&p, "DCGM_FI_DEV_POWER_USAGE"), vec![100.0]);
    assert_eq!(per_gpu(&p, "DCGM_FI_DEV_GPU_TEMP"), vec![36.0]); // 30 + 0.06 * 100
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fake_gpus_no_page_and_absurd_counts_are_refused() {
    let mock = start(cfg(0.0, 0.0, MetricsStyle::Vllm)).await.unwrap();
    let r = send(mock.addr, "GET", "/dcgm/metrics", None).await;
    assert_eq!(r.status, 404);
    assert!(
        mock.requests().is_empty(),
        "a monitoring read, never recorded"
    );
    mock.stop().await;

    let err = MockConfig::try_parse_from(["aiperf-mock-server", "--fake-gpus", "1000"])
        .expect_err("--fake-gpus 1000 is refused");
    assert!(err.to_string().contains("1000"), "{err}");
    let ok = MockConfig::try_parse_from(["aiperf-mock-server", "--fake-gpus", "64"]).unwrap();
    assert_eq!(ok.fake_gpus, 64);
    let err = start(MockConfig {
        fake_gpus: 1000,
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await
    .err()
    .expect("an in-process config is checked too");
    assert!(err.to_string().contains("--fake-gpus 1000"), "{err}");
    let defaults = MockConfig::default();
    assert_eq!(defaults.metrics_style, MetricsStyle::Vllm);
    assert_eq!(
        (
            defaults.fake_gpus,
            defaults.kv_cache_tokens,
            defaults.gpu_idle_watts,
            defaults.gpu_joules_per_token
        ),
        (0, 65536, 70.0, 0.5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_are_counted_as_errors_not_successes() {
    let mock = start(MockConfig {
        error_rate: 100.0,
        ..cfg(0.0, 0.0, MetricsStyle::Dynamo)
    })
    .await
    .unwrap();
    let r = send(
        mock.addr,
        "POST",
        "/v1/completions",
        Some(&completion(Some(3), true)),
    )
    .await;
    assert_eq!(r.status, 500);
    let p = page(mock.addr, "/metrics").await;
    assert_eq!(value(&p, "aiperf_mock_errors_total", &[]), 1.0);
    let f = p.family("dynamo_frontend_requests_total").unwrap();
    assert_eq!(f.samples.len(), 1, "{:?}", f.samples);
    assert_eq!(f.samples[0].label("status"), Some("error"));
    assert_eq!(f.samples[0].label("request_type"), Some("stream"));
    assert_eq!(value(&p, "dynamo_frontend_output_tokens_total", &[]), 0.0);
    assert_eq!(
        hist(&p, "dynamo_frontend_request_duration_seconds", 0.0).0,
        0.0
    );
    mock.stop().await;
}
