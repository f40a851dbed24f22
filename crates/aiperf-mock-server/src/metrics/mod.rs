//! The mock's monitoring pages: a Prometheus page in the names of a real inference server
//! (`--metrics-style vllm|sglang|trtllm|dynamo`) and a DCGM-exporter page for `--fake-gpus N`
//! fake GPUs, both moving with the load the mock actually serves, so that a client's server-
//! metrics and GPU-telemetry collection can be checked against hand-worked figures.
//!
//! What is counted, and when (one source of truth per figure):
//!
//! * **Token and request counters** move when a generation request is *accepted* (valid body,
//!   no injected error), before its first token: prompt tokens (the mock's tokenizer), the
//!   output tokens it will generate, the 40 % prefix-cache hit of its prompt
//!   ([`cached_tokens`]), and its finish reason (`length` when the request set a length,
//!   `stop` otherwise). Non-generation inference requests (embeddings, rankings, images, ...)
//!   count as one `stop` success each and no tokens. A client that leaves mid-reply has still
//!   been counted.
//! * **Histograms** record what the mock did, on a monotonic clock from the request's arrival
//!   at the handler: TTFT when the first token's bytes are handed to the response body
//!   (streamed) or when the last byte is (whole replies: TTFT = e2e); ITL for each gap between
//!   consecutive streamed tokens handed over (tokens handed over in one frame are 0 apart;
//!   whole replies record none); and, when the last byte is handed over, e2e, queue time (the
//!   wait for a `--capacity` slot, 0 without one), prompt and output lengths, and per-request
//!   TPOT = (last token - first token) / (n - 1) (streamed replies of 2+ tokens). A reply cut
//!   short (client gone, injected reset or error event) records no e2e.
//! * **Gauges**: running = inference requests in flight, waiting = requests queued for a
//!   `--capacity` slot, KV usage = min(1, KV tokens / `--kv-cache-tokens`) where KV tokens sum,
//!   over the generation requests in flight, their prompt tokens plus the tokens streamed so
//!   far (whole replies hold their prompt only).
//!
//! Recording costs a few relaxed atomic adds per token and no lock or allocation.
//!
//! The pieces:
//!
//! * this module: the counters and gauges ([`Metrics`]), the per-request timeline that feeds
//!   the histograms ([`Timing`]), and the routes' entry points ([`server_page`], [`dcgm_page`]);
//! * [`histogram`]: the lock-free histogram, with the real servers' bounds in [`buckets`];
//! * [`rate`]: the output tokens per second (power gauge, SGLang's throughput);
//! * [`prometheus`]: the Prometheus text writer every page shares;
//! * [`vllm`], [`sglang`], [`trtllm`] (with its iteration-stats JSON), [`dynamo`]: the styles'
//!   pages;
//! * [`dcgm`]: the fake GPUs and their DCGM-exporter page.

mod buckets;
mod dcgm;
mod dynamo;
mod histogram;
mod prometheus;
mod rate;
mod sglang;
mod trtllm;
mod vllm;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http::{Response, StatusCode};

use crate::config::{MetricsStyle, MockConfig, MAX_FAKE_GPUS};
use crate::server::{json_response, MockBody, State};

pub(crate) use dcgm::dcgm_page;
use dcgm::Gpus;
use histogram::{nanos, Histogram};
use prometheus::prometheus_response;
use rate::Rate;

/// The model name every page reports (the one `/v1/models` lists).
const MODEL: &str = "mock-model";

/// Prompt tokens served from the (deterministic, 40 %) prefix cache for a prompt of `prompt`
/// tokens: what `usage.prompt_tokens_details.cached_tokens` says and the prefix-cache hit
/// counters add up.
pub(crate) fn cached_tokens(prompt: u64) -> u64 {
    prompt * 2 / 5
}

/// The per-request histograms, with the buckets of the style's server.
struct Recorder {
    ttft: Histogram,
    itl: Histogram,
    tpot: Histogram,
    e2e: Histogram,
    queue: Histogram,
    prompt: Histogram,
    generation: Histogram,
}

impl Recorder {
    fn new(style: MetricsStyle) -> Self {
        use buckets::*;
        let (ttft, itl, e2e, prompt, generation) = match style {
            MetricsStyle::Vllm | MetricsStyle::Trtllm => {
                (VLLM_TTFT, VLLM_ITL, VLLM_REQUEST, VLLM_TOKENS, VLLM_TOKENS)
            }
            MetricsStyle::Sglang => (
                SGLANG_TTFT,
                SGLANG_ITL,
                SGLANG_E2E,
                SGLANG_TOKENS,
                SGLANG_TOKENS,
            ),
            MetricsStyle::Dynamo => (
                DYNAMO_TTFT,
                DYNAMO_ITL,
                DYNAMO_DURATION,
                DYNAMO_ISL,
                DYNAMO_OSL,
            ),
        };
        Self {
            ttft: Histogram::seconds(ttft),
            itl: Histogram::seconds(itl),
            tpot: Histogram::seconds(VLLM_ITL),
            e2e: Histogram::seconds(e2e),
            queue: Histogram::seconds(VLLM_REQUEST),
            prompt: Histogram::tokens(prompt),
            generation: Histogram::tokens(generation),
        }
    }
}

/// The endpoint a generation request came in on (Dynamo's `endpoint` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    ChatCompletions,
    Completions,
    Responses,
    Messages,
    Generate,
    Rag,
}

impl Endpoint {
    const ALL: [Endpoint; 6] = [
        Endpoint::ChatCompletions,
        Endpoint::Completions,
        Endpoint::Responses,
        Endpoint::Messages,
        Endpoint::Generate,
        Endpoint::Rag,
    ];

    fn label(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Completions => "completions",
            Endpoint::Responses => "responses",
            Endpoint::Messages => "messages",
            Endpoint::Generate => "generate",
            Endpoint::Rag => "rag",
        }
    }
}

/// Dynamo's request counter: by endpoint, unary/stream and success/error.
type RequestCounts = [[[AtomicU64; 2]; 2]; Endpoint::ALL.len()];

/// Everything the metrics pages show that is not the load model's gauges.
pub(crate) struct Metrics {
    style: MetricsStyle,
    started: Instant,
    /// Prompt tokens of accepted generation requests.
    pub(crate) prompt_tokens: AtomicU64,
    /// Output tokens of accepted generation requests (all of each, counted on acceptance).
    pub(crate) generation_tokens: AtomicU64,
    /// [`cached_tokens`] of each accepted prompt.
    cached_tokens: AtomicU64,
    /// Injected HTTP 500s (`--error-rate`).
    pub(crate) errors: AtomicU64,
    /// Reads of the server-metrics page(s).
    pub(crate) scrapes: AtomicU64,
    /// Reads of `/dcgm/metrics`.
    pub(crate) dcgm_scrapes: AtomicU64,
    /// Accepted requests by finish reason: `stop`, `length`.
    finished: [AtomicU64; 2],
    dynamo_requests: RequestCounts,
    /// Tokens held in the modelled KV cache by the requests in flight.
    kv_tokens: AtomicU64,
    kv_capacity: u64,
    /// Output tokens handed over, per second (the power gauge's rate).
    rate: Rate,
    rec: Recorder,
    gpus: Gpus,
}

/// An accepted generation request, as the counters see it.
pub(crate) struct Accepted {
    pub(crate) endpoint: Endpoint,
    pub(crate) stream: bool,
    /// The request set an output length (finish reason `length`, else `stop`).
    pub(crate) length: bool,
    pub(crate) prompt_tokens: u64,
    pub(crate) output_tokens: u64,
}

/// Refuses metrics settings that make no sense, with the flag's name.
pub(crate) fn check(cfg: &MockConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        cfg.fake_gpus <= MAX_FAKE_GPUS,
        "--fake-gpus {}: at most {MAX_FAKE_GPUS} fake GPUs",
        cfg.fake_gpus
    );
    anyhow::ensure!(
        cfg.gpu_idle_watts.is_finite() && cfg.gpu_idle_watts >= 0.0,
        "--gpu-idle-watts {}: must be a finite number >= 0",
        cfg.gpu_idle_watts
    );
    anyhow::ensure!(
        cfg.gpu_joules_per_token.is_finite() && cfg.gpu_joules_per_token >= 0.0,
        "--gpu-joules-per-token {}: must be a finite number >= 0",
        cfg.gpu_joules_per_token
    );
    anyhow::ensure!(
        cfg.kv_cache_tokens > 0,
        "--kv-cache-tokens must be at least 1"
    );
    Ok(())
}

impl Metrics {
    pub(crate) fn new(cfg: &MockConfig) -> anyhow::Result<Self> {
        check(cfg)?;
        Ok(Self {
            style: cfg.metrics_style,
            started: Instant::now(),
            prompt_tokens: AtomicU64::new(0),
            generation_tokens: AtomicU64::new(0),
            cached_tokens: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            scrapes: AtomicU64::new(0),
            dcgm_scrapes: AtomicU64::new(0),
            finished: Default::default(),
            dynamo_requests: Default::default(),
            kv_tokens: AtomicU64::new(0),
            kv_capacity: cfg.kv_cache_tokens,
            rate: Rate::new(),
            rec: Recorder::new(cfg.metrics_style),
            gpus: Gpus::new(cfg),
        })
    }

    /// Counts an accepted generation request (its tokens, cache hits and finish reason).
    pub(crate) fn accepted(&self, a: &Accepted) {
        self.prompt_tokens
            .fetch_add(a.prompt_tokens, Ordering::Relaxed);
        self.generation_tokens
            .fetch_add(a.output_tokens, Ordering::Relaxed);
        self.cached_tokens
            .fetch_add(cached_tokens(a.prompt_tokens), Ordering::Relaxed);
        self.finished[usize::from(a.length)].fetch_add(1, Ordering::Relaxed);
        self.dynamo_request(a.endpoint, a.stream, true);
    }

    /// Counts an injected error answer to a generation request.
    pub(crate) fn failed(&self, endpoint: Endpoint, stream: bool) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.dynamo_request(endpoint, stream, false);
    }

    /// Counts a non-generation inference request (embeddings, rankings, images, ...) as a
    /// `stop` success.
    pub(crate) fn served_other(&self) {
        self.finished[0].fetch_add(1, Ordering::Relaxed);
    }

    fn dynamo_request(&self, endpoint: Endpoint, stream: bool, ok: bool) {
        let e = Endpoint::ALL
            .iter()
            .position(|&x| x == endpoint)
            .unwrap_or(0);
        self.dynamo_requests[e][usize::from(stream)][usize::from(!ok)]
            .fetch_add(1, Ordering::Relaxed);
    }

    /// `tokens` more are held in the KV cache.
    pub(crate) fn kv_hold(&self, tokens: u64) {
        self.kv_tokens.fetch_add(tokens, Ordering::Relaxed);
    }

    /// `tokens` held in the KV cache are freed.
    pub(crate) fn kv_release(&self, tokens: u64) {
        self.kv_tokens.fetch_sub(tokens, Ordering::Relaxed);
    }

    /// Modelled KV-cache usage, 0..=1.
    fn kv_usage(&self) -> f64 {
        (self.kv_tokens.load(Ordering::Relaxed) as f64 / self.kv_capacity as f64).min(1.0)
    }

    /// `k` output tokens handed over now (the power gauge's token rate).
    fn tokens_out(&self, k: u64) {
        self.rate.add(self.started.elapsed().as_secs(), k);
    }

    fn finished(&self, i: usize) -> u64 {
        self.finished[i].load(Ordering::Relaxed)
    }

    /// Prompt tokens served from the prefix cache so far.
    fn cache_hits(&self) -> u64 {
        self.cached_tokens.load(Ordering::Relaxed)
    }

    /// Prefix-cache hits / prompt tokens looked up (0 before any).
    fn cache_hit_rate(&self) -> f64 {
        let queries = self.prompt_tokens.load(Ordering::Relaxed);
        if queries == 0 {
            0.0
        } else {
            self.cache_hits() as f64 / queries as f64
        }
    }
}

/// One generation request's timeline, recorded into the histograms as its bytes are handed to
/// the response body.
pub(crate) struct Timing {
    arrived: Instant,
    /// The wait for a `--capacity` slot.
    queued: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Timing {
    pub(crate) fn new(arrived: Instant, queued: Duration) -> Self {
        Self {
            arrived,
            queued,
            first: None,
            last: None,
        }
    }

    /// `k` streamed tokens were handed to the body at `now` (in one frame): the first of the
    /// reply gives the TTFT, each later one an inter-token gap (0 within a frame).
    pub(crate) fn handed(&mut self, m: &Metrics, k: u64, now: Instant) {
        if k == 0 {
            return;
        }
        match self.last {
            None => {
                m.rec
                    .ttft
                    .observe_time(now.saturating_duration_since(self.arrived));
                self.first = Some(now);
            }
            Some(last) => m.rec.itl.observe_time(now.saturating_duration_since(last)),
        }
        m.rec.itl.observe_n(0, k - 1);
        self.last = Some(now);
        m.tokens_out(k);
    }

    /// The reply's last byte was handed to the body at `now`: records its e2e, queue time,
    /// lengths and TPOT, and for a whole (unstreamed) reply its TTFT (= e2e).
    pub(crate) fn finish(&self, m: &Metrics, now: Instant, prompt: u64, n: u64, streamed: bool) {
        let e2e = now.saturating_duration_since(self.arrived);
        if !streamed {
            m.rec.ttft.observe_time(e2e);
            m.tokens_out(n);
        }
        m.rec.e2e.observe_time(e2e);
        m.rec.queue.observe_time(self.queued);
        m.rec.prompt.observe(prompt);
        m.rec.generation.observe(n);
        if let (true, Some(first), Some(last)) = (streamed && n >= 2, self.first, self.last) {
            m.rec
                .tpot
                .observe(nanos(last.saturating_duration_since(first)) / (n - 1));
        }
    }
}

/// `GET /metrics` (and `/prometheus/metrics` for `trtllm`): the style's page. For `trtllm`,
/// `/metrics` is trtllm-serve's iteration-stats JSON instead.
pub(crate) fn server_page(state: &State, prometheus_path: bool) -> Response<MockBody> {
    let m = &state.metrics;
    m.scrapes.fetch_add(1, Ordering::Relaxed);
    if m.style == MetricsStyle::Trtllm && !prometheus_path {
        return json_response(StatusCode::OK, &trtllm::iteration_stats(state));
    }
    let g = Gauges::read(state);
    let text = match m.style {
        MetricsStyle::Vllm => vllm::page(m, &g),
        MetricsStyle::Sglang => sglang::page(m, &g),
        MetricsStyle::Trtllm => trtllm::page(m, &g),
        MetricsStyle::Dynamo => dynamo::page(m, &g),
    };
    prometheus_response(text)
}

/// The gauges of one scrape.
struct Gauges {
    running: u64,
    waiting: u64,
    kv_usage: f64,
}

impl Gauges {
    fn read(state: &State) -> Self {
        Self {
            running: state.load.in_flight() as u64,
            waiting: state.load.queued() as u64,
            kv_usage: state.metrics.kv_usage(),
        }
    }
}
