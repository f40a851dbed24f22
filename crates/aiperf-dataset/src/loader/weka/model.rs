//! The Weka (kv-cache-tester) trace schema, as AIPerf 0.13's `WekaTrace` validates it: unknown
//! fields are errors, `in`/`out` may also be spelled `input_length`/`output_length`.

use std::num::NonZeroU64;

use serde::Deserialize;
use serde_json::{Map, Value};

/// One trace file: a root agent's requests, with subagent markers among them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    pub id: String,
    #[allow(dead_code)]
    pub models: Vec<String>,
    /// Tokens per `hash_ids` block (> 0).
    pub block_size: NonZeroU64,
    /// Only `"local"`: hash ids are scoped to their file (AIPerf rejects `"global"` too).
    #[allow(dead_code)]
    pub hash_id_scope: Scope,
    #[serde(default)]
    pub tool_tokens: i64,
    #[serde(default)]
    pub system_tokens: i64,
    pub requests: Vec<Entry>,
    #[serde(default)]
    #[allow(dead_code)]
    pub totals: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub enum Scope {
    #[serde(rename = "local")]
    Local,
}

/// An entry of `requests`: an API call (`"n"` normal, `"s"` streaming) or a subagent marker.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type")]
pub enum Entry {
    #[serde(rename = "n")]
    Normal(Request),
    #[serde(rename = "s")]
    Streaming(StreamingRequest),
    #[serde(rename = "subagent")]
    Subagent(Subagent),
}

/// One recorded API call. Times are seconds from the conversation start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub t: f64,
    pub model: String,
    #[serde(rename = "in", alias = "input_length")]
    pub input_length: u64,
    #[serde(rename = "out", alias = "output_length")]
    pub output_length: u64,
    #[serde(default)]
    pub hash_ids: Vec<i64>,
    #[serde(default)]
    #[allow(dead_code)]
    pub input_types: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub output_types: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub stop: String,
    /// Server time (s): the recorded gap to the next request minus this is idle time.
    #[serde(default)]
    pub api_time: Option<f64>,
    /// Client delay (s) before this request (`--use-think-time-only`).
    #[serde(default)]
    pub think_time: Option<f64>,
}

/// A streaming call: a normal one plus the recorded time to first token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamingRequest {
    pub t: f64,
    pub model: String,
    #[serde(rename = "in", alias = "input_length")]
    pub input_length: u64,
    #[serde(rename = "out", alias = "output_length")]
    pub output_length: u64,
    #[serde(default)]
    pub hash_ids: Vec<i64>,
    #[serde(default)]
    pub input_types: Vec<String>,
    #[serde(default)]
    pub output_types: Vec<String>,
    #[serde(default)]
    pub stop: String,
    #[serde(default)]
    pub api_time: Option<f64>,
    #[serde(default)]
    pub think_time: Option<f64>,
    #[serde(default)]
    #[allow(dead_code)]
    pub ttft: Option<f64>,
}

impl From<StreamingRequest> for Request {
    fn from(s: StreamingRequest) -> Self {
        Request {
            t: s.t,
            model: s.model,
            input_length: s.input_length,
            output_length: s.output_length,
            hash_ids: s.hash_ids,
            input_types: s.input_types,
            output_types: s.output_types,
            stop: s.stop,
            api_time: s.api_time,
            think_time: s.think_time,
        }
    }
}

/// A call inside a subagent: normal or streaming.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type")]
pub enum Inner {
    #[serde(rename = "n")]
    Normal(Request),
    #[serde(rename = "s")]
    Streaming(StreamingRequest),
}

impl Inner {
    pub fn into_request(self) -> Request {
        match self {
            Inner::Normal(r) => r,
            Inner::Streaming(s) => s.into(),
        }
    }
}

/// A subagent the parent started at `t`; the parent's next request follows its end.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subagent {
    pub t: f64,
    pub agent_id: String,
    #[allow(dead_code)]
    pub subagent_type: String,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    #[serde(default)]
    #[allow(dead_code)]
    pub total_tokens: Option<i64>,
    #[serde(default)]
    #[allow(dead_code)]
    pub tool_use_count: Option<i64>,
    #[allow(dead_code)]
    pub status: String,
    pub requests: Vec<Inner>,
    #[allow(dead_code)]
    pub models: Vec<String>,
    #[serde(default)]
    pub tool_tokens: i64,
    #[serde(default)]
    pub system_tokens: i64,
}
