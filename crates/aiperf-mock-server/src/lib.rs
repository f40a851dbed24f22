//! An OpenAI-compatible mock inference server for tests and benchmarks of aiperf itself.
//!
//! It speaks every endpoint type aiperf benchmarks: chat and completions, the Responses API,
//! Anthropic Messages, TGI generate, Solido RAG (all SSE-streaming or not, [`wire`]),
//! embeddings (OpenAI, chat-style and NIM input), NIM/TEI/Cohere rankings, image generation
//! (streamed partial images too), multipart image edits and transcriptions, NIM image
//! retrieval, and video jobs polled to completion ([`apis`]); plus `/v1/models`, `/health` and a
//! Prometheus `/metrics` page. The first token
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
//! It deliberately shares no parsing or encoding code with the aiperf client, so it stays an
//! independent oracle for the client's measurements.

mod apis;
pub mod config;
pub mod faults;
pub mod load;
pub mod multipart;
mod server;
mod tls;
mod tokens;
mod wire;

pub use config::MockConfig;
pub use server::{serve, start, MockHandle, RecordedRequest};
