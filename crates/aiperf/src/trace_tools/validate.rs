//! `aiperf validate --target mooncake-trace --input FILE`: checks every row of a trace without
//! running it, as AIPerf's `MooncakeTrace` model does, plus the refusals `aiperf profile`'s
//! Mooncake loader adds (lengths > 0, times >= 0, not both `timestamp` and `delay`), so a file
//! that passes here also loads there. Like AIPerf, fields it does not know are accepted
//! (`group_id` and `is_restart`, which `aiperf synthesize` writes, among them).

use std::path::Path;

use serde_json::{Map, Value};

use super::lines::{for_each_text_line, TraceError};

/// AIPerf stops listing after this many bad rows.
pub const MAX_ERRORS: usize = 10;

/// What a check of a whole file found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Non-blank rows read (up to the last error listed, when it stopped early).
    pub rows: usize,
    /// `file:line: reason`, at most [`MAX_ERRORS`].
    pub errors: Vec<String>,
}

/// The present, non-null value of `name`.
fn field<'a>(row: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    row.get(name).filter(|v| !v.is_null())
}

/// Checks a field's JSON type when it is present: `want` names the type in the reason.
fn typed(
    row: &Map<String, Value>,
    name: &str,
    want: &str,
    ok: fn(&Value) -> bool,
) -> Result<(), String> {
    match field(row, name) {
        Some(v) if !ok(v) => Err(format!("'{name}' must be {want}, got {v}")),
        _ => Ok(()),
    }
}

/// A JSON integer (`aiperf profile` reads lengths as integers, so `5.0` is refused too).
fn whole(v: &Value) -> bool {
    v.is_i64() || v.is_u64()
}

/// Every field AIPerf's model types, checked for its type.
fn check_types(row: &Map<String, Value>) -> Result<(), String> {
    let objects = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_object));
    typed(row, "input_length", "a whole number", whole)?;
    typed(row, "output_length", "a whole number", whole)?;
    typed(row, "text_input", "a string", Value::is_string)?;
    typed(row, "session_id", "a string", Value::is_string)?;
    typed(row, "messages", "a list of objects", objects)?;
    typed(row, "tools", "a list of objects", objects)?;
    typed(row, "payload", "an object", Value::is_object)?;
    typed(row, "extra", "an object", Value::is_object)?;
    typed(row, "timestamp", "a number", Value::is_number)?;
    typed(row, "delay", "a number", Value::is_number)?;
    typed(row, "hash_ids", "a list of whole numbers >= 0", |v| {
        v.as_array().is_some_and(|a| a.iter().all(Value::is_u64))
    })?;
    match field(row, "type").map(|t| t.as_str()) {
        None | Some(Some("mooncake_trace")) => Ok(()),
        Some(_) => Err(format!(
            "'type' is {}, but this row is read as mooncake_trace",
            row["type"]
        )),
    }
}

/// Exactly one input mode, and the fields that only go with one of them.
fn check_inputs(row: &Map<String, Value>) -> Result<(), String> {
    let modes = ["input_length", "text_input", "messages", "payload"];
    if modes.iter().filter(|m| field(row, m).is_some()).count() != 1 {
        return Err(
            "give exactly one of 'input_length', 'text_input', 'messages', 'payload'".into(),
        );
    }
    if field(row, "hash_ids").is_some() && field(row, "input_length").is_none() {
        return Err("'hash_ids' needs 'input_length'".into());
    }
    if field(row, "payload")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        return Err("'payload' must be a non-empty object".into());
    }
    if let Some(tools) = field(row, "tools") {
        if field(row, "messages").is_none() {
            return Err("'tools' needs 'messages'".into());
        }
        if tools.as_array().is_some_and(Vec::is_empty) {
            return Err("'tools' must be a non-empty list".into());
        }
    }
    if let Some(messages) = field(row, "messages").and_then(Value::as_array) {
        if messages.is_empty() {
            return Err("'messages' must be a non-empty list".into());
        }
        if let Some(i) = messages.iter().position(|m| m.get("role").is_none()) {
            return Err(format!("message {i} has no 'role'"));
        }
    }
    Ok(())
}

/// What `aiperf profile` refuses besides AIPerf's model: lengths <= 0, negative or two times.
fn check_values(row: &Map<String, Value>) -> Result<(), String> {
    for name in ["input_length", "output_length"] {
        if let Some(v) = field(row, name).and_then(Value::as_f64) {
            if v <= 0.0 {
                return Err(format!("'{name}' must be > 0, got {}", row[name]));
            }
        }
    }
    if field(row, "timestamp").is_some() && field(row, "delay").is_some() {
        return Err("'timestamp' and 'delay' are mutually exclusive".into());
    }
    for name in ["timestamp", "delay"] {
        if field(row, name)
            .and_then(Value::as_f64)
            .is_some_and(|v| v < 0.0)
        {
            return Err(format!("'{name}' must be a number >= 0 (ms)"));
        }
    }
    Ok(())
}

/// One row's text: the first reason it is not a Mooncake trace row.
pub fn check_row(text: &str) -> Result<(), String> {
    let row = match serde_json::from_str::<Value>(text).map_err(|e| e.to_string())? {
        Value::Object(row) => row,
        _ => return Err("not a JSON object".into()),
    };
    check_types(&row)?;
    check_inputs(&row)?;
    check_values(&row)
}

/// Checks every row of `path`, listing up to [`MAX_ERRORS`] bad ones; `Err` only when the
/// file cannot be opened.
pub fn check_file(path: &Path) -> Result<Outcome, TraceError> {
    let mut out = Outcome::default();
    let stop = "stop";
    let read = for_each_text_line(path, |line, text| {
        out.rows += 1;
        if let Err(reason) = check_row(text) {
            out.errors
                .push(TraceError::line(path, line, reason).to_string());
            if out.errors.len() >= MAX_ERRORS {
                return Err(TraceError::file(path, stop));
            }
        }
        Ok(())
    });
    match read {
        Err(TraceError::File { reason, .. }) if reason == stop => Ok(out),
        // Unreadable mid-way (not UTF-8, a broken gzip stream): one more error, listed last.
        Err(e @ TraceError::Line { .. }) => {
            out.errors.push(e.to_string());
            Ok(out)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(out),
    }
}

/// `aiperf validate`: prints AIPerf's verdict; `true` when the file passed.
pub fn run(path: &Path) -> bool {
    if !path.is_file() {
        println!("Validation failed: {} is not a file.", path.display());
        return false;
    }
    match check_file(path) {
        Ok(out) if out.errors.is_empty() => {
            println!(
                "Validation passed: {} rows are Mooncake-compatible.",
                out.rows
            );
            true
        }
        Ok(out) => {
            println!("Validation failed with {} error(s):", out.errors.len());
            for e in &out.errors {
                println!("  {e}");
            }
            false
        }
        Err(e) => {
            println!("Validation failed with 1 error(s):");
            println!("  {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_pass() {
        for row in [
            r#"{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [0, 1]}"#,
            r#"{"session_id": "s", "input_length": 5, "delay": 10.5, "group_id": 3, "is_restart": true}"#,
            r#"{"text_input": "hi", "output_length": null}"#,
            r#"{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}"#,
            r#"{"payload": {"prompt": "p"}, "type": "mooncake_trace"}"#,
        ] {
            assert_eq!(check_row(row), Ok(()), "{row}");
        }
    }

    #[test]
    fn bad_rows_give_their_reason() {
        let one = "give exactly one of 'input_length', 'text_input', 'messages', 'payload'";
        for (row, want) in [
            (r#"{"input_length": 5, "text_input": "x"}"#, one),
            (r#"{"output_length": 3}"#, one),
            (r#"[1]"#, "not a JSON object"),
            (
                r#"{"input_length": "5"}"#,
                "'input_length' must be a whole number, got \"5\"",
            ),
            (
                r#"{"input_length": 5.5}"#,
                "'input_length' must be a whole number, got 5.5",
            ),
            (
                r#"{"text_input": "x", "hash_ids": [1]}"#,
                "'hash_ids' needs 'input_length'",
            ),
            (
                r#"{"input_length": 5, "hash_ids": ["a"]}"#,
                "'hash_ids' must be a list of whole numbers >= 0, got [\"a\"]",
            ),
            (
                r#"{"input_length": 5, "hash_ids": [-1]}"#,
                "'hash_ids' must be a list of whole numbers >= 0, got [-1]",
            ),
            (
                r#"{"input_length": 5.0}"#,
                "'input_length' must be a whole number, got 5.0",
            ),
            (r#"{"payload": {}}"#, "'payload' must be a non-empty object"),
            (
                r#"{"input_length": 5, "tools": [{}]}"#,
                "'tools' needs 'messages'",
            ),
            (
                r#"{"messages": [], "tools": []}"#,
                "'tools' must be a non-empty list",
            ),
            (r#"{"messages": []}"#, "'messages' must be a non-empty list"),
            (
                r#"{"messages": [{"content": "x"}]}"#,
                "message 0 has no 'role'",
            ),
            (
                r#"{"input_length": 0}"#,
                "'input_length' must be > 0, got 0",
            ),
            (
                r#"{"input_length": 5, "output_length": -2}"#,
                "'output_length' must be > 0, got -2",
            ),
            (
                r#"{"input_length": 5, "timestamp": 1, "delay": 1}"#,
                "'timestamp' and 'delay' are mutually exclusive",
            ),
            (
                r#"{"input_length": 5, "timestamp": -1}"#,
                "'timestamp' must be a number >= 0 (ms)",
            ),
            (
                r#"{"input_length": 5, "type": "single_turn"}"#,
                "'type' is \"single_turn\", but this row is read as mooncake_trace",
            ),
        ] {
            assert_eq!(check_row(row).unwrap_err(), want, "{row}");
        }
        assert_eq!(
            check_row("not json").unwrap_err(),
            "expected ident at line 1 column 2"
        );
    }
}
