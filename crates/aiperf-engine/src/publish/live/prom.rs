//! `--metrics-listen`: the client's own live metrics as a Prometheus text page (exposition
//! format 0.0.4) on `GET /metrics`.
//!
//! The record processor updates atomics (no lock, no allocation, except the first time an
//! error type is seen); a scrape reads them. A histogram's `_count` and `+Inf` bucket are the
//! sum of its bucket counters read in one pass, so they always agree; `_sum` may trail by the
//! record being folded in at that instant.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aiperf_core::ErrorDetails;
use aiperf_metrics::RecordValues;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::buckets;
use crate::publish::RecordTap;

/// Prometheus's text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A histogram of seconds whose buckets are counted apart (made cumulative when rendered).
struct Hist {
    name: &'static str,
    help: &'static str,
    bounds: &'static [f64],
    /// One counter per boundary, plus the overflow bucket.
    counts: Box<[AtomicU64]>,
    /// `f64` bits.
    sum: AtomicU64,
}

impl Hist {
    fn new(name: &'static str, help: &'static str, bounds: &'static [f64]) -> Self {
        Self {
            name,
            help,
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    fn observe(&self, seconds: f64) {
        if !seconds.is_finite() {
            return;
        }
        self.counts[buckets::bucket(self.bounds, seconds)].fetch_add(1, Ordering::Relaxed);
        // One writer (the processor thread), so this never retries in practice.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + seconds).to_bits())
            });
    }

    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} histogram", self.name);
        let mut cumulative = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            match self.bounds.get(i) {
                Some(le) => {
                    let _ = writeln!(out, "{}_bucket{{le=\"{le}\"}} {cumulative}", self.name);
                }
                None => {
                    let _ = writeln!(out, "{}_bucket{{le=\"+Inf\"}} {cumulative}", self.name);
                }
            }
        }
        let sum = f64::from_bits(self.sum.load(Ordering::Relaxed));
        let _ = writeln!(out, "{}_sum {sum}", self.name);
        let _ = writeln!(out, "{}_count {cumulative}", self.name);
    }
}

/// The live counters the page shows, fed by the record processor.
pub(super) struct PromStats {
    requests: AtomicU64,
    /// Failed requests by error type, in order of first appearance.
    errors: Mutex<Vec<(String, u64)>>,
    ttft: Hist,
    itl: Hist,
    latency: Hist,
}

impl Default for PromStats {
    fn default() -> Self {
        Self {
            requests: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
            ttft: Hist::new(
                "aiperf_time_to_first_token_seconds",
                "Time to first token of successful profiling requests.",
                buckets::CHUNK,
            ),
            itl: Hist::new(
                "aiperf_inter_token_latency_seconds",
                "Inter-token latency (per request average) of successful profiling requests.",
                buckets::CHUNK,
            ),
            latency: Hist::new(
                "aiperf_request_latency_seconds",
                "Request latency of successful profiling requests.",
                buckets::DURATION,
            ),
        }
    }
}

impl RecordTap for PromStats {
    fn record(&self, values: &RecordValues, error: Option<&ErrorDetails>, _start_wall_ns: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = error {
            let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            match errors.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, n)) => *n += 1,
                None => errors.push((e.kind.clone(), 1)),
            }
            return;
        }
        // The summary's distributions hold successful requests only; so do these.
        let ns = 1e-9;
        if let Some(v) = values.time_to_first_token {
            self.ttft.observe(v * ns);
        }
        if let Some(v) = values.inter_token_latency {
            self.itl.observe(v * ns);
        }
        if let Some(v) = values.request_latency {
            self.latency.observe(v * ns);
        }
    }
}

impl PromStats {
    /// The page, in Prometheus text format 0.0.4.
    pub(super) fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP aiperf_requests_total Profiling requests finished, successful or failed.\n\
             # TYPE aiperf_requests_total counter\n",
        );
        let _ = writeln!(
            out,
            "aiperf_requests_total {}",
            self.requests.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP aiperf_request_errors_total Failed profiling requests by error type.\n\
             # TYPE aiperf_request_errors_total counter\n",
        );
        let errors = self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (kind, n) in errors {
            let _ = writeln!(
                out,
                "aiperf_request_errors_total{{error_type=\"{}\"}} {n}",
                escape_label(&kind)
            );
        }
        self.ttft.render(&mut out);
        self.itl.render(&mut out);
        self.latency.render(&mut out);
        out
    }
}

/// A label value escaped as the text format requires (`\`, `"`, newline).
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The listening page; dropping or [`Server::stop`] closes the port.
pub(super) struct Server {
    pub(super) addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Binds `addr` (a failure names the flag) and serves `stats` until stopped.
pub(super) async fn serve(addr: SocketAddr, stats: Arc<PromStats>) -> anyhow::Result<Server> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--metrics-listen {addr}: cannot listen: {e}"))?;
    let addr = listener.local_addr().unwrap_or(addr);
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                c = listener.accept() => c,
                _ = stopped.changed() => break,
            };
            let Ok((stream, _)) = conn else { continue };
            let stats = stats.clone();
            let mut stopped = stopped.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let stats = stats.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&req, &stats)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => {}
                    _ = stopped.changed() => conn.as_mut().graceful_shutdown(),
                }
            });
        }
    });
    Ok(Server { addr, stop, task })
}

fn answer<B>(req: &Request<B>, stats: &PromStats) -> Response<Full<Bytes>> {
    let (status, ctype, body) = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => {
            (StatusCode::OK, CONTENT_TYPE, stats.render())
        }
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET /metrics\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "aiperf serves its metrics on /metrics\n".to_string(),
        ),
    };
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ctype),
    );
    res
}

impl Server {
    /// Closes the port and ends the open connections once their current answer is sent.
    pub(super) async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ttft_ms: f64, itl_ms: f64, latency_ms: f64) -> RecordValues {
        RecordValues {
            time_to_first_token: Some(ttft_ms * 1e6),
            inter_token_latency: Some(itl_ms * 1e6),
            request_latency: Some(latency_ms * 1e6),
            ..Default::default()
        }
    }

    #[test]
    fn page_is_prometheus_text_with_cumulative_buckets() {
        let s = PromStats::default();
        // TTFT 3 ms, 10 ms, 7 s: buckets le=0.005 -> 1, le=0.01 -> 2, +Inf -> 3.
        s.record(&ok(3.0, 1.0, 50.0), None, 0);
        s.record(&ok(10.0, 1.0, 50.0), None, 0);
        s.record(&ok(7000.0, 1.0, 100_000.0), None, 0);
        let e = ErrorDetails::new(Some(500), "Internal \"Server\" Error", "boom");
        s.record(&RecordValues::default(), Some(&e), 0);
        s.record(&RecordValues::default(), Some(&e), 0);
        let page = s.render();
        let has = |line: &str| assert!(page.lines().any(|l| l == line), "no '{line}' in\n{page}");
        has("# TYPE aiperf_requests_total counter");
        has("aiperf_requests_total 5");
        has("# TYPE aiperf_request_errors_total counter");
        has("aiperf_request_errors_total{error_type=\"Internal \\\"Server\\\" Error\"} 2");
        has("# TYPE aiperf_time_to_first_token_seconds histogram");
        has("aiperf_time_to_first_token_seconds_bucket{le=\"0.001\"} 0");
        has("aiperf_time_to_first_token_seconds_bucket{le=\"0.005\"} 1");
        has("aiperf_time_to_first_token_seconds_bucket{le=\"0.01\"} 2");
        has("aiperf_time_to_first_token_seconds_bucket{le=\"5\"} 2");
        has("aiperf_time_to_first_token_seconds_bucket{le=\"+Inf\"} 3");
        has("aiperf_time_to_first_token_seconds_count 3");
        // 0.003 + 0.01 + 7 = 7.013
        let sum: f64 = page
            .lines()
            .find_map(|l| l.strip_prefix("aiperf_time_to_first_token_seconds_sum "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        assert!((sum - 7.013).abs() < 1e-12, "{sum}");
        // Latency 100 s overflows the duration buckets (largest 81.92).
        has("aiperf_request_latency_seconds_bucket{le=\"81.92\"} 2");
        has("aiperf_request_latency_seconds_bucket{le=\"+Inf\"} 3");
        has("aiperf_inter_token_latency_seconds_bucket{le=\"0.001\"} 3");
        // Every sample line belongs to a family declared by HELP and TYPE before it.
        let mut declared = Vec::new();
        for l in page.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap_or("").to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap_or("");
                assert!(
                    declared.iter().any(|d| name == d
                        || ["_bucket", "_sum", "_count"]
                            .iter()
                            .any(|s| name.strip_suffix(s) == Some(d.as_str()))),
                    "{l}"
                );
            }
        }
    }

    #[tokio::test]
    async fn serves_the_page_and_names_the_flag_when_the_port_is_taken() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let stats = Arc::new(PromStats::default());
        stats.record(&ok(1.0, 1.0, 1.0), None, 0);
        let server = serve("127.0.0.1:0".parse().unwrap(), stats).await.unwrap();
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut page = String::new();
        s.read_to_string(&mut page).await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(
            page.contains("content-type: text/plain; version=0.0.4"),
            "{page}"
        );
        assert!(page.contains("\naiperf_requests_total 1\n"), "{page}");
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut other = String::new();
        s.read_to_string(&mut other).await.unwrap();
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");

        let taken = serve(server.addr, Arc::new(PromStats::default()))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            taken.starts_with(&format!("--metrics-listen {}: cannot listen:", server.addr)),
            "{taken}"
        );
        let addr = server.addr;
        server.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
