//! A program that embeds aiperf and adds its own endpoint type, implemented in Rust, without
//! changing aiperf: build the registry, register the implementation, run the usual command line.
//!
//! ```sh
//! cargo run --release -p aiperf --example custom_endpoint -- profile -m mock-model \
//!     --url http://127.0.0.1:8000 --endpoint-type reverse_completions --request-count 20
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use aiperf::Registry;
use aiperf_core::Turn;
use aiperf_endpoints::{Endpoint, PayloadOptions, ResponseData};
use serde_json::{json, Map, Value};

/// Sends the prompt's words in reverse order to an OpenAI completions server.
struct ReverseCompletions;

impl Endpoint for ReverseCompletions {
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let reversed: Vec<&str> = turn.texts[0].split_whitespace().rev().collect();
        let mut body = Map::new();
        body.insert("prompt".into(), json!(reversed.join(" ")));
        body.insert("model".into(), json!(opts.model));
        if let Some(n) = turn.max_tokens {
            body.insert("max_tokens".into(), json!(n));
        }
        Ok(body)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let Ok(v) = serde_json::from_str::<Value>(json) else {
            return (None, None);
        };
        let text = v
            .pointer("/choices/0/text")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        (
            text.map(|t| ResponseData::Text(t.to_string())),
            v.get("usage").cloned(),
        )
    }
}

fn main() -> ExitCode {
    let mut registry = match Registry::discover() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("plugin manifest rejected: {e}");
            return ExitCode::from(1);
        }
    };
    let endpoint: Arc<dyn Endpoint> = Arc::new(ReverseCompletions);
    let metadata = json!({
        "endpoint_path": "/v1/completions",
        "supports_streaming": false,
        "produces_tokens": true,
        "tokenizes_input": true,
    });
    if let Err(e) = registry.register(
        "endpoint",
        "reverse_completions",
        "custom_endpoint::ReverseCompletions",
        0,
        metadata,
        Some(Arc::new(endpoint)),
    ) {
        eprintln!("{e}");
        return ExitCode::from(1);
    }
    aiperf::run(std::env::args().collect(), registry)
}
