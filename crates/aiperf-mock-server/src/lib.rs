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
//! It deliberately shares no parsing or encoding code with the aiperf client, so it stays an
//! independent oracle for the client's measurements.

mod apis;
pub mod config;
pub mod faults;
pub mod multipart;
mod server;
mod tls;
mod tokens;
mod wire;

pub use config::MockConfig;
pub use server::{serve, start, MockHandle, RecordedRequest};
