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
    errors: AtomicU64,
    in_flight: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
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
}

impl State {
    fn new(cfg: MockConfig) -> anyhow::Result<Self> {
        let cfg_faults = cfg
            .faults
            .iter()
            .map(|f| FaultRule::parse(f).map_err(|e| anyhow::anyhow!("--fault {f}: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let tokens = TokenSource::new(&cfg.tokenizer)?;
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
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(Self {
            cfg,
            tokens,
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            completion_tokens: AtomicU64::new(0),
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
    if state.cfg.record_requests {
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
        (&Method::GET, "/metrics") => return Ok(prometheus(state)),
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
        state.errors.fetch_add(1, Ordering::Relaxed);
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
    let max_tokens = api.max_tokens(&req);
    let n = max_tokens.unwrap_or(state.cfg.default_output_tokens).max(1) as usize;
    let finish = if max_tokens.is_some() {
        "length"
    } else {
        "stop"
    };
    let prompt_tokens = state.tokens.count(&prompt);
    state
        .prompt_tokens
        .fetch_add(prompt_tokens as u64, Ordering::Relaxed);
    state
        .completion_tokens
        .fetch_add(n as u64, Ordering::Relaxed);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    prompt.hash(&mut h);
    let mut pieces: Vec<String> = state
        .tokens
        .output(h.finish(), n)
        .map(str::to_string)
        .collect();
    if let (Some(Fault::Huge(bytes)), Some(first)) = (fault, pieces.first_mut()) {
        first.push_str(&" x".repeat(bytes / 2));
    }
    // The first `thinking` tokens are reasoning on APIs that have it; one token stays content.
    let thinking = if matches!(api, Api::Chat | Api::Responses | Api::Messages) {
        (state.cfg.reasoning_tokens as usize).min(n - 1)
    } else {
        0
    };
    let full: String = pieces[thinking..].concat();
    let reasoning: String = pieces[..thinking].concat();
    if let Some(i) = record_index {
        if let Ok(mut r) = state.recorded.lock() {
            if let Some(rec) = r.get_mut(i) {
                rec.reply = Some(full.clone());
            }
        }
    }
    let mut usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": n,
        "total_tokens": prompt_tokens as usize + n,
        // A deterministic 40 % prefix-cache hit, so cache metrics have something to show.
        "prompt_tokens_details": {"cached_tokens": prompt_tokens * 2 / 5},
    });
    if thinking > 0 {
        usage["completion_tokens_details"] = json!({"reasoning_tokens": thinking});
    }
    let head = Head {
        id: format!("{}-{n_req}", api.id_prefix()),
        created: state.created,
        model,
    };

    // Token i is due at arrived + ttft + i * itl (+ jitter): absolute deadlines, no drift.
    let ttft = jittered(
        state.cfg.ttft_ms(),
        state.cfg.ttft_jitter,
        state.draw(n_req, 2),
    );
    let itl = state.cfg.itl_ms();
    let due: Vec<Instant> = (0..n)
        .scan(arrived + ms(ttft), |t, i| {
            if i > 0 {
                *t += ms(jittered(
                    itl,
                    state.cfg.itl_jitter,
                    state.draw(n_req, 3 + i as u64),
                ));
            }
            Some(*t)
        })
        .collect();

    if !stream {
        let doc = api.whole(&head, &full, &reasoning, finish, &usage);
        if let Some(last) = due.last() {
            tokio::time::sleep_until((*last).into()).await;
        }
        if fault == Some(Fault::ResetMidStream) {
            let text = doc.to_string();
            let (tx, rx) = mpsc::channel(2);
            let _ = tx.try_send(Ok(Bytes::from(text[..text.len() / 2].to_string())));
            let _ = tx.try_send(Err(reset()));
            return respond(StatusCode::OK, "application/json", MockBody::Channel(rx));
        }
        return json_response(StatusCode::OK, &doc);
    }

    let events: Vec<String> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cumulative = continuous.then(|| {
                json!({"prompt_tokens": prompt_tokens, "completion_tokens": i + 1, "total_tokens": prompt_tokens as usize + i + 1})
            });
            let last = (i + 1 == n).then_some(finish);
            api.token(&head, i, p, last, cumulative.as_ref(), i < thinking)
        })
        .collect();
    let preamble = api.preamble(&head, &usage);
    let mut events = events;
    let mut epilogue = api.epilogue(&head, &full, &reasoning, finish, &usage, include_usage);
    if api.done_sentinel() && fault != Some(Fault::NoDone) {
        epilogue.push_str("data: [DONE]\n\n");
    }
    let half = events.len() / 2;
    match fault {
        Some(Fault::MalformedSse) => events.insert(
            half.max(1).min(events.len()),
            "this line is not SSE\n\n".to_string(),
        ),
        Some(Fault::InvalidJson) => events.insert(
            half.max(1).min(events.len()),
            "data: {\"broken\": \n\n".to_string(),
        ),
        Some(Fault::ErrorEvent) => {
            events.truncate(half.max(1));
            events.push("event: error\n: injected error event\ndata: {}\n\n".to_string());
            epilogue.clear();
        }
        _ => {}
    }
    let reset_after = (fault == Some(Fault::ResetMidStream)).then_some(half.max(1));
    let due: Vec<Instant> = (0..events.len())
        .map(|i| due.get(i).or(due.last()).copied().unwrap_or(arrived))
        .collect();

    let now = Instant::now();
    if reset_after.is_none() && due.last().is_none_or(|t| *t <= now) {
        let mut all = preamble;
        for e in &events {
            all.push_str(e);
        }
        all.push_str(&epilogue);
        return respond(
            StatusCode::OK,
            "text/event-stream",
            MockBody::Full(Some(Bytes::from(all))),
        );
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    state.in_flight.fetch_add(1, Ordering::Relaxed);
    let st = state.clone();
    tokio::spawn(async move {
        let mut buf = preamble;
        let mut reset_now = false;
        for (i, (e, t)) in events.iter().zip(due).enumerate() {
            if reset_after == Some(i) {
                reset_now = true;
                break;
            }
            if t > Instant::now() {
                if !buf.is_empty()
                    && tx
                        .send(Ok(Bytes::from(std::mem::take(&mut buf))))
                        .await
                        .is_err()
                {
                    break;
                }
                tokio::time::sleep_until(t.into()).await;
            }
            buf.push_str(e);
        }
        if reset_now {
            let _ = tx.send(Ok(Bytes::from(buf))).await;
            let _ = tx.send(Err(reset())).await;
        } else {
            buf.push_str(&epilogue);
            let _ = tx.send(Ok(Bytes::from(buf))).await;
        }
        st.in_flight.fetch_sub(1, Ordering::Relaxed);
    });
    respond(StatusCode::OK, "text/event-stream", MockBody::Channel(rx))
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0) / 1000.0)
}

/// `base +/- jitter` from a uniform draw `u` in [0, 1).
fn jittered(base: f64, jitter: f64, u: f64) -> f64 {
    if jitter <= 0.0 {
        base
    } else {
        (base + jitter * (2.0 * u - 1.0)).max(0.0)
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
    apis::think(state).await;
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

fn prometheus(state: &Arc<State>) -> Response<MockBody> {
    let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let text = format!(
        "# HELP vllm:request_success_total Requests answered.\n# TYPE vllm:request_success_total counter\n\
         vllm:request_success_total{{model_name=\"mock-model\"}} {}\n\
         # HELP vllm:num_requests_running Streams being written.\n# TYPE vllm:num_requests_running gauge\n\
         vllm:num_requests_running{{model_name=\"mock-model\"}} {}\n\
         # HELP vllm:prompt_tokens_total Prompt tokens received.\n# TYPE vllm:prompt_tokens_total counter\n\
         vllm:prompt_tokens_total{{model_name=\"mock-model\"}} {}\n\
         # HELP vllm:generation_tokens_total Tokens generated.\n# TYPE vllm:generation_tokens_total counter\n\
         vllm:generation_tokens_total{{model_name=\"mock-model\"}} {}\n\
         # HELP aiperf_mock_errors_total Injected errors.\n# TYPE aiperf_mock_errors_total counter\n\
         aiperf_mock_errors_total {}\n",
        r(&state.requests),
        r(&state.in_flight),
        r(&state.prompt_tokens),
        r(&state.completion_tokens),
        r(&state.errors)
    );
    respond(
        StatusCode::OK,
        "text/plain; version=0.0.4",
        MockBody::Full(Some(Bytes::from(text))),
    )
}
