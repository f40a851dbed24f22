//! A lean HTTP client for load generation: our own keep-alive pool over hyper's
//! per-connection API (HTTP/1.1, or HTTP/2 with a cap on streams per connection), TLS by
//! rustls, so we control exactly when each timestamp is taken and how connections are reused.
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
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::tls::TlsSetup;
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
    #[error("TLS handshake with {addr} failed: {source}")]
    Tls {
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
    /// Cancelled from outside while in flight (a drain deadline, a second interrupt).
    #[error("Request cancelled: {0}")]
    Aborted(&'static str),
    #[error("invalid request: {0}")]
    Build(String),
}

impl TransportError {
    /// AIPerf's pseudo-status for errors without a response (499 for a cancellation).
    pub fn code(&self) -> Option<u16> {
        match self {
            TransportError::Cancelled(_) | TransportError::Aborted(_) => Some(499),
            _ => None,
        }
    }

    /// What a user can do about a failure to reach a server, as `; hint: ...` (empty when
    /// there is nothing to suggest). `insecure` says whether `--insecure` is already on.
    pub fn hint(&self, insecure: bool) -> &'static str {
        let TransportError::Tls { source, .. } = self else {
            return "";
        };
        let tls = source
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>());
        match tls {
            Some(rustls::Error::InvalidCertificate(_)) if !insecure => {
                "; hint: the server's certificate is not trusted: add --insecure to accept it (e.g. a self-signed test server)"
            }
            Some(rustls::Error::InvalidCertificate(_)) => "",
            Some(rustls::Error::InvalidMessage(_)) | None => {
                "; hint: the server does not seem to speak TLS: use http:// instead of https://"
            }
            Some(_) if insecure => "; hint: check that the server speaks TLS (else use http://)",
            Some(_) => {
                "; hint: check that the server speaks TLS (else use http://), or add --insecure for a self-signed certificate"
            }
        }
    }

    /// Stable kind name used as the error `type` in records.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::Resolve(_) => "DNSError",
            TransportError::Connect { .. } => "ConnectionError",
            TransportError::Handshake { .. } => "ConnectionError",
            TransportError::Tls { .. } => "TLSError",
            TransportError::Request(e) | TransportError::Body(e) => {
                if e.is_incomplete_message() {
                    "IncompleteResponseError"
                } else {
                    "ConnectionError"
                }
            }
            TransportError::Timeout(_) => "RequestTimeoutError",
            TransportError::Cancelled(_) | TransportError::Aborted(_) => "RequestCancellationError",
            TransportError::Build(_) => "RequestBuildError",
        }
    }
}

/// How a request may end early besides its timeout.
#[derive(Clone, Copy, Default)]
pub struct Cancel<'a> {
    /// Cancel this long after sending (`--request-cancellation-*`).
    pub after: Option<std::time::Duration>,
    /// Cancel when this fires.
    pub abort: Option<&'a AbortSignal>,
}

/// Ends every request that watches it at once, each with the same reason, so a drain deadline
/// or a second interrupt still leaves a record per request sent.
#[derive(Debug)]
pub struct AbortSignal(tokio::sync::watch::Sender<Option<&'static str>>);

impl Default for AbortSignal {
    fn default() -> Self {
        Self(tokio::sync::watch::Sender::new(None))
    }
}

impl AbortSignal {
    /// Fires the signal (the first reason given is kept).
    pub fn fire(&self, reason: &'static str) {
        self.0.send_if_modified(|r| {
            let unset = r.is_none();
            if unset {
                *r = Some(reason);
            }
            unset
        });
    }

    /// Why it fired, once it has.
    pub fn reason(&self) -> Option<&'static str> {
        *self.0.borrow()
    }

    /// Waits until it fires; returns the reason.
    pub async fn fired(&self) -> &'static str {
        let mut rx = self.0.subscribe();
        let reason = match rx.wait_for(|r| r.is_some()).await {
            Ok(r) => *r,
            // The sender lives in `self`, so it cannot close while we wait.
            Err(_) => None,
        };
        match reason {
            Some(r) => r,
            None => std::future::pending().await,
        }
    }
}

/// Sees a response's body reads as they arrive, on the request's own task, until it says it
/// has seen enough (then it is not called again). Used to free a `--prefill-concurrency` slot
/// at the first token; requests without one pay a single branch per read.
pub trait FrameWatch: Send {
    /// One non-empty body read; `true` once the watcher needs no more.
    fn frame(&mut self, data: &[u8]) -> bool;
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
    /// Which connection carries the request.
    pub conn: ConnChoice<'a>,
    /// Called with each body read until it is satisfied.
    pub watch: Option<&'a mut dyn FrameWatch>,
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

impl Exchange {
    /// For control-plane calls (exporters, probes, hooks): `Ok` on a 2xx answer, else the
    /// transport error, `HTTP <status>`, or `no response`, as one line.
    pub fn success(&self) -> Result<(), String> {
        if let Some(e) = &self.error {
            return Err(e.to_string());
        }
        match self.status {
            Some(s) if (200..300).contains(&s) => Ok(()),
            Some(s) => Err(format!("HTTP {s}")),
            None => Err("no response".into()),
        }
    }
}

/// One connection's request handle: HTTP/1.1 (one request at a time) or HTTP/2 (many
/// streams; the counter says how many are open).
enum Lease {
    H1(http1::SendRequest<TimedBody>),
    /// The slot is held for its `Drop` only.
    H2(
        http2::SendRequest<TimedBody>,
        #[allow(dead_code)] StreamSlot,
    ),
}

/// One open stream on an HTTP/2 connection, given back when dropped (also on errors).
struct StreamSlot(Arc<AtomicU64>);

impl StreamSlot {
    fn take(active: &Arc<AtomicU64>) -> Self {
        active.fetch_add(1, Ordering::Relaxed);
        Self(active.clone())
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lease {
    fn is_closed(&self) -> bool {
        match self {
            Lease::H1(s) => s.is_closed(),
            Lease::H2(s, _) => s.is_closed(),
        }
    }

    async fn send(
        &mut self,
        req: Request<TimedBody>,
    ) -> Result<http::Response<Incoming>, hyper::Error> {
        match self {
            Lease::H1(s) => {
                s.ready().await?;
                s.send_request(req).await
            }
            Lease::H2(s, _) => {
                s.ready().await?;
                s.send_request(req).await
            }
        }
    }
}

/// A connection a caller keeps for itself (sticky sessions); dropping it closes it.
pub struct Connection(Lease);

/// How a request gets its connection (`--connection-reuse-strategy`).
pub enum ConnChoice<'a> {
    /// From the shared keep-alive pool, returned to it afterwards.
    Pooled,
    /// A new connection, closed afterwards.
    Fresh,
    /// The caller's own connection (one per conversation), opened on first use.
    Sticky(&'a mut Option<Connection>),
}

/// Client-wide transport settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// HTTP/2: prior knowledge on `http://`, negotiated by ALPN on `https://`.
    pub http2: bool,
    /// Accept any server certificate (self-signed test servers).
    pub insecure: bool,
    /// HTTP/2 streams one connection carries before another is opened.
    pub h2_streams_per_connection: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            http2: false,
            insecure: false,
            h2_streams_per_connection: 100,
        }
    }
}

/// Keep-alive HTTP client for one base URL.
pub struct HttpClient {
    addr: SocketAddr,
    host: HeaderValue,
    /// `Authorization: Basic` from the URL's userinfo (sensitive).
    auth: Option<HeaderValue>,
    tls: Option<TlsSetup>,
    http2: bool,
    h2_streams: u64,
    /// Idle HTTP/1.1 connections.
    h1_pool: Mutex<Vec<http1::SendRequest<TimedBody>>>,
    /// Open HTTP/2 connections and their open-stream counts (shared, never popped).
    h2_pool: Mutex<Vec<(http2::SendRequest<TimedBody>, Arc<AtomicU64>)>>,
    /// Held while an HTTP/2 connection for the pool is being opened.
    h2_opening: tokio::sync::Mutex<()>,
    /// `--http2` asked, but the server negotiated HTTP/1.1.
    h1_fallback: std::sync::atomic::AtomicBool,
    clock: Clock,
}

impl HttpClient {
    /// Where requests go, for messages: scheme and host, never credentials.
    pub fn target(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.host.to_str().unwrap_or("?"))
    }

    /// Resolves the host once (DNS stays out of the measured requests) and sets up TLS for
    /// `https://` URLs; connections open on first use.
    pub async fn with_options(
        url: &BaseUrl,
        clock: Clock,
        opts: &ClientOptions,
    ) -> Result<Self, TransportError> {
        let authority = url.authority();
        let addr = tokio::net::lookup_host((url.host.as_str(), url.port))
            .await
            .map_err(|_| TransportError::Resolve(authority.clone()))?
            .next()
            .ok_or_else(|| TransportError::Resolve(authority.clone()))?;
        let host = HeaderValue::from_str(&authority)
            .map_err(|e| TransportError::Build(format!("bad host '{authority}': {e}")))?;
        let tls = if url.tls {
            Some(
                TlsSetup::new(&url.host, opts.http2, opts.insecure)
                    .map_err(TransportError::Build)?,
            )
        } else {
            None
        };
        Ok(Self {
            addr,
            host,
            auth: url.basic_auth(),
            tls,
            http2: opts.http2,
            h2_streams: opts.h2_streams_per_connection.max(1),
            h1_pool: Mutex::new(Vec::new()),
            h2_pool: Mutex::new(Vec::new()),
            h2_opening: tokio::sync::Mutex::new(()),
            h1_fallback: Default::default(),
            clock,
        })
    }

    /// Opens one connection now to check that the server accepts connections.
    pub async fn probe(&self) -> Result<(), TransportError> {
        let lease = self.open(true).await?;
        self.release(lease);
        Ok(())
    }

    /// A new connection; `shared` HTTP/2 connections join the pool for other requests'
    /// streams.
    async fn open(&self, shared: bool) -> Result<Lease, TransportError> {
        let addr = self.addr;
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|source| TransportError::Connect { addr, source })?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => self.handshake(tcp, self.http2, shared).await,
            Some(tls) => {
                let stream = tls
                    .connector
                    .connect(tls.server_name.clone(), tcp)
                    .await
                    .map_err(|source| TransportError::Tls { addr, source })?;
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                self.handshake(stream, h2, shared).await
            }
        }
    }

    async fn handshake<I>(&self, io: I, h2: bool, shared: bool) -> Result<Lease, TransportError>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let addr = self.addr;
        let io = TokioIo::new(io);
        if h2 {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .handshake(io)
                .await
                .map_err(|source| TransportError::Handshake { addr, source })?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let active = Arc::new(AtomicU64::new(0));
            if shared {
                if let Ok(mut pool) = self.h2_pool.lock() {
                    pool.push((sender.clone(), active.clone()));
                }
            }
            Ok(Lease::H2(sender, StreamSlot::take(&active)))
        } else {
            let (sender, conn) = http1::Builder::new()
                .handshake(io)
                .await
                .map_err(|source| TransportError::Handshake { addr, source })?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Lease::H1(sender))
        }
    }

    /// A pooled connection with room (`reused`), else a new one and how long opening took.
    async fn acquire(&self) -> Result<(Lease, bool, u64), TransportError> {
        if let Some(lease) = self.pooled() {
            return Ok((lease, true, 0));
        }
        // HTTP/2: one connection opens at a time, so requests arriving meanwhile take streams
        // on it instead of each opening its own (their wait counts as blocked time).
        let h2 = self.http2 && !self.h1_fallback.load(Ordering::Relaxed);
        let _opening = if h2 {
            let guard = self.h2_opening.lock().await;
            if let Some(lease) = self.pooled() {
                return Ok((lease, true, 0));
            }
            Some(guard)
        } else {
            None
        };
        let t0 = self.clock.now_ns();
        let lease = self.open(true).await?;
        if matches!(lease, Lease::H1(_)) && self.http2 {
            // The server declined h2 by ALPN: HTTP/1.1 connections need no serializing.
            self.h1_fallback.store(true, Ordering::Relaxed);
        }
        Ok((lease, false, self.clock.now_ns().saturating_sub(t0)))
    }

    fn pooled(&self) -> Option<Lease> {
        // HTTP/2 connections exist only with --http2 (prior knowledge, or ALPN offering h2).
        if let Some(mut pool) = self.http2.then(|| self.h2_pool.lock().ok()).flatten() {
            pool.retain(|(s, _)| !s.is_closed());
            for (s, active) in pool.iter() {
                if active.load(Ordering::Relaxed) < self.h2_streams {
                    return Some(Lease::H2(s.clone(), StreamSlot::take(active)));
                }
            }
        }
        let mut pool = self.h1_pool.lock().ok()?;
        while let Some(s) = pool.pop() {
            if !s.is_closed() && s.is_ready() {
                return Some(Lease::H1(s));
            }
        }
        None
    }

    /// Back to the pool (HTTP/1.1) or one stream fewer (HTTP/2).
    fn release(&self, lease: Lease) {
        match lease {
            Lease::H1(s) => {
                if !s.is_closed() {
                    if let Ok(mut pool) = self.h1_pool.lock() {
                        pool.push(s);
                    }
                }
            }
            Lease::H2(..) => {} // the stream slot is given back on drop
        }
    }

    /// Sends one request and records the whole exchange; never panics, never loses what it
    /// measured. `cancel.after` aborts the request that long after it started (request
    /// cancellation); `cancel.abort` ends it, with its reason, whenever that signal fires.
    pub async fn send(
        &self,
        spec: RequestSpec<'_>,
        deadline: Instant,
        timeout_s: f64,
        cancel: Cancel<'_>,
    ) -> Exchange {
        let cancel_after = cancel.after;
        let mut ex = Exchange::default();
        let sleep = tokio::time::sleep_until(deadline.into());
        tokio::pin!(sleep);
        let abort = cancel.abort;
        let cancel_at = cancel_after.map(|d| Instant::now() + d);
        let cancel_timer = async {
            match cancel_at {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(cancel_timer);
        let abort = async {
            match abort {
                Some(a) => a.fired().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(abort);
        let result = tokio::select! {
            biased;
            r = self.exchange(spec, &mut ex) => r,
            _ = &mut sleep => Err(TransportError::Timeout(timeout_s)),
            _ = &mut cancel_timer => Err(TransportError::Cancelled(cancel_after.map_or(0.0, |d| d.as_secs_f64()))),
            reason = &mut abort => Err(TransportError::Aborted(reason)),
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
        let RequestSpec {
            method,
            path,
            headers,
            extra_headers,
            body,
            conn,
            mut watch,
        } = spec;
        let t0 = self.clock.now_ns();
        let (mut lease, reused, connect_ns, pooled, sticky) = match conn {
            ConnChoice::Pooled => {
                let (l, reused, ns) = self.acquire().await?;
                (l, reused, ns, true, None)
            }
            ConnChoice::Fresh => {
                let l = self.open(false).await?;
                (
                    l,
                    false,
                    self.clock.now_ns().saturating_sub(t0),
                    false,
                    None,
                )
            }
            ConnChoice::Sticky(slot) => match slot.take().filter(|c| !c.0.is_closed()) {
                Some(c) => (c.0, true, 0, false, Some(slot)),
                None => {
                    let l = self.open(false).await?;
                    let ns = self.clock.now_ns().saturating_sub(t0);
                    (l, false, ns, false, Some(slot))
                }
            },
        };
        ex.conn_ready_ns = Some(self.clock.now_ns());
        ex.reused = reused;
        ex.connect_ns = connect_ns;
        ex.bytes_sent = body.len() as u64;
        let ack = Arc::new(AtomicU64::new(0));
        let timed = TimedBody {
            data: Some(body),
            ack: ack.clone(),
            clock: self.clock,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .body(timed)
            .map_err(|e| TransportError::Build(e.to_string()))?;
        let h = req.headers_mut();
        h.reserve(headers.len() + 3);
        if matches!(lease, Lease::H1(_)) {
            h.insert(HOST, self.host.clone());
        } else {
            // HTTP/2 carries the authority in the request URI instead of a Host header.
            let scheme = if self.tls.is_some() { "https" } else { "http" };
            let uri = format!("{scheme}://{}{path}", self.host.to_str().unwrap_or(""));
            *req.uri_mut() = uri
                .parse()
                .map_err(|e: http::uri::InvalidUri| TransportError::Build(e.to_string()))?;
        }
        let h = req.headers_mut();
        if let Some(auth) = &self.auth {
            h.insert(http::header::AUTHORIZATION, auth.clone());
        }
        for (k, v) in headers {
            h.insert(k, v.clone());
        }
        for (k, v) in extra_headers {
            h.insert(k, v);
        }
        let resp = lease.send(req).await.map_err(TransportError::Request)?;
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
                    if let Some(w) = &mut watch {
                        if w.frame(&data) {
                            watch = None;
                        }
                    }
                    ex.chunks.push(Chunk { recv_ns, data });
                }
            }
        }
        match sticky {
            Some(slot) => *slot = Some(Connection(lease)),
            None if pooled => self.release(lease),
            None => drop(lease), // a fresh connection closes with its last handle
        }
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
