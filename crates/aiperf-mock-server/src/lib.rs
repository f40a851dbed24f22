//! An OpenAI-compatible mock inference server for tests and benchmarks of aiperf itself.
//!
//! It answers `/v1/chat/completions` and `/v1/completions` (SSE streaming or not),
//! `/v1/embeddings`, `/v1/models`, `/health` and a Prometheus `/metrics` page. The first token
//! is sent `ttft` after the request arrived and each later one `itl` after the previous, on
//! absolute deadlines (no drift), with optional uniform jitter. Prompt tokens are counted with a
//! real tokenizer and output tokens are real tokens of a corpus, so `usage` is true.
//!
//! It deliberately shares no parsing or encoding code with the aiperf client, so it stays an
//! independent oracle for the client's measurements.

pub mod config;
pub mod faults;
mod server;
mod tokens;

pub use config::MockConfig;
pub use server::{serve, start, MockHandle, RecordedRequest};
