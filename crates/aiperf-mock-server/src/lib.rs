//! An OpenAI-compatible mock inference server for tests and benchmarks of aiperf itself.
//!
//! It speaks every endpoint type aiperf benchmarks: chat and completions, the Responses API,
//! Anthropic Messages, TGI generate, Solido RAG (all SSE-streaming or not, [`wire`]),
//! embeddings (OpenAI, chat-style and NIM input), NIM/TEI/Cohere rankings, image generation
//! (streamed partial images too), multipart image edits and transcriptions, NIM image
//! retrieval, and video jobs polled to completion ([`apis`]); plus `/v1/models`, `/health`, a
//! Prometheus `/metrics` page and, with `--fake-gpus N`, a DCGM-exporter page at
//! `/dcgm/metrics`. The first token
//! is sent `ttft` after the request arrived and each later one `itl` after the previous, on
//! absolute deadlines (no drift), with optional uniform jitter. Prompt tokens are counted with a
//! real tokenizer and output tokens are real tokens of a corpus, so `usage` is true.
//!
//! An optional load model ([`load`]) makes latency grow with the number of inference requests in
//! flight (`--ttft-per-inflight MS`, `--itl-per-inflight MS`) and queues requests FIFO beyond
//! `--capacity N`, so sweeps and SLO searches have answers known in advance: with closed-loop
//! concurrency c <= capacity, TTFT = ttft + ttft_per_inflight * (c - 1) and each inter-token
//! gap = itl + itl_per_inflight * (c - 1); above capacity requests also queue. All three are
//! off (0) by default.
//!
//! Monitoring pages ([`metrics`]; never recorded among the requests, never counted as load):
//!
//! * `GET /metrics`: the server-metrics page in the names, labels and histogram buckets of
//!   `--metrics-style vllm` (default, `vllm:*`), `sglang` (`sglang:*`), `trtllm` (trtllm-serve:
//!   `trtllm_*` at `GET /prometheus/metrics`, and `/metrics` answers its iteration-stats JSON
//!   array) or `dynamo` (`dynamo_frontend_*`). Token counters count each accepted generation
//!   request's prompt and output tokens when it is accepted; histograms record what the mock
//!   did (TTFT, ITL, TPOT, e2e, `--capacity` queue time, lengths); gauges show the requests in
//!   flight and queued and a KV-cache usage of `--kv-cache-tokens` (default 65536).
//! * `GET /dcgm/metrics` (`--fake-gpus N`, 1..=64; 404 without): dcgm-exporter's fields and
//!   labels for N H100s. Energy of GPU i (mJ) = `idle_W * 1000 * seconds since start` +
//!   `generated tokens * J * 1000 / N` (`--gpu-idle-watts`, default 70; `--gpu-joules-per-token`,
//!   default 0.5, to the nearest mJ; the division's remainder goes 1 mJ each to the first GPUs).
//!   So with `--gpu-idle-watts 0` the energy of each GPU grows over any window by exactly
//!   `tokens accepted in the window * J / N` joules when that divides evenly (2 GPUs, 0.5 J,
//!   1000 tokens: 250 J each), and the GPUs together by exactly `tokens * J`. Power =
//!   idle + J * (output tokens handed over in the last second) / N.
//!
//! Server-reported stats, each off by default:
//!
//! * `--num-speculative-tokens K` (with `--spec-acceptance-prob P`, `--spec-decode-detailed`):
//!   chat and completions replies carry vLLM's per-request `metrics.speculative_decoding` at
//!   the response root (whole body, or the trailing usage chunk of a stream). Each draft is
//!   accepted with probability P until a step's first rejection, drawn from `--random-seed` and
//!   the request number ([`spec_decode`]); per request `accepted + steps = completion_tokens - 1`
//!   and `drafted = K * steps`.
//! * `--video-peak-memory-mb MB`: completed video jobs report SGLang's `inference_time_s` (the
//!   job's modelled duration) and `peak_memory_mb`.
//! * `--max-model-len N`: chat, completions and Responses requests that do not fit N tokens
//!   (the prompt, or the prompt plus its requested output) get vLLM's HTTP 400 and message.
//!
//! It deliberately shares no parsing or encoding code with the aiperf client, so it stays an
//! independent oracle for the client's measurements.

mod apis;
pub mod config;
mod context;
pub mod faults;
pub mod load;
mod metrics;
pub mod multipart;
pub mod oracle;
mod server;
mod spec_decode;
mod tls;
mod tokens;
mod wire;

pub use config::{MetricsStyle, MockConfig, MAX_FAKE_GPUS};
pub use server::{serve, start, MockHandle, RecordedRequest};
