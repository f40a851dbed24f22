//! `inputs_json`: a run's own `inputs.json` replayed verbatim.
//! `{"data": [{"session_id": "s0", "payloads": [{...}, {...}]}, ...]}`
//!
//! Every entry is one conversation (one per `session_id`, in file order); each of its
//! `payloads` is one turn, sent as it is (no endpoint rendering, no `--extra-inputs`, no
//! history), so replaying a run's `inputs.json` sends the bodies it lists, byte for byte.

use std::path::Path;

use aiperf_core::{Conversation, Turn};
use serde_json::{Map, Value};

use super::{LoadContext, LoadError, Probe};

const SHAPE: &str = "{\"data\": [{\"session_id\", \"payloads\": [...]}]}";

/// Whether the file is an `inputs.json`: a JSON object whose `data` array starts with an entry
/// that has a `payloads` array. A pretty-printed file (the usual one) is judged by the start of
/// its text.
pub fn can_load(probe: &Probe) -> bool {
    if probe.is_dir {
        return false;
    }
    let claims = |v: &Value| {
        v.get("data")
            .and_then(Value::as_array)
            .and_then(|d| d.first())
            .and_then(|e| e.get("payloads"))
            .is_some_and(Value::is_array)
    };
    if let Some(first) = &probe.first {
        return claims(first);
    }
    if let Ok(whole) = serde_json::from_str::<Value>(&probe.head) {
        return claims(&whole);
    }
    opens_as_inputs_file(&probe.head)
}

/// `{ "data": [ {` ... `"payloads": [` at the start of `head` (a file too long for the head to
/// be the whole of it).
fn opens_as_inputs_file(head: &str) -> bool {
    let mut rest = head.trim_start();
    for token in ["{", "\"data\"", ":", "[", "{"] {
        match rest.strip_prefix(token) {
            Some(r) => rest = r.trim_start(),
            None => return false,
        }
    }
    let Some(at) = rest.find("\"payloads\"") else {
        return false;
    };
    let rest = rest[at + "\"payloads\"".len()..].trim_start();
    rest.strip_prefix(':')
        .is_some_and(|r| r.trim_start().starts_with('['))
}

pub fn load(path: &Path, _ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let file =
        aiperf_core::textfile::open(path).map_err(|e| LoadError::file(path, e.to_string()))?;
    let root: Value = serde_json::from_reader(file).map_err(|e| LoadError::Line {
        path: path.display().to_string(),
        line: e.line(),
        reason: format!("not an inputs.json file ({SHAPE}): {e}"),
    })?;
    conversations(root).map_err(|reason| LoadError::file(path, reason))
}

/// The file's sessions as conversations of verbatim-payload turns.
fn conversations(root: Value) -> Result<Vec<Conversation>, String> {
    let Value::Object(mut root) = root else {
        return Err(format!("expected a JSON object {SHAPE}"));
    };
    let Some(Value::Array(data)) = root.remove("data") else {
        return Err(format!("expected a 'data' array: {SHAPE}"));
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(data.len());
    for (i, entry) in data.into_iter().enumerate() {
        let Value::Object(mut entry) = entry else {
            return Err(format!(
                "data[{i}] must be an object {{\"session_id\", \"payloads\"}}"
            ));
        };
        let session_id = match entry.remove("session_id") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(format!("data[{i}]: 'session_id' must be a string")),
            None => return Err(format!("data[{i}] has no 'session_id'")),
        };
        let payloads = match entry.remove("payloads") {
            Some(Value::Array(p)) if !p.is_empty() => p,
            Some(_) => {
                return Err(format!(
                    "data[{i}]: 'payloads' must be a non-empty array of request bodies"
                ))
            }
            None => return Err(format!("data[{i}] has no 'payloads'")),
        };
        if !seen.insert(session_id.clone()) {
            return Err(format!(
                "data[{i}]: duplicate session_id '{session_id}' (each session_id must be unique)"
            ));
        }
        let turns = payloads
            .into_iter()
            .enumerate()
            .map(|(j, p)| match p {
                Value::Object(body) => Ok(turn(body)),
                _ => Err(format!(
                    "data[{i}].payloads[{j}] must be a JSON object (a request body)"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Conversation {
            session_id,
            turns,
            ..Default::default()
        });
    }
    Ok(out)
}

fn turn(body: Map<String, Value>) -> Turn {
    Turn {
        texts: super::mooncake::payload_texts(&body),
        payload: Some(body),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;

    fn read(text: &str) -> Result<Vec<Conversation>, LoadError> {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        with_file("inputs.json", text, |p| load(p, &context(&t, &c)))
    }

    #[test]
    fn sessions_become_conversations_of_verbatim_payloads() {
        let text = r#"{
  "data": [
    {"session_id": "b", "payloads": [
      {"messages": [{"role": "user", "content": "hi"}], "model": "m", "temperature": 0.7},
      {"model": "m", "prompt": "next", "zeta": 1, "alpha": [1, 2]}
    ]},
    {"session_id": "a", "payloads": [{"input": "x"}]}
  ]
}
"#;
        let convs = read(text).unwrap();
        assert_eq!(convs.len(), 2);
        assert_eq!(convs[0].session_id, "b");
        assert_eq!(convs[1].session_id, "a");
        assert_eq!(convs[0].turns.len(), 2);
        assert_eq!(convs[0].turns[0].texts, ["hi"]);
        assert_eq!(convs[0].turns[1].texts, ["next"]);
        // Key order and numbers survive: the body is the one the file lists.
        assert_eq!(
            serde_json::to_string(convs[0].turns[1].payload.as_ref().unwrap()).unwrap(),
            r#"{"model":"m","prompt":"next","zeta":1,"alpha":[1,2]}"#
        );
        assert_eq!(
            serde_json::to_string(convs[0].turns[0].payload.as_ref().unwrap()).unwrap(),
            r#"{"messages":[{"role":"user","content":"hi"}],"model":"m","temperature":0.7}"#
        );
        assert!(convs[1].turns[0].texts.is_empty());
        assert!(convs[0].turns[0].max_tokens.is_none());
    }

    #[test]
    fn every_bad_file_rule_is_a_one_line_file_error() {
        let cases = [
            ("{\"data\": [", "inputs.json:1: not an inputs.json file"),
            ("[1]", "inputs.json: expected a JSON object"),
            ("{\"payloads\": []}", "inputs.json: expected a 'data' array"),
            ("{\"data\": [1]}", "inputs.json: data[0] must be an object"),
            (
                "{\"data\": [{\"payloads\": [{}]}]}",
                "inputs.json: data[0] has no 'session_id'",
            ),
            (
                "{\"data\": [{\"session_id\": 3, \"payloads\": [{}]}]}",
                "inputs.json: data[0]: 'session_id' must be a string",
            ),
            (
                "{\"data\": [{\"session_id\": \"s\"}]}",
                "inputs.json: data[0] has no 'payloads'",
            ),
            (
                "{\"data\": [{\"session_id\": \"s\", \"payloads\": []}]}",
                "inputs.json: data[0]: 'payloads' must be a non-empty array of request bodies",
            ),
            (
                "{\"data\": [{\"session_id\": \"s\", \"payloads\": {}}]}",
                "inputs.json: data[0]: 'payloads' must be a non-empty array of request bodies",
            ),
            (
                "{\"data\": [{\"session_id\": \"s\", \"payloads\": [{}, \"x\"]}]}",
                "inputs.json: data[0].payloads[1] must be a JSON object (a request body)",
            ),
            (
                "{\"data\": [{\"session_id\": \"s\", \"payloads\": [{}]}, {\"session_id\": \"s\", \"payloads\": [{}]}]}",
                "inputs.json: data[1]: duplicate session_id 's' (each session_id must be unique)",
            ),
        ];
        for (text, want) in cases {
            let e = read(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let e = with_file("inputs.json", "{\"data\": []}", |p| {
            crate::loader::load(
                "aiperf_dataset::loader::inputs_json::load",
                p,
                &context(&t, &c),
            )
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "inputs.json: no requests in file");
    }

    #[test]
    fn detected_pretty_printed_compact_and_longer_than_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(Probe::HEAD * 2);
        let cases = [
            (
                "{\n  \"data\": [\n    {\n      \"session_id\": \"s\",\n      \"payloads\": [\n        {\"prompt\": \"a\"}\n      ]\n    }\n  ]\n}\n".to_string(),
                true,
            ),
            ("{\"data\": [{\"session_id\": \"s\", \"payloads\": [{}]}]}\n".to_string(), true),
            (
                format!("{{\n  \"data\": [\n    {{\n      \"session_id\": \"s\",\n      \"payloads\": [\n        {{\"prompt\": \"{long}\"}}\n      ]\n    }}\n  ]\n}}\n"),
                true,
            ),
            ("{\n  \"data\": [\n    {\"session_id\": \"s\"}\n  ]\n}\n".to_string(), false),
            ("{\n  \"data\": []\n}\n".to_string(), false),
            ("{\"text\": \"a\"}\n".to_string(), false),
            ("[{\"payloads\": []}]\n".to_string(), false),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let p = dir.path().join(format!("{i}.json"));
            std::fs::write(&p, text).unwrap();
            assert_eq!(can_load(&Probe::read(&p)), *want, "case {i}");
        }
        assert!(!can_load(&Probe::read(dir.path())));
    }
}
