//! The HTTP side of the mock: accept loop, routing, and timed response bodies.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::apis;
use crate::config::MockConfig;
use crate::faults::{pick, Fault, FaultRule};
use crate::load::{Admission, Load, Wait};
use crate::metrics::{self, Accepted, Endpoint, Metrics, Timing};
use crate::tokens::TokenSource;
use crate::wire::{Api, Head};

/// A request as the mock received it (kept when `record_requests` is on).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// When the request head was parsed by the mock (the server-side truth for send times).
    pub arrived: Instant,
    /// The text the mock generated in answer (chat, completions, TGI), once it was generated.
    pub reply: Option<String>,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    /// Which accepted connection carried the request (numbered from 0).
    pub connection: u64,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A running in-process mock server.
pub struct MockHandle {
    pub addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl MockHandle {
    /// Every request received so far (empty unless `record_requests` is on).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .recorded
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// `http://127.0.0.1:<port>` (`https://localhost:<port>` with TLS, the name on the test
    /// certificate).
    pub fn url(&self) -> String {
        if self.state.tls.is_some() {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// How many times the server-metrics page was read: `/metrics`, and for `--metrics-style
    /// trtllm` also `/prometheus/metrics` (scrapes are not kept among [`Self::requests`]: they
    /// are monitoring, not traffic under test).
    pub fn metrics_scrapes(&self) -> u64 {
        self.state.metrics.scrapes.load(Ordering::Relaxed)
    }

    /// How many times the fake GPUs' DCGM page (`/dcgm/metrics`) was read (counted apart from
    /// [`Self::metrics_scrapes`], and not kept among [`Self::requests`] either).
    pub fn dcgm_scrapes(&self) -> u64 {
        self.state.metrics.dcgm_scrapes.load(Ordering::Relaxed)
    }

    /// Prompt tokens of the generation requests accepted so far (what `*prompt_tokens_total`
    /// shows).
    pub fn prompt_tokens(&self) -> u64 {
        self.state.metrics.prompt_tokens.load(Ordering::Relaxed)
    }

    /// Output tokens of the generation requests accepted so far, counted in full when each is
    /// accepted (what `*generation_tokens_total` shows and the fake GPUs' energy follows).
    pub fn generation_tokens(&self) -> u64 {
        self.state.metrics.generation_tokens.load(Ordering::Relaxed)
    }

    /// Inference requests in flight now: admitted (past any `--capacity` queue) and not yet
    /// finished (the load model, [`crate::load`]).
    pub fn in_flight(&self) -> usize {
        self.state.load.in_flight()
    }

    /// Inference requests waiting in the `--capacity` queue now.
    pub fn queued(&self) -> usize {
        self.state.load.queued()
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Binds `cfg.host:cfg.port` and serves in a background task.
pub async fn start(cfg: MockConfig) -> anyhow::Result<MockHandle> {
    let listener = TcpListener::bind((cfg.host.as_str(), cfg.port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel();
    let state = Arc::new(State::new(cfg)?);
    let task = tokio::spawn(serve_state(listener, state.clone(), async {
        let _ = rx.await;
    }));
    Ok(MockHandle {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    cfg: MockConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    serve_state(listener, Arc::new(State::new(cfg)?), shutdown).await
}

async fn serve_state(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(_) => continue, // e.g. too many open files: keep serving the others
            },
            _ = &mut shutdown => return Ok(()),
            _ = state.dead_notify.notified() => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let connection = state.connections.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let tls = state.tls.clone();
            let svc = service_fn(move |req| {
                let state = state.clone();
                async move { handle(&state, req, connection).await }
            });
            // HTTP/1.1 or HTTP/2 (prior knowledge, or ALPN under TLS), whichever the client speaks.
            let http = auto::Builder::new(TokioExecutor::new());
            match tls {
                None => {
                    let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                }
                Some(acceptor) => {
                    if let Ok(tls_stream) = acceptor.accept(stream).await {
                        let _ = http.serve_connection(TokioIo::new(tls_stream), svc).await;
                    }
                }
            }
        });
    }
}

pub(crate) struct State {
    pub(crate) cfg: MockConfig,
    pub(crate) tokens: TokenSource,
    pub(crate) requests: AtomicU64,
    /// The load model: in-flight count, `--capacity` queue.
    pub(crate) load: Arc<Load>,
    /// Counters, histograms and gauges of the metrics pages ([`crate::metrics`]).
    pub(crate) metrics: Metrics,
    pub(crate) created: u64,
    recorded: std::sync::Mutex<Vec<RecordedRequest>>,
    faults: Vec<FaultRule>,
    generated: AtomicU64,
    dead: std::sync::atomic::AtomicBool,
    dead_notify: tokio::sync::Notify,
    started: Instant,
    /// `--record-timestamps` file.
    stamps: Option<std::sync::Mutex<std::io::LineWriter<std::fs::File>>>,
    /// Connections accepted so far.
    connections: AtomicU64,
    /// TLS acceptor when serving HTTPS.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Video jobs by id: when each was submitted.
    pub(crate) jobs: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
    /// `--oracle-answers`: replies by question.
    oracle: Option<crate::oracle::Oracle>,
}

impl State {
    fn new(cfg: MockConfig) -> anyhow::Result<Self> {
        let cfg_faults = cfg
            .faults
            .iter()
            .map(|f| FaultRule::parse(f).map_err(|e| anyhow::anyhow!("--fault {f}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let metrics = Metrics::new(&cfg)?;
        let tokens = TokenSource::new(&cfg.tokenizer)?;
        let oracle = cfg
            .oracle_answers
            .as_deref()
            .map(crate::oracle::Oracle::load)
            .transpose()?;
        let stamps = match &cfg.record_timestamps {
            Some(path) => Some(std::sync::Mutex::new(std::io::LineWriter::new(
                std::fs::File::create(path)
                    .map_err(|e| anyhow::anyhow!("--record-timestamps {}: {e}", path.display()))?,
            ))),
            None => None,
        };
        let tls = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
            _ => None,
        };
        let load = Load::new(
            cfg.capacity(),
            cfg.ttft_per_inflight_ms() > 0.0 || cfg.itl_per_inflight_ms() > 0.0,
        );
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(Self {
            oracle,
            cfg,
            tokens,
            requests: AtomicU64::new(0),
            load,
            metrics,
            created,
            recorded: std::sync::Mutex::new(Vec::new()),
            faults: cfg_faults,
            generated: AtomicU64::new(0),
            dead: std::sync::atomic::AtomicBool::new(false),
            dead_notify: tokio::sync::Notify::new(),
            jobs: Default::default(),
            connections: AtomicU64::new(0),
            started: Instant::now(),
            stamps,
            tls,
        })
    }

    /// Whether the server is still "loading" `delay_s` after it started.
    fn loading(&self, delay_s: f64) -> bool {
        delay_s > 0.0 && self.started.elapsed().as_secs_f64() < delay_s
    }

    /// A uniform draw in [0, 1) for request `n` and purpose `salt`, from the seed.
    fn draw(&self, n: u64, salt: u64) -> f64 {
        let mut z = self.cfg.random_seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Response body: all at once, or fed by a timing task.
pub(crate) enum MockBody {
    Full(Option<Bytes>),
    /// An `Err` item resets the connection mid-body.
    Channel(mpsc::Receiver<Result<Bytes, std::io::Error>>),
    /// `--record-timestamps`: the inner body, with the time each frame was handed to hyper.
    Stamped(Box<MockBody>, Stamps),
}

/// Server-side truth for one response: when the request arrived and when each body frame was
/// handed to hyper for writing (wall-clock epoch ns, the clock aiperf's records use). Written
/// as one JSON line when the response is done.
pub(crate) struct Stamps {
    request_id: String,
    arrived_ns: u64,
    chunks_ns: Vec<u64>,
    sink: Arc<State>,
}

fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Drop for Stamps {
    fn drop(&mut self) {
        let line = json!({"x_request_id": self.request_id, "arrived_ns": self.arrived_ns,
            "chunks_ns": self.chunks_ns});
        if let Some(w) = &self.sink.stamps {
            if let Ok(mut w) = w.lock() {
                use std::io::Write;
                let _ = writeln!(w, "{line}");
            }
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            MockBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            MockBody::Channel(rx) => rx.poll_recv(cx).map(|o| o.map(|d| d.map(Frame::data))),
            MockBody::Stamped(inner, stamps) => {
                let polled = Pin::new(inner.as_mut()).poll_frame(cx);
                if let Poll::Ready(Some(Ok(_))) = &polled {
                    stamps.chunks_ns.push(wall_ns());
                }
                polled
            }
        }
    }
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &str,
    body: MockBody,
) -> Response<MockBody> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response<MockBody> {
    respond(
        status,
        "application/json",
        MockBody::Full(Some(Bytes::from(v.to_string()))),
    )
}

pub(crate) fn error_response(status: StatusCode, message: &str) -> Response<MockBody> {
    json_response(
        status,
        &json!({"error": {"message": message, "type": "invalid_request_error", "code": status.as_u16()}}),
    )
}

fn reset() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "injected connection reset",
    )
}

async fn handle(
    state: &Arc<State>,
    req: Request<Incoming>,
    connection: u64,
) -> Result<Response<MockBody>, std::io::Error> {
    let arrived = Instant::now();
    let arrived_wall_ns = wall_ns();
    let version = format!("{:?}", req.version());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let accepts_sse = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let header_fault = req
        .headers()
        .get("x-mock-fault")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let headers: Vec<(String, String)> = if state.cfg.record_requests {
        req.headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    // Always read the whole body, even when it is not needed.
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                "could not read request body",
            ))
        }
    };
    let mut record_index = None;
    if state.cfg.record_requests && !is_scrape(&path) {
        if let Ok(mut r) = state.recorded.lock() {
            record_index = Some(r.len());
            r.push(RecordedRequest {
                method: method.to_string(),
                path: path.clone(),
                headers,
                body: body.clone(),
                arrived,
                reply: None,
                version,
                connection,
            });
        }
    }
    let api = match (&method, path.as_str()) {
        (&Method::GET, "/health") => {
            return Ok(json_response(StatusCode::OK, &json!({"status": "ok"})))
        }
        (&Method::GET, "/v1/models") if state.loading(state.cfg.models_ready_delay_seconds) => {
            return Ok(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "model is loading",
            ))
        }
        (&Method::GET, "/v1/models") => {
            return Ok(json_response(
                StatusCode::OK,
                &json!({"object": "list", "data": [{"id": "mock-model", "object": "model", "owned_by": "aiperf"}]}),
            ))
        }
        (&Method::GET, "/metrics") => return Ok(metrics::server_page(state, false)),
        (&Method::GET, "/prometheus/metrics")
            if state.cfg.metrics_style == crate::config::MetricsStyle::Trtllm =>
        {
            return Ok(metrics::server_page(state, true))
        }
        (&Method::GET, "/dcgm/metrics") if state.cfg.fake_gpus > 0 => {
            return Ok(metrics::dcgm_page(state))
        }
        // vLLM's control endpoints (`--reset-kv-cache`, `--server-profiler`): 200, empty body.
        (&Method::POST, "/reset_prefix_cache" | "/start_profile" | "/stop_profile") => {
            return Ok(respond(
                StatusCode::OK,
                "text/plain",
                MockBody::Full(Some(Bytes::new())),
            ))
        }
        (&Method::POST, "/v1/embeddings") => return Ok(embeddings(state, &body).await),
        (&Method::POST, "/v1/ranking" | "/rerank" | "/v2/rerank") => {
            return Ok(apis::rankings(state, &path, &body).await)
        }
        (&Method::POST, "/v1/images/generations") => {
            return Ok(apis::image_generation(state, &body).await)
        }
        (&Method::POST, "/v1/images/edits") => {
            return Ok(apis::image_edit(state, &content_type, &body).await)
        }
        (&Method::POST, "/v1/infer" | "/v1/image/infer") => {
            return Ok(apis::image_retrieval(state, &body).await)
        }
        (&Method::POST, "/v1/audio/transcriptions") => {
            return Ok(apis::transcription(state, &content_type, &body).await)
        }
        (&Method::POST, "/v1/videos") => {
            return Ok(apis::video_submit(state, &content_type, &body))
        }
        (&Method::GET, p) if p.starts_with("/v1/videos/") => return Ok(apis::video_get(state, p)),
        (&Method::POST, "/v1/chat/completions") => Api::Chat,
        (&Method::POST, "/v1/completions") => Api::Completions,
        (&Method::POST, "/generate") => Api::Tgi { stream: false },
        (&Method::POST, "/generate_stream") => Api::Tgi { stream: true },
        (&Method::POST, "/v1/responses") => Api::Responses,
        (&Method::POST, "/v1/messages") => Api::Messages,
        (&Method::POST, "/rag/api/prompt") => Api::Solido,
        _ => {
            return Ok(error_response(
                StatusCode::NOT_FOUND,
                &format!("no route for {method} {path}"),
            ))
        }
    };
    if state.loading(state.cfg.inference_ready_delay_seconds) {
        return Ok(error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "model is loading",
        ));
    }
    // A dying server: past --stop-after every request is reset and no connection is accepted.
    let n = state.generated.fetch_add(1, Ordering::Relaxed);
    if state.cfg.stop_after.is_some_and(|limit| n >= limit) {
        state.dead.store(true, Ordering::Relaxed);
        state.dead_notify.notify_waiters();
        return Err(reset());
    }
    let fault = match header_fault {
        Some(h) => match Fault::parse(&h) {
            Ok(f) => Some(f),
            Err(e) => return Ok(error_response(StatusCode::BAD_REQUEST, &e)),
        },
        None => pick(&state.faults, n),
    };
    match fault {
        Some(Fault::Reset) => return Err(reset()),
        Some(Fault::Delay(secs)) => tokio::time::sleep(Duration::from_secs_f64(secs)).await,
        Some(Fault::Http(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = json_response(
                status,
                &json!({"error": {"message": format!("Injected HTTP {code}"), "type": "server_error", "code": code}}),
            );
            if code == 429 || code == 503 {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            }
            return Ok(r);
        }
        _ => {}
    }
    let response = generate(state, &body, api, accepts_sse, arrived, fault, record_index).await;
    if state.stamps.is_none() {
        return Ok(response);
    }
    let stamps = Stamps {
        request_id,
        arrived_ns: arrived_wall_ns,
        chunks_ns: Vec::with_capacity(80),
        sink: state.clone(),
    };
    Ok(response.map(|b| MockBody::Stamped(Box::new(b), stamps)))
}

/// Monitoring pages: never recorded among the requests under test, whatever they answer.
fn is_scrape(path: &str) -> bool {
    matches!(path, "/metrics" | "/prometheus/metrics" | "/dcgm/metrics")
}

/// The endpoint label of an API, for the metrics pages.
fn endpoint(api: Api) -> Endpoint {
    match api {
        Api::Chat => Endpoint::ChatCompletions,
        Api::Completions => Endpoint::Completions,
        Api::Responses => Endpoint::Responses,
        Api::Messages => Endpoint::Messages,
        Api::Tgi { .. } => Endpoint::Generate,
        Api::Solido => Endpoint::Rag,
    }
}

async fn generate(
    state: &Arc<State>,
    body: &[u8],
    api: Api,
    accepts_sse: bool,
    arrived: Instant,
    fault: Option<Fault>,
    record_index: Option<usize>,
) -> Response<MockBody> {
    let n_req = state.requests.fetch_add(1, Ordering::Relaxed);
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}"))
        }
    };
    let Some(prompt) = api.prompt_text(&req) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            &format!("missing '{}'", api.input_field()),
        );
    };
    if state.cfg.error_rate > 0.0 && state.draw(n_req, 1) * 100.0 < state.cfg.error_rate {
        state
            .metrics
            .failed(endpoint(api), api.streams(&req, accepts_sse));
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": {"message": "Simulated error", "type": "server_error", "code": 500}}),
        );
    }
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock-model")
        .to_string();
    let stream = api.streams(&req, accepts_sse);
    let include_usage = req
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let continuous = req
        .pointer("/stream_options/continuous_usage_stats")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max_tokens = match api.max_tokens(&req) {
        Ok(m) => m,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
    };
    let prompt_tokens = state.tokens.count(&prompt);
    if let Some(message) = context_overflow(&state.cfg, api, prompt_tokens, max_tokens) {
        return crate::context::response(&message);
    }
    if let Some(m) = max_tokens.filter(|m| *m > state.cfg.max_output_tokens) {
        return error_response(
            StatusCode::BAD_REQUEST,
            &format!(
                "requested {m} output tokens; this server generates at most {} per request",
                state.cfg.max_output_tokens
            ),
        );
    }
    // An oracle reply is sent whole, whatever the request's output length.
    let fixed = state
        .oracle
        .as_ref()
        .and_then(|o| o.reply(api, &req))
        .map(|r| Arc::new(crate::oracle::pieces(r)));
    let max_tokens = if fixed.is_some() { None } else { max_tokens };
    let n = match &fixed {
        Some(p) => p.len(),
        None => max_tokens
            .unwrap_or(u64::from(state.cfg.default_output_tokens))
            .max(1) as usize,
    };
    let finish = if max_tokens.is_some() {
        "length"
    } else {
        "stop"
    };
    state.metrics.accepted(&Accepted {
        endpoint: endpoint(api),
        stream,
        length: max_tokens.is_some(),
        prompt_tokens: u64::from(prompt_tokens),
        output_tokens: n as u64,
    });
    let mut h = std::collections::hash_map::DefaultHasher::new();
    prompt.hash(&mut h);
    // The first `thinking` tokens are reasoning on APIs that have it; one token stays content.
    let thinking = if fixed.is_none() && matches!(api, Api::Chat | Api::Responses | Api::Messages) {
        (state.cfg.reasoning_tokens as usize).min(n - 1)
    } else {
        0
    };
    // The reply is never held whole: its pieces are regenerated from the seed wherever they
    // are written (token events, the whole-body document, epilogues that repeat the text).
    let reply = Reply {
        seed: h.finish(),
        fixed,
        n,
        huge: match fault {
            Some(Fault::Huge(bytes)) => bytes / 2,
            _ => 0,
        },
    };
    let reasoning: String = (0..thinking)
        .map(|i| reply.piece(&state.tokens, i))
        .collect();
    if let Some(i) = record_index {
        let full: String = (thinking..n)
            .map(|i| reply.piece(&state.tokens, i))
            .collect();
        if let Ok(mut r) = state.recorded.lock() {
            if let Some(rec) = r.get_mut(i) {
                rec.reply = Some(full);
            }
        }
    }
    let mut usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": n,
        "total_tokens": prompt_tokens as usize + n,
        // A deterministic 40 % prefix-cache hit, so cache metrics have something to show.
        "prompt_tokens_details": {"cached_tokens": metrics::cached_tokens(u64::from(prompt_tokens))},
    });
    if thinking > 0 {
        usage["completion_tokens_details"] = json!({"reasoning_tokens": thinking});
    }
    let spec_metrics = spec_decode_metrics(state, api, n_req, n);
    let head = Head {
        id: format!("{}-{n_req}", api.id_prefix()),
        created: state.created,
        model,
    };

    // Past any --capacity queue; the TTFT starts at arrival, or at admission after queueing.
    let admission = state.load.admit().await;
    let (start, queued) = if admission.waited {
        (
            admission.at,
            admission.at.saturating_duration_since(arrived),
        )
    } else {
        (arrived, Duration::ZERO)
    };
    state.metrics.kv_hold(u64::from(prompt_tokens));
    let mut pace = Pacer {
        st: state.clone(),
        n_req,
        admission: Some(admission),
        due: start,
        prompt_tokens: prompt_tokens as f64,
        kv: u64::from(prompt_tokens),
    };
    let timing = Timing::new(arrived, queued);
    let (prompt_n, output_n) = (u64::from(prompt_tokens), n as u64);

    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    let st = state.clone();
    if !stream {
        // The document with a marker where the text goes, written around regenerated text.
        let mut doc = api.whole(&head, TEXT_MARK, &reasoning, finish, &usage);
        if let Some(m) = spec_metrics {
            doc["metrics"] = m;
        }
        let doc = doc.to_string();
        tokio::spawn(async move {
            let mut out = Out::new(tx, st.clone(), timing);
            // Waits that grow with the load are waited one by one (the load is watched during
            // each); fixed ones just move the deadline, and are slept through at once.
            for i in 0..n {
                let w = pace.plan(i);
                if w.per > 0.0 {
                    if pace.wait(w, &mut out).await.is_err() {
                        return;
                    }
                } else {
                    pace.due = w.due();
                }
            }
            if pace.until_due(&mut out).await.is_err() {
                return;
            }
            pace.finish();
            let reset = fault == Some(Fault::ResetMidStream);
            let text_end = if reset {
                thinking + (n - thinking) / 2
            } else {
                n
            };
            let mut segments = doc.split(TEXT_MARK_JSON);
            if let Some(first) = segments.next() {
                let _ = out.push(first).await;
            }
            for seg in segments {
                if out
                    .text(&st.tokens, &reply, thinking..text_end)
                    .await
                    .is_err()
                {
                    break;
                }
                if reset {
                    let _ = out.reset().await;
                    break;
                }
                if out.push(seg).await.is_err() {
                    break;
                }
            }
            let _ = out.flush().await;
            out.finish(prompt_n, output_n, false);
        });
        return respond(StatusCode::OK, "application/json", MockBody::Channel(rx));
    }

    let preamble = api.preamble(&head, &usage);
    let mut epilogue = api.epilogue(
        &head,
        TEXT_MARK,
        &reasoning,
        finish,
        &usage,
        include_usage,
        spec_metrics.as_ref(),
    );
    if api.done_sentinel() && fault != Some(Fault::NoDone) {
        epilogue.push_str("data: [DONE]\n\n");
    }
    let half = n / 2;
    // (index of the token before which it goes, the injected text); `n` means after the last.
    let (inject_at, injected, stop_after_inject) = match fault {
        Some(Fault::MalformedSse) => (half.clamp(1, n), "this line is not SSE\n\n", false),
        Some(Fault::InvalidJson) => (half.clamp(1, n), "data: {\"broken\": \n\n", false),
        Some(Fault::ErrorEvent) => (
            half.max(1).min(n),
            "event: error\n: injected error event\ndata: {}\n\n",
            true,
        ),
        _ => (usize::MAX, "", false),
    };
    let reset_after = (fault == Some(Fault::ResetMidStream))
        .then_some(half.max(1))
        .filter(|&r| r < n);
    tokio::spawn(async move {
        let mut out = Out::new(tx, st.clone(), timing);
        let _ = out.push(&preamble).await;
        let mut piece = String::new();
        for i in 0..=n {
            if i == inject_at {
                if out.push(injected).await.is_err() {
                    break;
                }
                if stop_after_inject {
                    pace.finish();
                    let _ = out.flush().await;
                    return;
                }
            }
            if i == n {
                break;
            }
            if reset_after == Some(i) {
                pace.finish();
                let _ = out.reset().await;
                return;
            }
            // Token i is due at start + ttft + gaps (+ jitter, + load): absolute deadlines.
            let w = pace.plan(i);
            if w.due() > Instant::now() {
                if out.flush().await.is_err() {
                    break;
                }
                if pace.wait(w, &mut out).await.is_err() {
                    break;
                }
            } else {
                pace.due = w.due();
            }
            pace.generated();
            if i + 1 == n {
                // Generation is over: the request stops counting as in flight (and frees its
                // --capacity slot) before the client can see its end.
                pace.finish();
            }
            let cumulative = continuous.then(|| {
                json!({"prompt_tokens": prompt_tokens, "completion_tokens": i + 1, "total_tokens": prompt_tokens as usize + i + 1})
            });
            let last = (i + 1 == n).then_some(finish);
            piece.clear();
            piece.push_str(&reply.piece(&st.tokens, i));
            let event = api.token(&head, i, &piece, last, cumulative.as_ref(), i < thinking);
            if out.token(&event).await.is_err() {
                break;
            }
        }
        let mut segments = epilogue.split(TEXT_MARK_JSON);
        if let Some(first) = segments.next() {
            let _ = out.push(first).await;
        }
        for seg in segments {
            if out.text(&st.tokens, &reply, thinking..n).await.is_err() {
                break;
            }
            if out.push(seg).await.is_err() {
                break;
            }
        }
        let _ = out.flush().await;
        out.finish(prompt_n, output_n, true);
    });
    respond(StatusCode::OK, "text/event-stream", MockBody::Channel(rx))
}

/// vLLM's refusal of a chat, completions or Responses request that does not fit
/// `--max-model-len`, if it does not.
fn context_overflow(
    cfg: &MockConfig,
    api: Api,
    prompt_tokens: u32,
    max_tokens: Option<u64>,
) -> Option<String> {
    if !matches!(api, Api::Chat | Api::Completions | Api::Responses) {
        return None;
    }
    crate::context::overflow(cfg.max_model_len?, u64::from(prompt_tokens), max_tokens)
}

/// vLLM's response-root `metrics` object of request `n_req`'s `n`-token chat or completions
/// reply, with `--num-speculative-tokens` set.
fn spec_decode_metrics(state: &State, api: Api, n_req: u64, n: usize) -> Option<Value> {
    let k = state.cfg.num_speculative_tokens as usize;
    if k == 0 || !matches!(api, Api::Chat | Api::Completions) {
        return None;
    }
    // Salts far above the jitter draws' (2, 3 + token index).
    let steps = crate::spec_decode::steps(n, k, state.cfg.spec_acceptance_prob, |i| {
        state.draw(n_req, SPEC_DECODE_SALT ^ i)
    });
    let payload = crate::spec_decode::payload(&steps, k, state.cfg.spec_decode_detailed);
    Some(crate::spec_decode::metrics(&payload))
}

/// Where the speculative-decoding draws' salts start.
const SPEC_DECODE_SALT: u64 = 0x5bec_0000_0000_0000;

/// When each token of one reply is due: token 0 a TTFT after the start, each later one a gap
/// after the previous was due (absolute deadlines, no drift), each wait stretched by the load
/// model ([`crate::load`]).
struct Pacer {
    st: Arc<State>,
    n_req: u64,
    /// Held until the last token is due (or any early exit: the task ends, the client went
    /// away): the request counts as in flight and keeps its `--capacity` slot until then.
    admission: Option<Admission>,
    /// When the latest planned token is due; before token 0, when the TTFT starts.
    due: Instant,
    /// The prompt's length, for `--ttft-per-input-token`.
    prompt_tokens: f64,
    /// Tokens this request holds in the modelled KV cache (its prompt, then each token
    /// generated while streaming), freed when it stops counting as in flight.
    kv: u64,
}

impl Pacer {
    /// The wait for token `i`, from when the previous one was due, with the load seen now.
    fn plan(&self, i: usize) -> Wait {
        let cfg = &self.st.cfg;
        let (base, per, jitter, salt) = if i == 0 {
            (
                cfg.ttft_ms() + cfg.ttft_per_input_token_ms() * self.prompt_tokens,
                cfg.ttft_per_inflight_ms(),
                cfg.ttft_jitter,
                2,
            )
        } else {
            (
                cfg.itl_ms(),
                cfg.itl_per_inflight_ms(),
                cfg.itl_jitter,
                3 + i as u64,
            )
        };
        Wait {
            start: self.due,
            base,
            per,
            jitter,
            u: self.st.draw(self.n_req, salt),
            peak: self.admission.as_ref().map_or(0, Admission::others),
        }
    }

    /// Sleeps through `w` (longer if the load rises meanwhile), which becomes the latest due
    /// token. `Err` when the client went away.
    async fn wait(&mut self, mut w: Wait, out: &mut Out) -> Result<(), ()> {
        let gone = match &self.admission {
            Some(a) => tokio::select! {
                _ = a.wait(&mut w) => false,
                _ = out.tx.closed() => true,
            },
            None => tokio::select! {
                _ = tokio::time::sleep_until(w.due().into()) => false,
                _ = out.tx.closed() => true,
            },
        };
        self.due = w.due();
        if gone {
            out.failed = true;
            Err(())
        } else {
            Ok(())
        }
    }

    /// Sleeps until the latest planned token is due. `Err` when the client went away.
    async fn until_due(&self, out: &mut Out) -> Result<(), ()> {
        let gone = tokio::select! {
            _ = tokio::time::sleep_until(self.due.into()) => false,
            _ = out.tx.closed() => true,
        };
        out.failed |= gone;
        if gone {
            Err(())
        } else {
            Ok(())
        }
    }

    /// One more token is generated: it takes KV-cache room while the request is in flight.
    fn generated(&mut self) {
        if self.admission.is_some() {
            self.kv += 1;
            self.st.metrics.kv_hold(1);
        }
    }

    /// The request no longer counts as in flight, nor holds KV-cache room.
    fn finish(&mut self) {
        self.admission = None;
        self.st.metrics.kv_release(std::mem::take(&mut self.kv));
    }
}

impl Drop for Pacer {
    /// Whatever way the reply ends, its KV-cache room is freed.
    fn drop(&mut self) {
        self.st.metrics.kv_release(std::mem::take(&mut self.kv));
    }
}

/// Stands for the reply text in a document serialized before the text exists.
const TEXT_MARK: &str = "\u{1}aiperf-mock-reply\u{1}";
/// [`TEXT_MARK`] as it appears inside a serialized JSON string.
const TEXT_MARK_JSON: &str = "\\u0001aiperf-mock-reply\\u0001";

/// One reply's tokens, regenerated on demand from the prompt's seed.
#[derive(Clone)]
struct Reply {
    seed: u64,
    /// `--oracle-answers`: the reply's tokens, instead of generated ones.
    fixed: Option<Arc<Vec<String>>>,
    n: usize,
    /// `huge` fault: this many ` x` appended to the first token.
    huge: usize,
}

impl Reply {
    fn piece<'a>(&self, tokens: &'a TokenSource, i: usize) -> std::borrow::Cow<'a, str> {
        if let Some(fixed) = &self.fixed {
            return std::borrow::Cow::Owned(fixed.get(i).cloned().unwrap_or_default());
        }
        let p = tokens.piece(self.seed, i);
        if i == 0 && self.huge > 0 {
            std::borrow::Cow::Owned(format!("{p}{}", " x".repeat(self.huge)))
        } else {
            std::borrow::Cow::Borrowed(p)
        }
    }
}

/// A response body written in frames of at most about [`Out::FRAME`] bytes: nothing larger
/// than one frame (or one token event) is ever held. It records the reply's timeline in the
/// metrics histograms as frames are handed over ([`Timing`]).
struct Out {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: String,
    st: Arc<State>,
    timing: Timing,
    /// Streamed tokens in `buf`, not yet handed to the body.
    pending: u64,
    /// The reply was cut short (client gone, injected reset): it records no end.
    failed: bool,
}

impl Out {
    const FRAME: usize = 64 * 1024;

    fn new(
        tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
        st: Arc<State>,
        timing: Timing,
    ) -> Self {
        Self {
            tx,
            buf: String::new(),
            st,
            timing,
            pending: 0,
            failed: false,
        }
    }

    /// Appends one streamed token's event.
    async fn token(&mut self, event: &str) -> Result<(), ()> {
        self.pending += 1;
        self.push(event).await
    }

    /// The whole reply was handed over: records its end, unless it was cut short.
    fn finish(&self, prompt_tokens: u64, output_tokens: u64, streamed: bool) {
        if !self.failed {
            self.timing.finish(
                &self.st.metrics,
                Instant::now(),
                prompt_tokens,
                output_tokens,
                streamed,
            );
        }
    }

    /// Appends `s`; sends a frame when the buffer is full. `Err` when the client went away.
    async fn push(&mut self, s: &str) -> Result<(), ()> {
        self.buf.push_str(s);
        if self.buf.len() >= Self::FRAME {
            self.flush().await?;
        }
        Ok(())
    }

    /// Tokens `range` of the reply as the inside of a JSON string.
    async fn text(
        &mut self,
        tokens: &TokenSource,
        reply: &Reply,
        range: std::ops::Range<usize>,
    ) -> Result<(), ()> {
        for i in range.take_while(|&i| i < reply.n) {
            let quoted = serde_json::to_string(&reply.piece(tokens, i)).unwrap_or_default();
            let inner = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or("");
            self.push(inner).await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let frame = Bytes::from(std::mem::take(&mut self.buf));
        if self.tx.send(Ok(frame)).await.is_err() {
            self.failed = true;
            return Err(());
        }
        let tokens = std::mem::take(&mut self.pending);
        self.timing.handed(&self.st.metrics, tokens, Instant::now());
        Ok(())
    }

    /// Sends what is buffered, then resets the connection.
    async fn reset(&mut self) -> Result<(), ()> {
        self.failed = true;
        self.flush().await?;
        self.tx.send(Err(reset())).await.map_err(|_| ())
    }
}

async fn embeddings(state: &Arc<State>, body: &[u8]) -> Response<MockBody> {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(StatusCode::BAD_REQUEST, &format!("invalid JSON body: {e}"))
        }
    };
    let inputs: Vec<String> = match req.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect(),
        // vLLM's chat-style embeddings: one input made of every message.
        _ => match Api::Chat.prompt_text(&req) {
            Some(text) => vec![text],
            None => return error_response(StatusCode::BAD_REQUEST, "missing 'input'"),
        },
    };
    let prompt_tokens: u32 = inputs.iter().map(|t| state.tokens.count(t)).sum();
    let _in_flight = apis::think(state).await;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let seed = t.len() as f64;
            let v: Vec<f64> = (0..64).map(|k| ((seed + k as f64) * 0.618).sin()).collect();
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    let model = req.get("model").cloned().unwrap_or(json!("mock-model"));
    json_response(
        StatusCode::OK,
        &json!({"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}),
    )
}
