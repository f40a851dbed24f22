//! `raw_payload`: complete request bodies replayed verbatim.
//! `{"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}`
//!
//! As AIPerf's `RawPayloadDatasetLoader`: every line is a whole body carrying a `messages`
//! array, sent as it is (no endpoint rendering, no `--extra-inputs`). A file: each line is a
//! single-turn conversation. A directory: each `*.jsonl` in it (not its subdirectories, in
//! name order) is one multi-turn conversation named after the file's stem, its lines the
//! turns in order; each line already holds the conversation so far, so no history is added.

use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde_json::{Map, Value};

use super::{for_each_line, LoadContext, LoadError, Probe};

/// Python's name for a JSON value's type, as AIPerf's messages print it.
pub(crate) fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// AIPerf's `_validate_payload_shape`: a JSON object with a `messages` array.
fn body(v: Value) -> Result<Map<String, Value>, String> {
    let Value::Object(body) = v else {
        return Err(format!(
            "raw_payload line must be a JSON object, got {}",
            python_type(&v)
        ));
    };
    match body.get("messages") {
        Some(Value::Array(_)) => Ok(body),
        other => Err(format!(
            "raw_payload line missing required 'messages' array (got {})",
            other.map_or("NoneType", python_type)
        )),
    }
}

/// AIPerf's `can_load` on one record: a chat body (a `messages` list), not an agentic
/// trajectory (`conversation_id`) nor an `inputs.json` (`data` list).
fn is_raw_payload(v: &Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    matches!(o.get("messages"), Some(Value::Array(_)))
        && !o.contains_key("conversation_id")
        && !matches!(o.get("data"), Some(Value::Array(_)))
}

/// The directory's `*.jsonl` files, in name order.
fn jsonl_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::file(dir, e.to_string()))?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    Ok(files)
}

/// Whether the first record is a raw body, or (a directory) the first `*.jsonl` with a
/// record starts with one.
pub fn can_load(probe: &Probe) -> bool {
    if !probe.is_dir {
        // SPEED-Bench rows also carry `messages`; AIPerf leaves them to speed_bench_*.
        return probe.first.as_ref().is_some_and(|f| {
            is_raw_payload(f) && crate::public::speed_bench::invalid(f).is_some()
        });
    }
    let Ok(files) = jsonl_files(&probe.path) else {
        return false;
    };
    files
        .iter()
        .map(|f| Probe::read(f))
        .find_map(|p| p.first)
        .is_some_and(|first| first.get("messages").is_some_and(Value::is_array))
}

fn turn(body: Map<String, Value>) -> Turn {
    Turn {
        texts: super::mooncake::payload_texts(&body),
        payload: Some(body),
        ..Default::default()
    }
}

fn turns(path: &Path) -> Result<Vec<Turn>, LoadError> {
    let mut out = Vec::new();
    for_each_line(path, |_, v: Value| {
        out.push(turn(body(v)?));
        Ok(())
    })?;
    Ok(out)
}

pub fn load(path: &Path, _ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    if !path.is_dir() {
        return Ok(turns(path)?
            .into_iter()
            .enumerate()
            .map(|(i, t)| Conversation::single(format!("session_{i:06}"), t))
            .collect());
    }
    let mut out = Vec::new();
    for file in jsonl_files(path)? {
        let turns = turns(&file)?;
        if turns.is_empty() {
            continue;
        }
        let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
        out.push(Conversation {
            session_id: stem.unwrap_or_default(),
            turns,
            // Every line is a whole body with its own history.
            independent_turns: true,
            ..Default::default()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;
    use serde_json::json;

    #[test]
    fn a_file_is_one_conversation_per_line_sent_verbatim() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        let text = "{\"model\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"min_tokens\": 3}\n\n{\"messages\": []}\n";
        let convs = with_file("r.jsonl", text, |p| load(p, &ctx)).unwrap();
        assert_eq!(convs.len(), 2);
        assert_eq!(convs[0].session_id, "session_000000");
        let p = convs[0].turns[0].payload.as_ref().unwrap();
        assert_eq!(
            Value::Object(p.clone()),
            json!({"model": "x", "messages": [{"role": "user", "content": "hi"}], "min_tokens": 3})
        );
        assert_eq!(convs[0].turns[0].texts, ["hi"]);
        assert!(convs[1].turns[0].payload.is_some());
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        let ok = "{\"messages\": []}";
        let cases = [
            (
                "[1]",
                "r.jsonl:2: raw_payload line must be a JSON object, got list",
            ),
            (
                "\"s\"",
                "r.jsonl:2: raw_payload line must be a JSON object, got str",
            ),
            (
                "{\"model\": \"x\"}",
                "r.jsonl:2: raw_payload line missing required 'messages' array (got NoneType)",
            ),
            (
                "{\"messages\": \"hi\"}",
                "r.jsonl:2: raw_payload line missing required 'messages' array (got str)",
            ),
            (
                "{\"messages\": {}}",
                "r.jsonl:2: raw_payload line missing required 'messages' array (got dict)",
            ),
        ];
        for (line, want) in cases {
            let e =
                with_file("r.jsonl", &format!("{ok}\n{line}\n"), |p| load(p, &ctx)).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        let e = with_file("r.jsonl", "{\"messages\": [}\n", |p| load(p, &ctx)).unwrap_err();
        assert!(e.to_string().starts_with("r.jsonl:1: "), "{e}");
    }

    #[test]
    fn a_directory_is_one_conversation_per_file_named_by_stem() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        let dir = tempfile::tempdir().unwrap();
        let line =
            |s: &str| format!("{{\"messages\": [{{\"role\": \"user\", \"content\": \"{s}\"}}]}}\n");
        std::fs::write(dir.path().join("b.jsonl"), line("b1") + &line("b2")).unwrap();
        std::fs::write(dir.path().join("a.jsonl"), line("a1")).unwrap();
        std::fs::write(dir.path().join("empty.jsonl"), "\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c.jsonl"), line("c")).unwrap();
        let convs = load(dir.path(), &ctx).unwrap();
        let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(convs[1].turns.len(), 2);
        assert_eq!(convs[1].turns[1].texts, ["b2"]);
        assert!(convs[1].independent_turns);
        assert!(can_load(&Probe::read(dir.path())));
        std::fs::write(dir.path().join("a.jsonl"), "{\"text\": \"x\"}\n").unwrap();
        assert!(!can_load(&Probe::read(dir.path())));
        // A bad line in a directory names its file.
        std::fs::write(dir.path().join("a.jsonl"), "{\"text\": \"x\"}\n").unwrap();
        let e = load(dir.path(), &ctx).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "a.jsonl:1: raw_payload line missing required 'messages' array (got NoneType)"
            ),
            "{e}"
        );
    }

    #[test]
    fn can_load_refuses_trajectories_and_inputs_json() {
        assert!(is_raw_payload(&json!({"messages": [], "model": "m"})));
        assert!(!is_raw_payload(
            &json!({"messages": [], "conversation_id": "c"})
        ));
        assert!(!is_raw_payload(&json!({"messages": [], "data": []})));
        assert!(!is_raw_payload(&json!({"messages": "x"})));
        assert!(!is_raw_payload(&json!([1])));
    }
}
