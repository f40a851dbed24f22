//! Endpoint types: how a turn becomes a request body, and how response bytes become content.
//!
//! Each API lives in its own module and implements [`Endpoint`]. [`parse::parse_responses`] is
//! shared: it frames SSE (or takes a plain body as one response) and hands each JSON document to
//! the endpoint. Parsing happens after a request finished, never on the per-chunk path.

pub mod chat;
pub mod completions;
pub mod embeddings;
pub mod parse;
pub mod payload;

use aiperf_core::Turn;
use serde_json::{Map, Value};

pub use parse::{parse_responses, ParsedResponse, ResponseData};
pub use payload::PayloadOptions;

/// Static facts about an endpoint type (what AIPerf keeps as plugin metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The `--endpoint-type` name.
    pub name: &'static str,
    /// Default path appended to `--url`.
    pub path: &'static str,
    pub supports_streaming: bool,
    pub produces_tokens: bool,
    pub tokenizes_input: bool,
    /// Title of the console metrics table.
    pub metrics_title: &'static str,
    /// AIPerf's `service_kind` used in default artifact directory names.
    pub service_kind: &'static str,
}

/// One API: payload rendering and response parsing.
pub trait Endpoint: Send + Sync {
    fn info(&self) -> &'static EndpointInfo;

    /// The request body for `turn` (before `--extra-inputs` and per-turn `extra` are merged).
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Map<String, Value>;

    /// The texts whose tokens make up the input sequence length.
    fn input_texts<'t>(&self, turn: &'t Turn) -> Vec<&'t str> {
        turn.texts.iter().map(String::as_str).collect()
    }

    /// Content of one JSON response document (a whole body or one SSE `data` payload).
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>);
}

/// Every endpoint type built so far, in `--help` order.
pub fn all() -> [&'static dyn Endpoint; 3] {
    [
        &chat::Chat,
        &completions::Completions,
        &embeddings::Embeddings,
    ]
}

/// The endpoint called `name`, if it exists.
pub fn lookup(name: &str) -> Option<&'static dyn Endpoint> {
    all().into_iter().find(|e| e.info().name == name)
}

/// Names of every endpoint type, for error messages.
pub fn names() -> Vec<&'static str> {
    all().iter().map(|e| e.info().name).collect()
}
