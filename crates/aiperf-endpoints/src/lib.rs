//! Endpoint types: how a turn becomes a request body, and how response bytes become content.
//!
//! Each API lives in its own module and implements [`Endpoint`]. [`parse::parse_responses`] is
//! shared: it frames SSE (or takes a plain body as one response) and hands each JSON document to
//! the endpoint. Parsing happens after a request finished, never on the per-chunk path.

pub mod anthropic;
pub mod audio;
pub mod chat;
pub mod completions;
pub mod embeddings;
pub mod huggingface;
pub mod images;
pub mod media;
pub mod multipart;
pub mod parse;
pub mod payload;
pub mod rankings;
pub mod raw;
pub mod responses;
pub mod solido;
pub mod template;
pub mod video;

use std::sync::Arc;

use aiperf_core::Turn;
pub use aiperf_plugins::EndpointMetadata;
use serde_json::{Map, Value};

pub use parse::{output_texts, parse_responses, Parsed, ParsedResponse, ResponseData};
pub use payload::{BodyOptions, PayloadOptions};

/// One API: payload rendering and response parsing.
pub trait Endpoint: Send + Sync {
    /// The request body for `turn` (before `--extra-inputs` and per-turn `extra` are merged).
    /// Fails for user-supplied templates that do not render a JSON object and for turns the API
    /// cannot take (a rankings turn without passages), before anything is sent.
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

    /// Puts a conversation's opening messages (system prompt, user context) into its first
    /// body. The default prepends them to the message list; APIs with a dedicated field
    /// (Anthropic `system`, Responses `instructions`) override it. `false`: no place for them.
    fn insert_preamble(
        &self,
        body: &mut Map<String, Value>,
        system: Option<&str>,
        user_context: Option<&str>,
    ) -> bool {
        let Some(messages) = self.messages_mut(body) else {
            return false;
        };
        let mut pre = Vec::new();
        if let Some(s) = system {
            pre.push(serde_json::json!({"role": "system", "content": s}));
        }
        if let Some(u) = user_context {
            pre.push(serde_json::json!({"role": "user", "content": u}));
        }
        messages.splice(0..0, pre);
        true
    }

    /// One SSE event of a stream; `content_seen` says an earlier event of the same response
    /// carried content (the Responses API repeats the whole text in a final `done` event).
    fn parse_event(&self, json: &str, content_seen: bool) -> (Option<ResponseData>, Option<Value>) {
        let _ = content_seen;
        self.parse_json(json)
    }

    /// `--extra-inputs` keys the endpoint consumes itself (never merged into the body).
    fn consumed_extra_inputs(&self) -> &'static [&'static str] {
        &[]
    }

    /// `--extra-inputs` already placed by [`Endpoint::payload`] (TGI puts them inside
    /// `parameters`), so they are not merged at the top level.
    fn extra_inputs_inside(&self) -> bool {
        false
    }

    /// How the body map goes on the wire.
    fn encoding(&self) -> BodyEncoding {
        BodyEncoding::Json
    }

    /// Credential headers for `--api-key` (OpenAI-style Bearer token by default).
    fn auth_headers(&self, api_key: &str) -> Vec<(&'static str, String)> {
        vec![("authorization", format!("Bearer {api_key}"))]
    }

    /// Stateful APIs (the Responses API): the body field that names the previous response, so
    /// later turns send only their own input and the server keeps the conversation.
    fn chain_field(&self) -> Option<&'static str> {
        None
    }

    /// The response's id in one JSON document (a whole body or one stream event), for
    /// [`Endpoint::chain_field`].
    fn response_id(&self, json: &str) -> Option<String> {
        let _ = json;
        None
    }

    /// APIs that answer a submission with a job to poll (video generation).
    fn job(&self) -> Option<&dyn AsyncJob> {
        None
    }

    /// Rankings APIs: each request is one query and its passages, so synthetic data is made
    /// of those (`--rankings-*`) instead of plain prompts.
    fn ranks_passages(&self) -> bool {
        false
    }
}

/// [`Endpoint::insert_preamble`] for APIs whose system prompt is a body field (Anthropic
/// `system`, Responses `instructions`): sets `field`, and puts `context` (the user-context
/// message in the API's own shape) first in the message list.
pub(crate) fn preamble_in_field(
    endpoint: &dyn Endpoint,
    body: &mut Map<String, Value>,
    field: &str,
    system: Option<&str>,
    context: Option<Value>,
) -> bool {
    if let Some(s) = system {
        body.insert(field.to_string(), Value::String(s.to_string()));
    }
    if let (Some(c), Some(messages)) = (context, endpoint.messages_mut(body)) {
        messages.insert(0, c);
    }
    true
}

/// The wire form of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    Json,
    /// `multipart/form-data` (see [`multipart::encode`]).
    Multipart,
}

/// Where an asynchronous job stands, from one status document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    Done,
    Failed(String),
}

/// An API whose submission returns a job that is polled until it finishes.
pub trait AsyncJob: Send + Sync {
    /// The job id and state in a submission or status response (`None`: not a job document).
    fn status(&self, json: &str) -> Option<(String, JobState)>;
    /// Path polled for the job's status, from the submission path.
    fn status_path(&self, submit_path: &str, id: &str) -> String {
        format!("{}/{id}", submit_path.trim_end_matches('/'))
    }
    /// Path of the finished job's content (`--download-video-content`).
    fn content_path(&self, submit_path: &str, id: &str) -> String {
        format!("{}/{id}/content", submit_path.trim_end_matches('/'))
    }
}

/// Builds one endpoint from its registry metadata and `--extra-inputs`.
pub type Constructor =
    fn(&EndpointMetadata, &Map<String, Value>) -> Result<Arc<dyn Endpoint>, String>;

/// Every endpoint built into this crate: its registry `implementation` (the path of the type that
/// implements it; `plugins.yaml` names it, a test checks the type exists) and its constructor.
/// The one place a built-in endpoint is listed in code.
pub const BUILTINS: [(&str, Constructor); 19] = [
    ("aiperf_endpoints::chat::Chat", |_, _| {
        Ok(Arc::new(chat::Chat))
    }),
    ("aiperf_endpoints::completions::Completions", |_, _| {
        Ok(Arc::new(completions::Completions))
    }),
    ("aiperf_endpoints::responses::Responses", |_, _| {
        Ok(Arc::new(responses::Responses))
    }),
    ("aiperf_endpoints::anthropic::Messages", |_, _| {
        Ok(Arc::new(anthropic::Messages))
    }),
    ("aiperf_endpoints::embeddings::Embeddings", |_, _| {
        Ok(Arc::new(embeddings::Embeddings))
    }),
    ("aiperf_endpoints::embeddings::ChatEmbeddings", |_, _| {
        Ok(Arc::new(embeddings::ChatEmbeddings))
    }),
    ("aiperf_endpoints::embeddings::NimEmbeddings", |_, _| {
        Ok(Arc::new(embeddings::NimEmbeddings))
    }),
    ("aiperf_endpoints::rankings::NimRankings", |_, _| {
        Ok(Arc::new(rankings::NimRankings))
    }),
    ("aiperf_endpoints::rankings::HfTeiRankings", |_, _| {
        Ok(Arc::new(rankings::HfTeiRankings))
    }),
    ("aiperf_endpoints::rankings::CohereRankings", |_, _| {
        Ok(Arc::new(rankings::CohereRankings))
    }),
    ("aiperf_endpoints::huggingface::Generate", |_, _| {
        Ok(Arc::new(huggingface::Generate))
    }),
    ("aiperf_endpoints::images::ImageGeneration", |_, _| {
        Ok(Arc::new(images::ImageGeneration))
    }),
    ("aiperf_endpoints::images::ImageEdit", |_, _| {
        Ok(Arc::new(images::ImageEdit))
    }),
    ("aiperf_endpoints::images::ImageRetrieval", |_, _| {
        Ok(Arc::new(images::ImageRetrieval))
    }),
    ("aiperf_endpoints::video::VideoGeneration", |_, _| {
        Ok(Arc::new(video::VideoGeneration))
    }),
    ("aiperf_endpoints::audio::Transcription", |_, _| {
        Ok(Arc::new(audio::Transcription))
    }),
    ("aiperf_endpoints::solido::SolidoRag", |_, _| {
        Ok(Arc::new(solido::SolidoRag))
    }),
    ("aiperf_endpoints::raw::Raw", |_, extra| {
        Ok(Arc::new(raw::Raw::from_config(extra)?))
    }),
    ("aiperf_endpoints::template::Template", |meta, extra| {
        Ok(Arc::new(template::Template::from_config(meta, extra)?))
    }),
];

/// Builds the endpoint a registry entry names. `extra_inputs` feeds the template endpoint's
/// `payload_template` / `response_field` when its metadata has no `template`.
pub fn build(
    implementation: &str,
    metadata: &EndpointMetadata,
    extra_inputs: &Map<String, Value>,
) -> Result<Arc<dyn Endpoint>, String> {
    let (_, construct) = BUILTINS
        .iter()
        .find(|(i, _)| *i == implementation)
        .ok_or_else(|| {
            format!("implementation '{implementation}' is not built into aiperf_endpoints")
        })?;
    construct(metadata, extra_inputs)
}
