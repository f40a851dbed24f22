//! `inputs.json`: the exact request body of every dataset turn, per session (AIPerf §5.8).
//!
//! Streamed session by session (a million-entry dataset never becomes one JSON tree in memory),
//! to a temporary file renamed into place when complete.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::{io_err, ExportError};

/// One session's payloads: `(session_id, bodies of its turns)`.
pub type SessionPayloads<'a> = (&'a str, Vec<&'a [u8]>);

/// Writes `{"data": [{"session_id", "payloads": [...]}]}`, pretty-printed with two-space
/// indentation.
pub fn write(path: &Path, sessions: &[SessionPayloads<'_>]) -> Result<(), ExportError> {
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut write_all = || -> std::io::Result<()> {
        out.write_all(b"{\n  \"data\": [")?;
        for (i, (id, bodies)) in sessions.iter().enumerate() {
            let payloads: Vec<Value> = bodies
                .iter()
                .map(|b| serde_json::from_slice(b).unwrap_or(Value::Null))
                .collect();
            let session = json!({"session_id": id, "payloads": payloads});
            let text = serde_json::to_string_pretty(&session).unwrap_or_default();
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            for (k, line) in text.lines().enumerate() {
                if k > 0 {
                    out.write_all(b"\n")?;
                }
                out.write_all(b"    ")?;
                out.write_all(line.as_bytes())?;
            }
        }
        out.write_all(if sessions.is_empty() {
            b"]\n}\n"
        } else {
            b"\n  ]\n}\n"
        })?;
        out.flush()
    };
    write_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_output_equals_the_pretty_printed_tree() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inputs.json");
        let a = br#"{"messages":[{"role":"user","content":"hi\nthere"}],"model":"m"}"#;
        let b = br#"{"prompt":"x","n":[1,2]}"#;
        let sessions = vec![("s0", vec![&a[..], &b[..]]), ("s1", vec![&b[..]])];
        write(&p, &sessions).unwrap();
        let got = std::fs::read_to_string(&p).unwrap();
        let tree = json!({"data": [
            {"session_id": "s0", "payloads": [serde_json::from_slice::<Value>(a).unwrap(), serde_json::from_slice::<Value>(b).unwrap()]},
            {"session_id": "s1", "payloads": [serde_json::from_slice::<Value>(b).unwrap()]}
        ]});
        assert_eq!(got, serde_json::to_string_pretty(&tree).unwrap() + "\n");
        write(&p, &[]).unwrap();
        let empty = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&empty).unwrap(),
            json!({"data": []})
        );
    }
}
