//! `inputs.json`: the exact request body of every dataset turn, per session (AIPerf §5.8).

use std::path::Path;

use serde_json::{json, Value};

use crate::{write_atomic, ExportError};

/// One session's payloads: `(session_id, bodies of its turns)`.
pub type SessionPayloads<'a> = (&'a str, Vec<&'a [u8]>);

/// Writes `{"data": [{"session_id", "payloads": [...]}]}`.
pub fn write(path: &Path, sessions: &[SessionPayloads<'_>]) -> Result<(), ExportError> {
    let data: Vec<Value> = sessions
        .iter()
        .map(|(id, bodies)| {
            let payloads: Vec<Value> = bodies
                .iter()
                .map(|b| serde_json::from_slice(b).unwrap_or(Value::Null))
                .collect();
            json!({"session_id": id, "payloads": payloads})
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&json!({ "data": data })).unwrap_or_default();
    s.push('\n');
    write_atomic(path, &s)
}
