//! Network latency calibration end to end against the mock over loopback:
//! `--network-latency-mean` subtracts exactly the given RTT from TTFT, TTFO and request latency
//! (checked against the per-request values of `profile_export.jsonl`), and
//! `--network-latency-automatic` probes the server's TCP handshake during the run and writes
//! every probe to `profile_export_network_latency.jsonl`.

use crate::common::*;
use serde_json::Value;

/// numpy's default percentile (linear interpolation) of `v`, for hand-checking the summary.
fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let h = q / 100.0 * (s.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (s[hi] - s[lo]) * (h - lo as f64)
}

/// A record metric's values (ms) from the records file.
fn values(records: &[Value], tag: &str) -> Vec<f64> {
    records
        .iter()
        .map(|r| {
            r["metrics"][tag]["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{tag} missing in {r}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_mean_is_subtracted_from_every_request() {
    // First token 20 ms after the request: every latency is well above the 5 ms RTT, so the
    // adjusted values are the raw ones less 5 ms, request by request.
    let mock = mock(20.0, 2.0).await;
    let dir = tempfile::tempdir().unwrap();
    Profile::new("m", &mock.url())
        .streaming()
        .concurrency(2)
        .request_count(8)
        .isl(8)
        .osl(6)
        .arg("--network-latency-mean", 5)
        .arg("--slice-duration", 10)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    let records = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(records.len(), 8);
    for (adjusted, raw) in [
        (
            "network_adjusted_time_to_first_token",
            "time_to_first_token",
        ),
        (
            "network_adjusted_time_to_first_output_token",
            "time_to_first_output_token",
        ),
        ("network_adjusted_request_latency", "request_latency"),
    ] {
        let shifted: Vec<f64> = values(&records, raw).iter().map(|v| v - 5.0).collect();
        assert!(shifted.iter().all(|v| *v > 0.0), "{raw}: {shifted:?}");
        let n = shifted.len() as f64;
        assert_close(
            stat(&s, adjusted, "avg"),
            shifted.iter().sum::<f64>() / n,
            1e-6,
            adjusted,
        );
        assert_close(
            stat(&s, adjusted, "min"),
            percentile(&shifted, 0.0),
            1e-6,
            adjusted,
        );
        assert_close(
            stat(&s, adjusted, "p50"),
            percentile(&shifted, 50.0),
            1e-6,
            adjusted,
        );
        assert_close(
            stat(&s, adjusted, "p90"),
            percentile(&shifted, 90.0),
            1e-6,
            adjusted,
        );
        assert_close(
            stat(&s, adjusted, "std"),
            stat(&s, raw, "std"),
            1e-6,
            adjusted,
        );
        assert_eq!(stat(&s, adjusted, "count"), 8.0);
        assert_eq!(s[adjusted]["unit"], "ms");
        // Not per record: the records file keeps only the raw value.
        assert!(records[0]["metrics"].get(adjusted).is_none());
    }
    assert_eq!(stat(&s, "network_rtt", "avg"), 5.0);
    assert_eq!(stat(&s, "network_rtt", "count"), 1.0);
    assert_eq!(stat(&s, "network_rtt", "std"), 0.0);
    // The CSV and the console carry them under AIPerf's headers.
    let csv = std::fs::read_to_string(dir.path().join("profile_export_aiperf.csv")).unwrap();
    assert!(csv.contains("Network-Adjusted Request Latency"), "{csv}");
    assert!(csv.contains("Network RTT"), "{csv}");
    let console = std::fs::read_to_string(dir.path().join("profile_export_console.txt")).unwrap();
    assert!(
        console.contains("Network-Adjusted Time to First"),
        "{console}"
    );
    assert!(console.contains("Network RTT"), "{console}");
    // The one 10 s timeslice holds every request, so its adjusted latency is the run's.
    let t = read_json(dir.path().join("profile_export_aiperf_timeslices.json"));
    let slice = &t["timeslices"][0];
    assert_close(
        slice["network_adjusted_request_latency"]["avg"]
            .as_f64()
            .unwrap(),
        stat(&s, "network_adjusted_request_latency", "avg"),
        1e-6,
        "timeslice",
    );
    // No probing with a fixed mean: no probe file.
    assert!(!dir
        .path()
        .join("profile_export_network_latency.jsonl")
        .exists());
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_probes_the_handshake_and_writes_every_probe() {
    let mock = mock(20.0, 2.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    Profile::new("m", &url)
        .streaming()
        .concurrency(2)
        .request_count(10)
        .isl(8)
        .osl(6)
        .flag("--network-latency-automatic")
        .arg("--network-latency-ping-interval", 0.02)
        .arg("--profile-export-prefix", "run7")
        .run(dir.path())
        .await
        .unwrap();
    // AIPerf's name under --profile-export-prefix: <prefix>_network_latency.jsonl.
    let probes = read_jsonl(dir.path().join("run7_network_latency.jsonl"));
    // A run of at least 10 * 30 ms / 2 = 150 ms at 20 ms intervals, topped up to 5 successes.
    assert!(probes.len() >= 5, "{} probes", probes.len());
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    let mut rtts = Vec::new();
    for p in &probes {
        assert_eq!(p["probe_type"], "tcp_connect");
        assert_eq!(p["success"], true, "{p}");
        assert_eq!(p["target_host"], "127.0.0.1");
        assert_eq!(p["target_port"].to_string(), port);
        assert!(p["timestamp_ns"].as_u64().unwrap() > 1_600_000_000_000_000_000);
        assert!(p.get("error").is_none());
        rtts.push(p["rtt_ns"].as_u64().unwrap() as f64);
    }
    // Loopback handshakes: above 0, far below a second.
    assert!(rtts.iter().all(|r| *r > 0.0 && *r < 1e9), "{rtts:?}");
    // The summary's own prefix naming belongs to the exporters: take whichever name it has.
    let summary = ["run7.json", "profile_export_aiperf.json"]
        .iter()
        .map(|n| dir.path().join(n))
        .find(|p| p.exists())
        .expect("a summary JSON");
    let s = read_json(summary);
    let mean_ms = rtts.iter().sum::<f64>() / rtts.len() as f64 / 1e6;
    let rtt = stat(&s, "network_rtt", "avg");
    assert_close(rtt, mean_ms, 1e-9, "network_rtt is the mean of the probes");
    assert_close(
        stat(&s, "network_adjusted_request_latency", "avg"),
        stat(&s, "request_latency", "avg") - rtt,
        1e-6,
        "adjusted latency",
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_calibration_there_are_no_network_metrics() {
    let mock = mock(1.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    Profile::new("m", &mock.url())
        .streaming()
        .request_count(3)
        .isl(8)
        .osl(4)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert!(s.get("network_rtt").is_none());
    assert!(s.get("network_adjusted_request_latency").is_none());
    mock.stop().await;
}

// ---- Server-reported per-request stats that travel with the usage (parse.rs -> metrics) ----

/// A keep-alive HTTP/1.1 server on loopback answering every request with `body` (JSON): a
/// stand-in for a vLLM started with `--per-request-spec-decode-metrics`, which the mock is not.
async fn fixed_json_server(body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_spec_decode_stats_become_acceptance_metrics() {
    // Every answer: 4 verify steps accepting 0, 2, 3, 3 of 3 drafts (8 of 12): acceptance
    // length 3, draft acceptance 66.67 %, accepted per verified (8 + 4) / (12 + 4) = 0.75.
    let body = r#"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,
        "message":{"role":"assistant","content":"hello there"},"finish_reason":"stop"}],
        "usage":{"prompt_tokens":8,"completion_tokens":2,"total_tokens":10},
        "metrics":{"speculative_decoding":{"mean_acceptance_length":3.0,
        "draft_acceptance_rate":0.6666666666666666,"acceptance_histogram":[1,0,1,2],
        "num_accepted_draft_tokens":8,"num_draft_tokens":12,"num_spec_steps":4,
        "num_spec_tokens":3}}}"#
        .replace('\n', "");
    let url = fixed_json_server(body).await;
    let dir = tempfile::tempdir().unwrap();
    Profile::new("m", &url)
        .concurrency(1)
        .request_count(3)
        .isl(8)
        .osl(2)
        .run(dir.path())
        .await
        .unwrap();
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "spec_decode_acceptance_length", "avg"), 3.0);
    assert_close(
        stat(&s, "spec_decode_draft_acceptance_rate", "avg"),
        200.0 / 3.0,
        1e-9,
        "draft acceptance rate",
    );
    assert_eq!(stat(&s, "spec_decode_accepted_per_verified", "avg"), 0.75);
    assert_eq!(stat(&s, "spec_decode_steps", "count"), 3.0);
    // Run level over 3 requests: 12 steps, 24 of 36 drafts: 1 + 24 / 12 = 3.
    assert_eq!(stat(&s, "total_spec_decode_steps", "avg"), 12.0);
    assert_eq!(stat(&s, "total_draft_tokens", "avg"), 36.0);
    assert_eq!(
        stat(&s, "spec_decode_token_weighted_acceptance_length", "avg"),
        3.0
    );
    assert_close(
        stat(&s, "spec_decode_overall_draft_acceptance_rate", "avg"),
        200.0 / 3.0,
        1e-9,
        "overall rate",
    );
    // Per record too: each line carries its request's acceptance length.
    let records = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[0]["metrics"]["spec_decode_acceptance_length"]["value"],
        3.0
    );
}
