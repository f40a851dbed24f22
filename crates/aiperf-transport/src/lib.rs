//! Transport: moves bytes over HTTP and frames server-sent events. It knows HTTP, not OpenAI.
//!
//! - [`client::HttpClient`] sends one request on a pooled keep-alive HTTP/1.1 or HTTP/2
//!   connection (plain or TLS; pooled, fresh or sticky per `--connection-reuse-strategy`) and
//!   returns a [`client::Exchange`]: status, timestamps and every body chunk stamped on arrival.
//!   The per-chunk path does nothing but take a monotonic timestamp and keep the `Bytes`.
//! - [`sse`] splits a recorded body into SSE messages with AIPerf's framing rules, after the
//!   request has finished.

pub mod client;
pub mod sse;
mod tls;
pub mod url;

pub use client::{
    AbortSignal, Cancel, ClientOptions, ConnChoice, Connection, Exchange, FrameWatch, HttpClient,
    RequestSpec, TransportError,
};
pub use url::{redact_url_text, BaseUrl, UrlError, REDACTED};
