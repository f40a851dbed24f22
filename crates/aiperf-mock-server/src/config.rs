//! Mock server settings (command line and in-process).

use clap::Parser;

/// `aiperf-mock-server` options.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "aiperf-mock-server",
    version,
    about = "OpenAI-compatible mock inference server"
)]
pub struct MockConfig {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, short = 'p', default_value_t = 8000)]
    pub port: u16,
    /// Time to first token in milliseconds.
    #[arg(long, short = 't', default_value_t = 20.0)]
    pub ttft: f64,
    /// Inter-token latency in milliseconds.
    #[arg(long, default_value_t = 5.0)]
    pub itl: f64,
    /// Uniform jitter added to each TTFT, +/- this many milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub ttft_jitter: f64,
    /// Uniform jitter added to each inter-token gap, +/- this many milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub itl_jitter: f64,
    /// Load model: milliseconds added to each request's TTFT per other inference request in
    /// flight (the most seen from its admission to its first token). With concurrency
    /// c <= capacity, TTFT = ttft + this * (c - 1).
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub ttft_per_inflight: f64,
    /// Prefill model: milliseconds added to each streamed or whole reply's TTFT per prompt token
    /// (as the mock counts them), so TTFT = ttft + this * prompt tokens (+ the load terms).
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub ttft_per_input_token: f64,
    /// Load model: milliseconds added to each inter-token gap per other inference request in
    /// flight (the most seen during that gap). With concurrency c <= capacity,
    /// ITL = itl + this * (c - 1).
    #[arg(long, value_name = "MS", default_value_t = 0.0)]
    pub itl_per_inflight: f64,
    /// Load model: serve at most N inference requests at once; later ones wait in FIFO order,
    /// and their TTFT includes the wait (0 = unlimited).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub capacity: usize,
    /// Zero all latencies (same as --ttft 0 --itl 0).
    #[arg(long, short = 'f')]
    pub fast: bool,
    /// Output tokens when a request sets no max_tokens / max_completion_tokens.
    #[arg(long, default_value_t = 64)]
    pub default_output_tokens: u32,
    /// Largest output length a request may ask for; beyond it the answer is HTTP 400 with an
    /// OpenAI-style error. Replies are generated token by token as they are sent, so memory
    /// does not grow with the length.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_output_tokens: u64,
    /// The first N output tokens of chat, Responses and Messages replies are reasoning
    /// (`reasoning_content`, `reasoning_text` or `thinking`), at least one token stays content.
    #[arg(long, default_value_t = 0)]
    pub reasoning_tokens: u32,
    /// Accuracy tests: a JSON Lines file of `{"key", "reply"}`; a request whose last message
    /// (or prompt) is a key, or ends with one, gets that reply in full instead of generated
    /// text.
    #[arg(long, value_name = "FILE")]
    pub oracle_answers: Option<std::path::PathBuf>,
    /// Percentage (0-100) of requests answered with HTTP 500.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Tokenizer for prompt counts and output tokens: `builtin` (o200k_base), a tokenizer.json
    /// path, or `none` (a token per 4 characters of prompt, rounded up; whitespace-separated
    /// corpus words as output; cheapest).
    #[arg(long, default_value = "builtin")]
    pub tokenizer: String,
    /// Seed for jitter and error injection.
    #[arg(long, default_value_t = 0)]
    pub random_seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'w')]
    pub workers: Option<usize>,
    /// Inject a fault: KIND[:PARAM][@EVERY] (e.g. `http:503@4`, `reset_mid_stream@10`,
    /// `stall:30`); repeatable. The `x-mock-fault: KIND[:PARAM]` header picks one per request.
    #[arg(long = "fault", value_name = "KIND[:PARAM][@EVERY]")]
    pub faults: Vec<String>,
    /// Stop serving after this many generation requests: later ones are reset and no new
    /// connection is accepted (a server dying mid-run).
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Answer /v1/models with 503 for this long after start (a model still loading).
    #[arg(long, default_value_t = 0.0)]
    pub models_ready_delay_seconds: f64,
    /// Answer inference requests with 503 for this long after start.
    #[arg(long, default_value_t = 0.0)]
    pub inference_ready_delay_seconds: f64,
    /// Write one JSON line per generation response to FILE: `x_request_id`, `arrived_ns` and
    /// `chunks_ns` (wall-clock epoch ns of each body frame handed to the socket), the server-side
    /// truth for measuring the client's TTFT and ITL error (`scripts/bench_timing_error.py`).
    #[arg(long, value_name = "FILE")]
    pub record_timestamps: Option<std::path::PathBuf>,
    /// Serve HTTPS with this PEM certificate (chain) file; needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Whose metric names, labels and histogram buckets `/metrics` speaks: `vllm`, `sglang`,
    /// `trtllm` (Prometheus at `/prometheus/metrics`, iteration-stats JSON at `/metrics`, as
    /// trtllm-serve does) or `dynamo` (the Dynamo frontend's `dynamo_frontend_*`).
    #[arg(long, value_enum, default_value_t = MetricsStyle::Vllm)]
    pub metrics_style: MetricsStyle,
    /// Modelled KV-cache size in tokens: KV usage = tokens held by the requests in flight (their
    /// prompts and the tokens streamed so far) / this, at most 1.
    #[arg(long, value_name = "TOKENS", default_value_t = 65_536)]
    pub kv_cache_tokens: u64,
    /// Serve a DCGM-exporter page for N fake GPUs at `GET /dcgm/metrics` (0 = no page, at most
    /// 64). Their power and energy follow the tokens the mock generates.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_FAKE_GPUS)))]
    pub fake_gpus: u32,
    /// Fake GPUs: power each one draws when idle, in watts (energy grows by this every second).
    #[arg(long, value_name = "W", default_value_t = 70.0)]
    pub gpu_idle_watts: f64,
    /// Fake GPUs: energy per generated token, in joules (to the nearest millijoule), split
    /// evenly across the GPUs.
    #[arg(long, value_name = "J", default_value_t = 0.5)]
    pub gpu_joules_per_token: f64,
    /// Speculative decoding: draft tokens proposed per verify step (vLLM's
    /// `num_speculative_tokens`, k); 0 = off. Chat and completions replies then carry vLLM's
    /// per-request `metrics.speculative_decoding` object at the response root: on the body, or
    /// on the trailing usage chunk of a stream that asks for usage. The first output token comes
    /// from the prefill; each verify step emits its accepted drafts plus one bonus token (the
    /// last step accepts no more than the reply has left), so per request
    /// `accepted + steps = completion_tokens - 1` and `drafted = k * steps`.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub num_speculative_tokens: u32,
    /// Speculative decoding: probability that a draft token is accepted when every earlier
    /// draft of its step was (a step stops at its first rejection). Drawn per draft from
    /// --random-seed and the request's number, so runs repeat exactly; 1 accepts all k drafts
    /// of every step, 0 none.
    #[arg(long, value_name = "P", default_value_t = 0.7, value_parser = probability)]
    pub spec_acceptance_prob: f64,
    /// Speculative decoding: also send the ordered `per_step_accepted` and `per_step_drafted`
    /// arrays (vLLM's `detailed` level; `summary` without).
    #[arg(long)]
    pub spec_decode_detailed: bool,
    /// Video jobs: completed jobs report SGLang's `inference_time_s` (the job's modelled
    /// duration, (ttft + itl * default_output_tokens) / 1000) and this `peak_memory_mb`, at the
    /// root of the job document. Without it they report neither (as OpenAI does).
    #[arg(long, value_name = "MB")]
    pub video_peak_memory_mb: Option<f64>,
    /// Context window in tokens (vLLM's `--max-model-len`), in the mock's own token count: a
    /// chat, completions or Responses request whose prompt is longer, or whose prompt plus
    /// requested output is, gets vLLM's HTTP 400 `BadRequestError` with its exact message.
    #[arg(long, value_name = "TOKENS")]
    pub max_model_len: Option<u64>,
    /// Keep every request (path, headers, body) in memory for tests to inspect.
    #[arg(skip)]
    pub record_requests: bool,
}

/// A probability in [0, 1] (`--spec-acceptance-prob`).
fn probability(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| format!("'{s}' is not a probability in [0, 1]"))
}

/// The most fake GPUs `--fake-gpus` accepts.
pub const MAX_FAKE_GPUS: u32 = 64;

/// Which inference server's metric names the mock's metrics page imitates (`--metrics-style`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetricsStyle {
    /// vLLM: `vllm:*` with `model_name` and `engine` labels.
    Vllm,
    /// SGLang: `sglang:*` with a `model_name` label.
    Sglang,
    /// trtllm-serve: `trtllm_*` at `/prometheus/metrics`, iteration-stats JSON at `/metrics`.
    Trtllm,
    /// The Dynamo frontend: `dynamo_frontend_*` with a `model` label.
    Dynamo,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig::parse_from(["aiperf-mock-server"])
    }
}

impl MockConfig {
    /// A config for tests: port 0, given TTFT/ITL in ms.
    pub fn for_tests(ttft_ms: f64, itl_ms: f64) -> Self {
        MockConfig {
            port: 0,
            ttft: ttft_ms,
            itl: itl_ms,
            record_requests: true,
            ..Default::default()
        }
    }

    /// The self-signed `localhost` certificate and key shipped for tests (never trust them
    /// anywhere else: the key is public).
    pub fn test_tls_files() -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tls");
        (dir.join("localhost.crt"), dir.join("localhost.key"))
    }

    /// Like [`MockConfig::for_tests`], serving HTTPS with the test certificate.
    pub fn for_tests_tls(ttft_ms: f64, itl_ms: f64) -> Self {
        let (cert, key) = Self::test_tls_files();
        MockConfig {
            tls_cert: Some(cert),
            tls_key: Some(key),
            ..Self::for_tests(ttft_ms, itl_ms)
        }
    }

    pub fn ttft_ms(&self) -> f64 {
        if self.fast {
            0.0
        } else {
            self.ttft.max(0.0)
        }
    }

    pub fn itl_ms(&self) -> f64 {
        if self.fast {
            0.0
        } else {
            self.itl.max(0.0)
        }
    }

    /// `--ttft-per-inflight` in ms (0 with `--fast`). The load model as a whole is described in
    /// the crate documentation: with concurrency c <= capacity, TTFT = ttft + this * (c - 1).
    /// `--ttft-per-input-token`, zero with `--fast`.
    pub fn ttft_per_input_token_ms(&self) -> f64 {
        if self.fast {
            0.0
        } else {
            self.ttft_per_input_token.max(0.0)
        }
    }

    pub fn ttft_per_inflight_ms(&self) -> f64 {
        if self.fast {
            0.0
        } else {
            self.ttft_per_inflight.max(0.0)
        }
    }

    /// `--itl-per-inflight` in ms (0 with `--fast`): with concurrency c <= capacity, each
    /// inter-token gap is itl + this * (c - 1).
    pub fn itl_per_inflight_ms(&self) -> f64 {
        if self.fast {
            0.0
        } else {
            self.itl_per_inflight.max(0.0)
        }
    }

    /// `--capacity`: the most inference requests served at once, `None` when unlimited (0).
    pub fn capacity(&self) -> Option<usize> {
        (self.capacity > 0).then_some(self.capacity)
    }
}
