//! `sagemaker_data_capture`: Amazon SageMaker real-time endpoint data capture, replayed.
//! `{"captureData": {"endpointInput": {"data": "{\"messages\": [...], \"max_tokens\": 50}",
//! "encoding": "JSON"}, "endpointOutput": {...}}, "eventMetadata": {"eventId": "abc",
//! "inferenceTime": "2026-04-29T00:03:18Z"}, "eventVersion": "0"}`
//!
//! As AIPerf's `SageMakerDataCaptureLoader`: a file, or a directory read recursively (every
//! `*.jsonl` under it, in path order). Each record is one single-turn request sending the
//! captured `messages` (and `tools`) as they are, asking for the captured `max_tokens` (else
//! `max_completion_tokens`), at its `inferenceTime` shifted so the earliest is 0 (a
//! fixed-schedule replay; rows are sorted by time). Payloads are `JSON` or `BASE64` (the
//! default) encoded; only OpenAI-style chat bodies (with `messages`) are accepted.

use std::path::{Path, PathBuf};

use aiperf_core::{Conversation, Turn};
use base64::Engine as _;
use serde_json::{Map, Value};

use super::{for_each_line, LoadContext, LoadError, Probe};

/// AIPerf's content test: a record with `captureData` and `eventMetadata`.
fn is_capture(v: &Value) -> bool {
    v.get("captureData").is_some() && v.get("eventMetadata").is_some()
}

/// Every `*.jsonl` under `dir`, recursively, in path order.
fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Whether the first record (a directory: the first record of its first `*.jsonl`) is a
/// capture record.
pub fn can_load(probe: &Probe) -> bool {
    if !probe.is_dir {
        return probe.first.as_ref().is_some_and(is_capture);
    }
    jsonl_files(&probe.path)
        .first()
        .and_then(|f| Probe::read(f).first)
        .is_some_and(|v| is_capture(&v))
}

/// Python's `datetime.fromisoformat(s).timestamp() * 1000`: RFC 3339 with an offset or `Z`;
/// without one the time is read as UTC.
fn iso8601_ms(s: &str) -> Result<f64, String> {
    let invalid = || format!("Invalid isoformat string: '{s}'");
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros() as f64 / 1000.0);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc().timestamp_micros() as f64 / 1000.0);
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).ok_or_else(invalid)?;
        return Ok(t.and_utc().timestamp_micros() as f64 / 1000.0);
    }
    Err(invalid())
}

/// AIPerf's `_decode_payload`: the JSON inside a `captureData` entry, `None` for CSV or an
/// unknown encoding (or no `data`).
fn decode(entry: &Value, event: &str) -> Result<Option<Value>, String> {
    let Some(data) = entry.get("data").filter(|d| !d.is_null()) else {
        return Ok(None);
    };
    let fail = |e: String| format!("Capture record {event} payload decode failed: {e}");
    let text = data
        .as_str()
        .ok_or_else(|| fail("'data' is not a string".into()))?;
    let encoding = entry
        .get("encoding")
        .and_then(Value::as_str)
        .unwrap_or("BASE64");
    let bytes = match encoding {
        "JSON" => text.as_bytes().to_vec(),
        "BASE64" => base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| fail(e.to_string()))?,
        _ => return Ok(None),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| fail(e.to_string()))
}

/// One parsed record: its time (ms since the epoch), its recorded input length (the captured
/// response's `usage.prompt_tokens`, read only by `--synthesis-max-isl`) and its turn.
fn record(v: Value) -> Result<(f64, Option<u64>, Turn), String> {
    let meta = v.get("eventMetadata");
    let event = meta
        .and_then(|m| m.get("eventId"))
        .and_then(Value::as_str)
        .unwrap_or("<unknown>")
        .to_string();
    let missing = |k: &str| format!("Capture record {event} missing required field: '{k}'");
    let meta = meta.ok_or_else(|| missing("eventMetadata"))?;
    let time = meta
        .get("inferenceTime")
        .ok_or_else(|| missing("inferenceTime"))?;
    let time = time
        .as_str()
        .ok_or_else(|| "fromisoformat: argument must be str".to_string())
        .and_then(iso8601_ms)
        .map_err(|e| format!("Capture record {event} has malformed inferenceTime: {e}"))?;
    let capture = v.get("captureData").unwrap_or(&Value::Null);
    let input = match (capture.get("endpointInput"), capture.is_object()) {
        (Some(i), _) => i,
        (None, true) => {
            return Err(format!(
                "Capture record {event} missing captureData.endpointInput: 'endpointInput'"
            ))
        }
        (None, false) => {
            return Err(format!(
                "Capture record {event} missing captureData.endpointInput: 'captureData'"
            ))
        }
    };
    let Some(Value::Object(input)) = decode(input, &event)? else {
        return Err(no_messages(&event));
    };
    let Some(messages) = input.get("messages") else {
        return Err(no_messages(&event));
    };
    let malformed = |why: &str| format!("Capture record {event} malformed: {why}");
    let messages = match messages {
        Value::Array(m) if m.iter().all(Value::is_object) => m.clone(),
        _ => return Err(malformed("'messages' must be a list of objects")),
    };
    // The output is decoded (a broken one is an error, as in AIPerf) for its usage.
    let input_length = match capture.get("endpointOutput") {
        Some(output) => {
            decode(output, &event)?.and_then(|o| o.get("usage")?.get("prompt_tokens")?.as_u64())
        }
        None => None,
    };
    let max_tokens = match input
        .get("max_tokens")
        .filter(|v| !v.is_null())
        .or_else(|| input.get("max_completion_tokens").filter(|v| !v.is_null()))
    {
        None => None,
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 && n <= u32::MAX as i64 => Some(n as u32),
            Some(n) => return Err(malformed(&format!("'max_tokens' must be > 0, got {n}"))),
            None => return Err(malformed("'max_tokens' must be an integer")),
        },
    };
    let mut extra: Option<Map<String, Value>> = None;
    match input.get("tools") {
        None | Some(Value::Null) => {}
        Some(tools @ Value::Array(_)) => {
            extra
                .get_or_insert_with(Map::new)
                .insert("tools".into(), tools.clone());
        }
        Some(_) => return Err(malformed("'tools' must be a list")),
    }
    Ok((
        time,
        input_length,
        Turn {
            texts: super::mooncake::payload_texts(&input),
            messages: Some(messages),
            max_tokens,
            extra,
            ..Default::default()
        },
    ))
}

/// `--synthesis-*` on captures: times divided by the speed-up (on the epoch milliseconds, as
/// AIPerf truncates them), output lengths scaled and capped; the captured messages go out as
/// they are, so the prompt multipliers change nothing sent.
fn synthesize(ctx: &LoadContext<'_>, rows: &mut [(f64, Turn)]) {
    use crate::synthesis::{apply, TraceRow};
    let mut trace: Vec<TraceRow> = rows
        .iter()
        .map(|(time, turn)| TraceRow {
            output_length: turn.max_tokens.map(u64::from),
            timestamp: Some(*time),
            literal: true,
            ..Default::default()
        })
        .collect();
    // Rows without hash ids cannot fail to reshape.
    let _ = apply(&ctx.synthesis, &mut trace, 1, ctx.seed);
    for ((time, turn), row) in rows.iter_mut().zip(trace) {
        *time = row.timestamp.unwrap_or(*time);
        turn.max_tokens = row.output_length.map(|v| v.min(u64::from(u32::MAX)) as u32);
    }
}

fn no_messages(event: &str) -> String {
    format!(
        "Capture record {event} has no 'messages' key in payload. Only OpenAI-compatible chat \
         endpoints are supported."
    )
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let files = if path.is_dir() {
        let files = jsonl_files(path);
        if files.is_empty() {
            return Err(LoadError::file(
                path,
                format!("No .jsonl files found in directory '{}'", path.display()),
            ));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut rows: Vec<(f64, Turn)> = Vec::new();
    let mut max_isl = crate::synthesis::MaxIslFilter::new(&ctx.synthesis);
    for file in &files {
        for_each_line(file, |_, v: Value| {
            let (time, input_length, turn) = record(v)?;
            if max_isl.keeps(input_length) {
                rows.push((time, turn));
            }
            Ok(())
        })?;
    }
    max_isl.report();
    if ctx.synthesis.is_set() {
        synthesize(ctx, &mut rows);
    }
    let zero = rows.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
    // Stable, as Python's sort: equal times keep file order.
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, (time, mut turn))| {
            turn.timestamp_ms = Some(time - zero);
            Conversation::single(format!("session_{i:06}"), turn)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;
    use serde_json::json;

    fn capture(time: &str, input: Value, encoding: &str) -> String {
        let data = serde_json::to_string(&input).unwrap();
        let data = if encoding == "BASE64" {
            base64::engine::general_purpose::STANDARD.encode(data)
        } else {
            data
        };
        json!({
            "captureData": {
                "endpointInput": {"data": data, "encoding": encoding, "mode": "INPUT"},
                "endpointOutput": {"data": "{\"usage\": {\"prompt_tokens\": 12}}", "encoding": "JSON"}
            },
            "eventMetadata": {"eventId": "ev", "inferenceTime": time},
            "eventVersion": "0"
        })
        .to_string()
    }

    /// `--synthesis-*` on captures: epoch ms / 4 truncated (as AIPerf), outputs x 1.5 with
    /// Python's rounding, capped at 70; a capture whose usage says 12 prompt tokens is skipped
    /// by `--synthesis-max-isl 11`, one without usage stays.
    #[test]
    fn synthesis_rescales_times_and_outputs() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let mut ctx = context(&t, &c);
        ctx.synthesis.speedup_ratio = 4.0;
        ctx.synthesis.output_len_multiplier = 1.5;
        ctx.synthesis.max_osl = Some(70);
        let msg = |n: u32| json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": n});
        let text = format!(
            "{}\n{}\n",
            capture("2026-04-29T00:00:00.003Z", msg(5), "JSON"),
            capture("2026-04-29T00:00:01.001Z", msg(50), "JSON"),
        );
        let convs = with_file("c.jsonl", &text, |p| load(p, &ctx)).unwrap();
        // 1777420800003 / 4 -> ...000, 1777420801001 / 4 -> ...250.25 -> ...250.
        let ts: Vec<_> = convs.iter().map(|c| c.turns[0].timestamp_ms).collect();
        assert_eq!(ts, [Some(0.0), Some(250.0)]);
        let mt: Vec<_> = convs.iter().map(|c| c.turns[0].max_tokens).collect();
        assert_eq!(mt, [Some(8), Some(70)]);
        ctx.synthesis = Default::default();
        ctx.synthesis.max_isl = Some(11);
        let no_usage = capture("2026-04-29T00:00:02Z", msg(3), "JSON")
            .replace("{\\\"usage\\\": {\\\"prompt_tokens\\\": 12}}", "{}");
        let text = format!(
            "{}\n{no_usage}\n",
            capture("2026-04-29T00:00:00Z", msg(5), "JSON")
        );
        let convs = with_file("c.jsonl", &text, |p| load(p, &ctx)).unwrap();
        assert_eq!(convs.len(), 1);
        assert_eq!(convs[0].turns[0].max_tokens, Some(3));
    }

    #[test]
    fn records_become_timed_single_turns_in_time_order() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        let hello = json!({"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 50});
        let tools = json!({"messages": [{"role": "user", "content": "Tool?"}],
            "max_completion_tokens": 7, "tools": [{"type": "function"}]});
        let text = format!(
            "{}\n{}\n",
            capture("2026-04-29T00:03:18.500Z", hello, "JSON"),
            capture("2026-04-29T00:03:17+00:00", tools, "BASE64")
        );
        let convs = with_file("c.jsonl", &text, |p| load(p, &ctx)).unwrap();
        assert_eq!(convs.len(), 2);
        let first = &convs[0].turns[0];
        assert_eq!(first.timestamp_ms, Some(0.0));
        assert_eq!(first.max_tokens, Some(7));
        assert_eq!(
            first.extra.as_ref().unwrap()["tools"],
            json!([{"type": "function"}])
        );
        let second = &convs[1].turns[0];
        assert_eq!(second.timestamp_ms, Some(1500.0));
        assert_eq!(second.max_tokens, Some(50));
        assert_eq!(
            second.messages.as_ref().unwrap(),
            &vec![json!({"role": "user", "content": "Hello"})]
        );
        assert_eq!(second.texts, ["Hello"]);
    }

    #[test]
    fn bad_records_name_file_line_and_event() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        let ok = capture("2026-04-29T00:03:18Z", json!({"messages": []}), "JSON");
        let cases = [
            (
                capture("yesterday", json!({"messages": []}), "JSON"),
                "c.jsonl:2: Capture record ev has malformed inferenceTime: Invalid isoformat string: 'yesterday'",
            ),
            (
                capture("2026-04-29T00:03:18Z", json!({"prompt": "x"}), "JSON"),
                "c.jsonl:2: Capture record ev has no 'messages' key in payload. Only OpenAI-compatible chat endpoints are supported.",
            ),
            (
                capture("2026-04-29T00:03:18Z", json!({"messages": [], "max_tokens": 0}), "JSON"),
                "c.jsonl:2: Capture record ev malformed: 'max_tokens' must be > 0, got 0",
            ),
            (
                json!({"captureData": {}, "eventMetadata": {"eventId": "e2"}}).to_string(),
                "c.jsonl:2: Capture record e2 missing required field: 'inferenceTime'",
            ),
            (
                json!({"captureData": {}, "eventMetadata": {"inferenceTime": "2026-04-29"}}).to_string(),
                "c.jsonl:2: Capture record <unknown> missing captureData.endpointInput: 'endpointInput'",
            ),
            (
                json!({"captureData": {"endpointInput": {"data": "%%%"}}, "eventMetadata": {"eventId": "e3", "inferenceTime": "2026-04-29"}}).to_string(),
                "c.jsonl:2: Capture record e3 payload decode failed: Invalid symbol 37, offset 0.",
            ),
            (
                json!({"captureData": {"endpointInput": {"data": "a,b", "encoding": "CSV"}}, "eventMetadata": {"eventId": "e4", "inferenceTime": "2026-04-29"}}).to_string(),
                "c.jsonl:2: Capture record e4 has no 'messages' key in payload. Only OpenAI-compatible chat endpoints are supported.",
            ),
        ];
        for (line, want) in cases {
            let e =
                with_file("c.jsonl", &format!("{ok}\n{line}\n"), |p| load(p, &ctx)).unwrap_err();
            assert_eq!(e.to_string(), want);
        }
    }

    #[test]
    fn a_directory_is_read_recursively() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus { tokens: vec![] };
        let ctx = context(&t, &c);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("2026/04/29")).unwrap();
        let m = json!({"messages": [{"role": "user", "content": "x"}]});
        std::fs::write(
            dir.path().join("2026/04/29/a.jsonl"),
            capture("2026-04-29T00:00:02Z", m.clone(), "BASE64") + "\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.jsonl"),
            capture("2026-04-29T00:00:00Z", m, "JSON") + "\n",
        )
        .unwrap();
        assert!(can_load(&Probe::read(dir.path())));
        let convs = load(dir.path(), &ctx).unwrap();
        let ts: Vec<_> = convs.iter().map(|c| c.turns[0].timestamp_ms).collect();
        assert_eq!(ts, [Some(0.0), Some(2000.0)]);
        let empty = tempfile::tempdir().unwrap();
        let e = load(empty.path(), &ctx).unwrap_err().to_string();
        assert!(e.contains("No .jsonl files found in directory"), "{e}");
        assert!(!can_load(&Probe::read(empty.path())));
    }
}
