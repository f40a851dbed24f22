//! A lean HTTP/1.1 client for load generation: our own keep-alive pool over hyper's
//! per-connection API, so we control exactly when each timestamp is taken.
//!
//! Timing semantics of one [`HttpClient::send`]:
//! - `ack_ns`: hyper pulled the whole request body to write it to the socket;
//! - `head_ns`: the response head was parsed;
//! - each [`Chunk::recv_ns`]: the body frame was handed to us (one socket read's worth);
//! - `end_ns`: the body ended, failed, or the deadline passed.
//!
//! The per-chunk work is one monotonic clock read and a `Vec` push of the refcounted `Bytes`.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use aiperf_core::{Chunk, Clock};
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use http::{Method, Request};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::url::BaseUrl;

/// Why an exchange failed before a complete response was read.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot resolve '{0}'")]
    Resolve(String),
    #[error("connection to {addr} failed: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP handshake with {addr} failed: {source}")]
    Handshake {
        addr: SocketAddr,
        source: hyper::Error,
    },
    #[error("request failed: {0}")]
    Request(hyper::Error),
    #[error("response body failed: {0}")]
    Body(hyper::Error),
    #[error("request timed out after {0:.3} s")]
    Timeout(f64),
    #[error("Request cancelled {0:.3}s after being sent")]
    Cancelled(f64),
    #[error("invalid request: {0}")]
    Build(String),
}

impl TransportError {
    /// AIPerf's pseudo-status for errors without a response (499 for a cancellation).
    pub fn code(&self) -> Option<u16> {
        match self {
            TransportError::Cancelled(_) => Some(499),
            _ => None,
        }
    }

    /// Stable kind name used as the error `type` in records.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::Resolve(_) => "DNSError",
            TransportError::Connect { .. } => "ConnectionError",
            TransportError::Handshake { .. } => "ConnectionError",
            TransportError::Request(e) | TransportError::Body(e) => {
                if e.is_incomplete_message() {
                    "IncompleteResponseError"
                } else {
                    "ConnectionError"
                }
            }
            TransportError::Timeout(_) => "RequestTimeoutError",
            TransportError::Cancelled(_) => "RequestCancellationError",
            TransportError::Build(_) => "RequestBuildError",
        }
    }
}

/// What to send: everything except the target, which the client owns.
pub struct RequestSpec<'a> {
    /// POST for requests, GET for job polls.
    pub method: Method,
    /// Path and query (`/v1/chat/completions`).
    pub path: &'a str,
    /// Headers shared by every request of the run (built once).
    pub headers: &'a HeaderMap,
    /// Per-request headers (request and correlation ids).
    pub extra_headers: [(HeaderName, HeaderValue); 2],
    pub body: Bytes,
}

/// The outcome of one request: always returned, even on failure, so nothing measured is lost.
#[derive(Debug, Default)]
pub struct Exchange {
    pub status: Option<u16>,
    pub is_sse: bool,
    pub ack_ns: Option<u64>,
    pub head_ns: Option<u64>,
    /// When a connection was ready for this request (pooled or newly opened).
    pub conn_ready_ns: Option<u64>,
    /// Time spent opening a new connection (0 when one was reused).
    pub connect_ns: u64,
    pub reused: bool,
    pub bytes_sent: u64,
    pub end_ns: u64,
    pub chunks: Vec<Chunk>,
    pub error: Option<TransportError>,
}

/// Keep-alive HTTP/1.1 client for one base URL.
pub struct HttpClient {
    addr: SocketAddr,
    host: HeaderValue,
    pool: Mutex<Vec<SendRequest<TimedBody>>>,
    clock: Clock,
}

impl HttpClient {
    /// Resolves the host once (DNS stays out of the measured requests).
    pub async fn connect_to(url: &BaseUrl, clock: Clock) -> Result<Self, TransportError> {
        let authority = url.authority();
        let addr = tokio::net::lookup_host((url.host.as_str(), url.port))
            .await
            .map_err(|_| TransportError::Resolve(authority.clone()))?
            .next()
            .ok_or_else(|| TransportError::Resolve(authority.clone()))?;
        let host = HeaderValue::from_str(&authority)
            .map_err(|e| TransportError::Build(format!("bad host '{authority}': {e}")))?;
        Ok(Self {
            addr,
            host,
            pool: Mutex::new(Vec::new()),
            clock,
        })
    }

    /// Opens one connection now to check that the server accepts connections.
    pub async fn probe(&self) -> Result<(), TransportError> {
        let sender = self.open().await?;
        self.release(sender);
        Ok(())
    }

    async fn open(&self) -> Result<SendRequest<TimedBody>, TransportError> {
        let addr = self.addr;
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| TransportError::Connect { addr, source })?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|source| TransportError::Handshake { addr, source })?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// A ready connection: a pooled one (`reused`), or a new one and how long opening took.
    async fn acquire(&self) -> Result<(SendRequest<TimedBody>, bool, u64), TransportError> {
        loop {
            let candidate = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
            match candidate {
                Some(sender) if !sender.is_closed() && sender.is_ready() => {
                    return Ok((sender, true, 0))
                }
                Some(_) => continue, // closed or busy: drop it
                None => {
                    let t0 = self.clock.now_ns();
                    let sender = self.open().await?;
                    return Ok((sender, false, self.clock.now_ns().saturating_sub(t0)));
                }
            }
        }
    }

    fn release(&self, sender: SendRequest<TimedBody>) {
        if !sender.is_closed() {
            if let Ok(mut pool) = self.pool.lock() {
                pool.push(sender);
            }
        }
    }

    /// Sends one request and records the whole exchange; never panics, never loses what it measured.
    /// `cancel_after` aborts the request that long after it started (request cancellation tests).
    pub async fn send(
        &self,
        spec: RequestSpec<'_>,
        deadline: Instant,
        timeout_s: f64,
        cancel_after: Option<std::time::Duration>,
    ) -> Exchange {
        let mut ex = Exchange::default();
        let sleep = tokio::time::sleep_until(deadline.into());
        tokio::pin!(sleep);
        let cancel_at = cancel_after.map(|d| Instant::now() + d);
        let cancel = async {
            match cancel_at {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(cancel);
        let result = tokio::select! {
            biased;
            r = self.exchange(spec, &mut ex) => r,
            _ = &mut sleep => Err(TransportError::Timeout(timeout_s)),
            _ = &mut cancel => Err(TransportError::Cancelled(cancel_after.map_or(0.0, |d| d.as_secs_f64()))),
        };
        ex.end_ns = self.clock.now_ns();
        if let Err(e) = result {
            ex.error = Some(e);
        }
        ex
    }

    async fn exchange(
        &self,
        spec: RequestSpec<'_>,
        ex: &mut Exchange,
    ) -> Result<(), TransportError> {
        let (mut sender, reused, connect_ns) = self.acquire().await?;
        ex.conn_ready_ns = Some(self.clock.now_ns());
        ex.reused = reused;
        ex.connect_ns = connect_ns;
        ex.bytes_sent = spec.body.len() as u64;
        let ack = Arc::new(AtomicU64::new(0));
        let body = TimedBody {
            data: Some(spec.body),
            ack: ack.clone(),
            clock: self.clock,
        };
        let mut req = Request::builder()
            .method(spec.method)
            .uri(spec.path)
            .body(body)
            .map_err(|e| TransportError::Build(e.to_string()))?;
        let headers = req.headers_mut();
        headers.reserve(spec.headers.len() + 3);
        headers.insert(HOST, self.host.clone());
        for (k, v) in spec.headers {
            headers.insert(k, v.clone());
        }
        for (k, v) in spec.extra_headers {
            headers.insert(k, v);
        }
        let resp = sender
            .send_request(req)
            .await
            .map_err(TransportError::Request)?;
        ex.head_ns = Some(self.clock.now_ns());
        let a = ack.load(Ordering::Relaxed);
        ex.ack_ns = (a != 0).then_some(a);
        let status = resp.status();
        ex.status = Some(status.as_u16());
        ex.is_sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
        let mut body = resp.into_body();
        ex.chunks.reserve(16);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(TransportError::Body)?;
            let recv_ns = self.clock.now_ns();
            if let Ok(data) = frame.into_data() {
                if !data.is_empty() {
                    ex.chunks.push(Chunk { recv_ns, data });
                }
            }
        }
        self.release(sender);
        Ok(())
    }
}

/// A request body that notes when hyper took it for writing (the request "ack" time).
struct TimedBody {
    data: Option<Bytes>,
    ack: Arc<AtomicU64>,
    clock: Clock,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.data.take() {
            Some(data) => {
                self.ack
                    .store(self.clock.now_ns().max(1), Ordering::Relaxed);
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}
