//! The server control requests of `--reset-kv-cache` and `--server-profiler`, the way AIPerf
//! 0.13 sends them (`aiperf/common/control_hooks.py`, `control_plane_http.py`): an empty-body
//! POST to each unique origin (`scheme://host:port`) of the `--url`s, with the run's shared
//! headers (auth and `--header`s), success being any 2xx.
//!
//! - The KV-cache reset goes once per run, before the first request (warm-up included). A
//!   failure with no response or a 409/423/429/503 is retried with backoff (1 s doubling to
//!   8 s) for up to 60 s; any other failure ends the run before it starts.
//! - The profiler start goes right before the profiling phase (after warm-up); a failure stops
//!   the origins already started and fails the run. The stop goes after the profiling phase,
//!   whatever happened in it; a failed stop is a warning.

use std::time::{Duration, Instant};

use aiperf_config::resolve::ServerControl;
use aiperf_config::ProfileConfig;
use aiperf_transport::{Cancel, ConnChoice, HttpClient, RequestSpec};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// Statuses AIPerf treats as "busy, try again" for the KV-cache reset.
const RETRYABLE_STATUSES: [u16; 4] = [409, 423, 429, 503];
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(8);

/// One run's control requests, ready to send.
pub(crate) struct Control {
    hooks: ServerControl,
    /// One per unique origin: the index of the client serving it and the origin for messages.
    origins: Vec<(usize, String)>,
    headers: HeaderMap,
}

/// Why one control POST failed.
struct Failure {
    reason: String,
    retryable: bool,
}

impl Control {
    /// The control requests of `cfg`, sent with the run's shared `headers`.
    pub(crate) fn new(cfg: &ProfileConfig, headers: &HeaderMap) -> Self {
        let mut origins: Vec<(usize, String)> = Vec::new();
        let mut seen = Vec::new();
        for (i, url) in cfg.urls.iter().enumerate() {
            let key = (url.tls, url.host.clone(), url.port);
            if seen.contains(&key) {
                continue;
            }
            let scheme = if url.tls { "https" } else { "http" };
            let host = if url.host.contains(':') {
                format!("[{}]", url.host)
            } else {
                url.host.clone()
            };
            origins.push((i, format!("{scheme}://{host}:{}", url.port)));
            seen.push(key);
        }
        let mut headers = headers.clone();
        // The body is empty: no content type, and the answer is not streamed.
        headers.remove(http::header::CONTENT_TYPE);
        headers.remove(http::header::ACCEPT);
        Control {
            hooks: cfg.server_control.clone(),
            origins,
            headers,
        }
    }

    pub(crate) fn profiler(&self) -> bool {
        self.hooks.server_profiler.is_some()
    }

    /// `--reset-kv-cache`: POSTs the reset to every origin; the error ends the run.
    pub(crate) async fn reset_kv_cache(&self, clients: &[HttpClient]) -> anyhow::Result<()> {
        let Some(reset) = &self.hooks.reset_kv_cache else {
            return Ok(());
        };
        for (i, origin) in &self.origins {
            let give_up = Instant::now() + reset.max_retry;
            let mut backoff = BACKOFF_START;
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                match self.post(&clients[*i], &reset.path, reset.timeout).await {
                    Ok(()) => {
                        tracing::info!("--reset-kv-cache: POST {origin}{} done", reset.path);
                        break;
                    }
                    Err(f) if f.retryable && Instant::now() + backoff < give_up => {
                        tracing::warn!(
                            "--reset-kv-cache: POST {origin}{} failed ({}), retrying in {} s",
                            reset.path,
                            f.reason,
                            backoff.as_secs()
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_CAP);
                    }
                    Err(f) => anyhow::bail!(
                        "--reset-kv-cache: POST {origin}{} failed before the benchmark started \
                         ({attempt} attempt(s); last: {})",
                        reset.path,
                        f.reason
                    ),
                }
            }
        }
        Ok(())
    }

    /// `--server-profiler`: POSTs the start to every origin; on a failure, stops the origins
    /// already started (best effort) and returns the error.
    pub(crate) async fn start_profiler(&self, clients: &[HttpClient]) -> Result<(), String> {
        let Some(p) = &self.hooks.server_profiler else {
            return Ok(());
        };
        for (k, (i, origin)) in self.origins.iter().enumerate() {
            if let Err(f) = self.post(&clients[*i], &p.start_path, p.timeout).await {
                for (j, o) in self.origins[..k].iter().rev() {
                    if let Err(g) = self.post(&clients[*j], &p.stop_path, p.timeout).await {
                        tracing::warn!(
                            "--server-profiler: clean-up POST {o}{} failed: {}",
                            p.stop_path,
                            g.reason
                        );
                    }
                }
                return Err(format!(
                    "--server-profiler: POST {origin}{} failed: {}",
                    p.start_path, f.reason
                ));
            }
            tracing::info!("--server-profiler: POST {origin}{} done", p.start_path);
        }
        Ok(())
    }

    /// `--server-profiler`: POSTs the stop to every origin; a failure is a warning.
    pub(crate) async fn stop_profiler(&self, clients: &[HttpClient]) {
        let Some(p) = &self.hooks.server_profiler else {
            return;
        };
        for (i, origin) in &self.origins {
            match self.post(&clients[*i], &p.stop_path, p.timeout).await {
                Ok(()) => tracing::info!("--server-profiler: POST {origin}{} done", p.stop_path),
                Err(f) => tracing::warn!(
                    "--server-profiler: POST {origin}{} failed: {}",
                    p.stop_path,
                    f.reason
                ),
            }
        }
    }

    /// One empty-body POST; any 2xx is success. The answer's body is never quoted (it may
    /// carry secrets), nor are the headers.
    async fn post(
        &self,
        client: &HttpClient,
        path: &str,
        timeout: Duration,
    ) -> Result<(), Failure> {
        let spec = RequestSpec {
            method: Method::POST,
            path,
            headers: &self.headers,
            extra_headers: [
                (
                    HeaderName::from_static("x-request-id"),
                    HeaderValue::from_static("aiperf-control"),
                ),
                (
                    HeaderName::from_static("x-correlation-id"),
                    HeaderValue::from_static("aiperf-control"),
                ),
            ],
            body: Bytes::new(),
            conn: ConnChoice::Pooled,
            watch: None,
        };
        let ex = client
            .send(
                spec,
                Instant::now() + timeout,
                timeout.as_secs_f64(),
                Cancel::default(),
            )
            .await;
        if let Some(e) = ex.error {
            return Err(Failure {
                reason: e.to_string(),
                retryable: true,
            });
        }
        match ex.status {
            Some(s) if (200..300).contains(&s) => Ok(()),
            Some(s) => Err(Failure {
                reason: format!("HTTP {s}"),
                retryable: RETRYABLE_STATUSES.contains(&s),
            }),
            None => Err(Failure {
                reason: "no response".into(),
                retryable: true,
            }),
        }
    }
}
