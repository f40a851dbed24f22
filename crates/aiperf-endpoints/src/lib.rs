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
pub mod template;

use std::sync::Arc;

use aiperf_core::Turn;
pub use aiperf_plugins::EndpointMetadata;
use serde_json::{Map, Value};

pub use parse::{parse_responses, ParsedResponse, ResponseData};
pub use payload::PayloadOptions;

/// One API: payload rendering and response parsing.
pub trait Endpoint: Send + Sync {
    /// The request body for `turn` (before `--extra-inputs` and per-turn `extra` are merged).
    /// Fails only for user-supplied templates that do not render a JSON object.
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String>;

    /// The texts whose tokens make up the input sequence length.
    fn input_texts<'t>(&self, turn: &'t Turn) -> Vec<&'t str> {
        turn.texts.iter().map(String::as_str).collect()
    }

    /// Content of one JSON response document (a whole body or one SSE `data` payload).
    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>);

    /// Message-based APIs (chat): the body's message list. Conversations use it to put the
    /// system and user-context messages before the first turn and to carry earlier turns, with
    /// the server's replies, into later ones. APIs without one send every turn on its own.
    fn messages_mut<'b>(&self, _body: &'b mut Map<String, Value>) -> Option<&'b mut Vec<Value>> {
        None
    }

    /// `--extra-inputs` keys the endpoint consumes itself (never merged into the body).
    fn consumed_extra_inputs(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Every endpoint implementation built into this crate (the registry's `implementation` values).
pub const IMPLEMENTATIONS: [&str; 4] = [
    "aiperf_endpoints::chat::Chat",
    "aiperf_endpoints::completions::Completions",
    "aiperf_endpoints::embeddings::Embeddings",
    "aiperf_endpoints::template::Template",
];

/// Builds the endpoint a registry entry names. `extra_inputs` feeds the template endpoint's
/// `payload_template` / `response_field` when its metadata has no `template`.
pub fn build(
    implementation: &str,
    metadata: &EndpointMetadata,
    extra_inputs: &Map<String, Value>,
) -> Result<Arc<dyn Endpoint>, String> {
    Ok(match implementation {
        "aiperf_endpoints::chat::Chat" => Arc::new(chat::Chat),
        "aiperf_endpoints::completions::Completions" => Arc::new(completions::Completions),
        "aiperf_endpoints::embeddings::Embeddings" => Arc::new(embeddings::Embeddings),
        "aiperf_endpoints::template::Template" => {
            Arc::new(template::Template::from_config(metadata, extra_inputs)?)
        }
        other => {
            return Err(format!(
                "implementation '{other}' is not built into aiperf_endpoints"
            ))
        }
    })
}
