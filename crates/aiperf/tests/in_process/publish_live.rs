//! Publishing a run live, end to end over loopback: `--otel-url` against a fake OTLP/HTTP
//! receiver that decodes the protobuf it is sent (as an OpenTelemetry Collector would), and
//! `--metrics-listen` scraped during the run and at its end. Every count is checked against
//! the run's own summary (`profile_export_aiperf.json`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use clap::Parser;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, Metric};
use prost::Message;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// One POST the receiver took: path, headers (lower-case names), decoded body.
struct Received {
    path: String,
    headers: BTreeMap<String, String>,
    body: ExportMetricsServiceRequest,
}

/// A fake OTLP/HTTP collector on 127.0.0.1: keep-alive HTTP/1.1, answers each POST with
/// `status` and an empty `ExportMetricsServiceResponse` (zero protobuf bytes). Returns its
/// `host:port` and what it received.
async fn otlp_receiver(status: &'static str) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let got = got2.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut headers = BTreeMap::new();
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = h.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let body = ExportMetricsServiceRequest::decode(body.as_slice())
                        .expect("the body is an OTLP ExportMetricsServiceRequest");
                    got.lock().unwrap().push(Received {
                        path,
                        headers,
                        body,
                    });
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
                    );
                    if r.get_mut().write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, got)
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn str_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attr(attrs, key) {
        Some(any_value::Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn metrics(req: &ExportMetricsServiceRequest) -> Vec<&Metric> {
    req.resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .collect()
}

fn find<'a>(req: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    metrics(req)
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no {name} exported"))
}

/// (count, sum) of a histogram's successful-request data points.
fn ok_hist(m: &Metric) -> (u64, f64) {
    let Some(metric::Data::Histogram(h)) = &m.data else {
        panic!("{} is not a histogram", m.name)
    };
    h.data_points
        .iter()
        .filter(|p| {
            matches!(
                attr(&p.attributes, "aiperf.has_error"),
                Some(any_value::Value::BoolValue(false))
            )
        })
        .fold((0, 0.0), |(c, s), p| {
            (c + p.count, s + p.sum.unwrap_or(0.0))
        })
}

fn counter(m: &Metric) -> f64 {
    let Some(metric::Data::Sum(s)) = &m.data else {
        panic!("{} is not a sum", m.name)
    };
    assert!(s.is_monotonic, "{}", m.name);
    assert_eq!(s.aggregation_temporality, 2, "{}: cumulative", m.name);
    match s.data_points[0].value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        _ => panic!("{}: no double value", m.name),
    }
}

/// Runs `p` in this process with `tweak` applied to its resolved config.
async fn run(
    p: &Profile,
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut aiperf_config::ProfileConfig),
) -> anyhow::Result<aiperf_engine::RunOutcome> {
    let mut cfg = p.config(dir);
    tweak(&mut cfg);
    aiperf_engine::Engine::new(Arc::new(aiperf_plugins::Registry::builtin()))
        .run(&cfg, &aiperf_engine::Silent)
        .await
}

fn summary(dir: &std::path::Path) -> Value {
    read_json(dir.join("profile_export_aiperf.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_streams_what_the_run_measured_during_and_at_the_end() {
    let mock = mock(5.0, 2.0).await;
    let (addr, got) = otlp_receiver("200 OK").await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(24)
        .osl(10)
        .arg("--otel-url", format!("http://otel:s3cret-pw@{addr}/otlp"))
        .args([
            "--otel-resource-attributes",
            "team=perf,deployment.environment=ci",
        ])
        .arg("--gen-ai-provider", "acme");
    let out = run(&p, dir.path(), |c| {
        // Exports every 100 ms, so some arrive while requests are still running.
        if let Some(o) = c.observability.otel.as_mut() {
            o.flush_interval = Duration::from_millis(100);
        }
    })
    .await
    .unwrap();
    assert_eq!(out.exit_code, 0);
    let s = summary(dir.path());
    let got = std::mem::take(&mut *got.lock().unwrap());
    assert!(
        got.len() >= 2,
        "periodic exports and the final one: {}",
        got.len()
    );
    for r in got.iter() {
        assert_eq!(r.path, "/otlp/v1/metrics");
        assert_eq!(r.headers["content-type"], "application/x-protobuf");
        // base64("otel:s3cret-pw")
        assert_eq!(r.headers["authorization"], "Basic b3RlbDpzM2NyZXQtcHc=");
        assert!(!format!("{:?}", r.body).contains("s3cret"));
    }
    // Cumulative: each export holds at least what the one before it held.
    let completed: Vec<f64> = got
        .iter()
        .map(|r| {
            metrics(&r.body)
                .into_iter()
                .find(|m| m.name == "aiperf.timing.requests.completed")
                .map_or(0.0, counter)
        })
        .collect();
    assert!(completed.windows(2).all(|w| w[0] <= w[1]), "{completed:?}");
    assert!(
        completed.iter().any(|&c| c > 0.0 && c < 24.0),
        "an export during the run carried a partial count: {completed:?}"
    );

    let last = &got.last().unwrap().body;
    let res = last.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(str_attr(&res.attributes, "service.name"), Some("aiperf"));
    assert_eq!(
        str_attr(&res.attributes, "aiperf.endpoint.type"),
        Some("chat")
    );
    assert_eq!(
        str_attr(&res.attributes, "aiperf.model.name"),
        Some("mock-model")
    );
    assert_eq!(str_attr(&res.attributes, "team"), Some("perf"));
    assert_eq!(
        str_attr(&res.attributes, "deployment.environment"),
        Some("ci")
    );
    let scope = last.resource_metrics[0].scope_metrics[0]
        .scope
        .as_ref()
        .unwrap();
    assert_eq!(scope.name, "aiperf.records");

    assert_eq!(
        counter(find(last, "aiperf.timing.requests.completed")),
        24.0
    );
    let ttft = find(last, "gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(ttft.unit, "s");
    let (n, sum_s) = ok_hist(ttft);
    assert_eq!(n as f64, stat(&s, "time_to_first_token", "count"));
    // The summary's sum is in ms.
    assert_close(
        sum_s * 1e3,
        stat(&s, "time_to_first_token", "sum"),
        1e-6,
        "TTFT sum",
    );
    let Some(metric::Data::Histogram(h)) = &ttft.data else {
        unreachable!()
    };
    let p0 = &h.data_points[0];
    assert_eq!(
        str_attr(&p0.attributes, "gen_ai.provider.name"),
        Some("acme")
    );
    assert_eq!(
        str_attr(&p0.attributes, "gen_ai.operation.name"),
        Some("chat")
    );
    assert_eq!(
        str_attr(&p0.attributes, "gen_ai.request.model"),
        Some("mock-model")
    );
    assert_eq!(
        str_attr(&p0.attributes, "aiperf.benchmark_phase"),
        Some("profiling")
    );
    assert_eq!(p0.bucket_counts.len(), p0.explicit_bounds.len() + 1);
    assert_eq!(p0.bucket_counts.iter().sum::<u64>(), p0.count);
    let (n, _) = ok_hist(find(last, "gen_ai.client.operation.duration"));
    assert_eq!(n as f64, stat(&s, "request_latency", "count"));
    let (n, sum) = ok_hist(find(last, "gen_ai.client.token.usage"));
    assert_eq!(n, 24);
    assert_close(
        sum,
        stat(&s, "output_token_count", "sum"),
        1e-9,
        "output tokens",
    );
    // Metrics without a spec name keep AIPerf's, in their computed unit.
    let isl = find(last, "aiperf.input_sequence_length");
    assert_eq!(isl.unit, "tokens");
    assert_eq!(ok_hist(isl).0, 24);
    // The command line in the artifacts has the password redacted.
    let text = std::fs::read_to_string(dir.path().join("profile_export_aiperf.json")).unwrap();
    assert!(!text.contains("s3cret"));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_final_export_is_a_missing_artifact_and_stream_none_sends_nothing() {
    let mock = mock(0.0, 0.0).await;
    let (addr, got) = otlp_receiver("503 Service Unavailable").await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .concurrency(2)
        .request_count(6)
        .arg("--otel-url", &addr);
    let out = run(&p, dir.path(), |_| {}).await.unwrap();
    assert_eq!(out.request_count, 6, "the run's results are intact");
    assert_eq!(
        out.exit_code, 1,
        "a failed delivery counts as a missing artifact"
    );
    assert!(!got.lock().unwrap().is_empty());

    let (addr, got) = otlp_receiver("200 OK").await;
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .concurrency(2)
        .request_count(4)
        .arg("--otel-url", &addr)
        .arg("--stream", "none");
    let out = run(&p, dir.path(), |_| {}).await.unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(got.lock().unwrap().is_empty());
    mock.stop().await;
}

/// `GET /metrics` over a plain socket: the body, or `None` when nothing listens (or the
/// port is closing).
async fn scrape(addr: &str) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: aiperf\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).await.ok()?;
    if text.is_empty() {
        // Connected while the port was closing (accepted by the kernel, never served).
        return None;
    }
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// A sample's value on a page (`name` includes any labels).
fn sample(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_is_scraped_during_and_at_the_end_of_the_run() {
    let mut cfg = aiperf_mock_server::MockConfig::for_tests(10.0, 3.0);
    cfg.error_rate = 25.0;
    cfg.random_seed = 7;
    let mock = mock_with(cfg).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(40)
        .osl(10)
        .arg("--metrics-listen", &addr);
    let scraper = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut pages = Vec::new();
            let mut seen = false;
            for _ in 0..3000 {
                match scrape(&addr).await {
                    Some(p) => {
                        seen = true;
                        pages.push(p);
                    }
                    None if seen => break,
                    None => {}
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            pages
        })
    };
    let out = run(&p, dir.path(), |c| {
        c.observability.metrics_linger = Duration::from_millis(1500);
    })
    .await
    .unwrap();
    let pages = scraper.await.unwrap();
    assert!(
        scrape(&addr).await.is_none(),
        "the port is closed after the run"
    );
    let s = summary(dir.path());
    let total = out.request_count + out.error_count;
    assert_eq!(total, 40);
    assert!(out.error_count > 0, "the mock failed some requests");

    let requests: Vec<f64> = pages
        .iter()
        .map(|p| sample(p, "aiperf_requests_total"))
        .collect();
    assert!(requests.windows(2).all(|w| w[0] <= w[1]), "{requests:?}");
    assert!(
        requests.iter().any(|&n| n > 0.0 && n < 40.0),
        "a scrape during the run saw a partial count: {requests:?}"
    );
    // The last page was served after every record (the linger): it is the final state.
    let last = pages.last().unwrap();
    assert_eq!(sample(last, "aiperf_requests_total"), 40.0);
    let errors: f64 = last
        .lines()
        .filter(|l| l.starts_with("aiperf_request_errors_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(errors, out.error_count as f64);
    assert_eq!(
        sample(
            last,
            "aiperf_request_errors_total{error_type=\"Internal Server Error\"}"
        ),
        out.error_count as f64,
        "{last}"
    );
    for (family, tag) in [
        ("aiperf_time_to_first_token_seconds", "time_to_first_token"),
        ("aiperf_inter_token_latency_seconds", "inter_token_latency"),
        ("aiperf_request_latency_seconds", "request_latency"),
    ] {
        let count = sample(last, &format!("{family}_count"));
        assert_eq!(count, stat(&s, tag, "count"), "{family}");
        assert_eq!(
            sample(last, &format!("{family}_bucket{{le=\"+Inf\"}}")),
            count
        );
        assert_close(
            sample(last, &format!("{family}_sum")) * 1e3,
            stat(&s, tag, "sum"),
            1e-6,
            family,
        );
        assert!(last.contains(&format!("# TYPE {family} histogram\n")));
    }
    // TTFT is at least the mock's 10 ms: nothing at or below 5 ms.
    assert_eq!(
        sample(
            last,
            "aiperf_time_to_first_token_seconds_bucket{le=\"0.005\"}"
        ),
        0.0
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_metrics_port_fails_the_set_up_naming_the_flag() {
    let mock = mock(0.0, 0.0).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let p = Profile::chat(&mock.url())
        .request_count(2)
        .arg("--metrics-listen", &addr);
    let e = run(&p, dir.path(), |_| {}).await.unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("--metrics-listen {addr}: cannot listen:")),
        "{e}"
    );
    assert!(posts(&mock).is_empty(), "nothing was sent");
    mock.stop().await;
}

#[test]
fn bad_values_are_one_line_errors_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (args, want) in [
        (
            vec!["--stream", "metrics"],
            "--otel-url: --stream requires --otel-url to be set",
        ),
        (
            vec!["--otel-url", "h:4318", "--stream", "traces"],
            "--stream: invalid value(s) traces",
        ),
        (
            vec!["--otel-url", "ftp://h", "--otel-resource-attributes", "a=1"],
            "--otel-url: invalid value 'ftp://h'",
        ),
        (
            vec!["--otel-url", "h", "--otel-resource-attributes", "novalue"],
            "--otel-resource-attributes: entry 'novalue': expected key=value",
        ),
        (
            vec!["--metrics-listen", "9464"],
            "--metrics-listen: '9464' has no port",
        ),
    ] {
        let argv = Profile::chat("http://127.0.0.1:1")
            .args(args.iter())
            .argv(Some(dir.path()));
        let msg = match aiperf_config::Cli::try_parse_from(&argv).map(|c| c.command) {
            Ok(aiperf_config::Command::Profile(p)) => aiperf_config::ProfileConfig::resolve(
                *p,
                &argv,
                &aiperf_plugins::Registry::builtin(),
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
            other => panic!("{args:?}: {:?}", other.err()),
        };
        assert!(msg.starts_with(want), "{args:?}: {msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
