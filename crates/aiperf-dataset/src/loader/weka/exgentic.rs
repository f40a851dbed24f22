//! `--public-dataset exgentic` / `exgentic_v2` rows (AIPerf's `ExgenticDatasetLoader`): each
//! Hub row is one agent session of OpenTelemetry LLM spans; every successful `llm_call` span
//! is replayed as its recorded request (the whole message list, tools, temperature, stop
//! sequences, `max_tokens`). Not a Weka format: it lives here only because this module owns
//! the agentic trace readers (move it next to the public-dataset code at will).
//!
//! Sessions replay closed-loop: a span waits its recorded gap after the previous one ended
//! (overlaps start at once). Under a fixed schedule every span is a one-turn conversation
//! `<session>:<span>` at its offset from the session's first span. Failed spans
//! (`status.code == 2`), spans that are not LLM calls and spans with zero tokens are skipped.
//!
//! Not sent (our `Turn` has no per-request header): AIPerf's `x-dynamo-session-id: <session>`.

use std::collections::HashSet;

use aiperf_core::{Conversation, Turn};
use serde_json::{json, Map, Value};

/// Which Hub dataset the rows come from: v1 (`Exgentic/agent-llm-traces`) or v2 (adds the
/// `benchmark` filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

const HARNESSES: [&str; 5] = [
    "claude_code",
    "openai_solo",
    "smolagents_code",
    "tool_calling",
    "tool_calling_with_shortlisting",
];
const SOURCE_MODELS: [&str; 6] = [
    "DeepSeek-V3.2",
    "Kimi-K2.5",
    "claude-opus-4-5",
    "gemini-3-pro-preview",
    "gpt-4.1",
    "gpt-5.2-2025-12-11",
];
const BENCHMARKS: [&str; 6] = [
    "appworld",
    "browsecompplus",
    "swebench",
    "tau2_airline",
    "tau2_retail",
    "tau2_telecom",
];

fn unsupported(v: Version) -> &'static [(&'static str, &'static str)] {
    match v {
        Version::V1 => &[
            ("openai_solo", "gpt-5.2-2025-12-11"),
            ("smolagents_code", "claude-opus-4-5"),
            ("smolagents_code", "gemini-3-pro-preview"),
            ("smolagents_code", "gpt-5.2-2025-12-11"),
            ("tool_calling", "gpt-5.2-2025-12-11"),
            ("tool_calling_with_shortlisting", "claude-opus-4-5"),
            ("tool_calling_with_shortlisting", "gpt-4.1"),
            ("tool_calling_with_shortlisting", "gpt-5.2-2025-12-11"),
        ],
        Version::V2 => &[
            ("claude_code", "gpt-4.1"),
            ("openai_solo", "gpt-4.1"),
            ("smolagents_code", "gpt-4.1"),
            ("tool_calling", "gpt-4.1"),
            ("tool_calling_with_shortlisting", "claude-opus-4-5"),
            ("tool_calling_with_shortlisting", "gpt-4.1"),
            ("tool_calling_with_shortlisting", "gpt-5.2-2025-12-11"),
        ],
    }
}

/// `--dataset-filter harness=… source_model=… benchmark=…`, checked as AIPerf checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub harness: Option<String>,
    pub source_model: Option<String>,
    pub benchmark: Option<String>,
}

/// AIPerf's `canonical_source_model`: provider prefixes stripped.
pub fn canonical_source_model(value: &str) -> &str {
    let lower = value.to_lowercase();
    for p in ["openai/azure/", "azure/", "aws/", "gcp/"] {
        if lower.starts_with(p) {
            return &value[p.len()..];
        }
    }
    value
}

/// The enum value `v` names (case-insensitively), or an error listing what is available.
fn pick(v: &str, of: &[&'static str], what: &str, v_: Version) -> Result<&'static str, String> {
    of.iter()
        .find(|x| x.eq_ignore_ascii_case(v))
        .copied()
        .ok_or_else(|| {
            format!(
                "Invalid Exgentic dataset filters: {what}={v:?} is not one of the values; available filters: {}",
                available(v_)
            )
        })
}

fn available(v: Version) -> String {
    let models: Vec<&str> = SOURCE_MODELS
        .iter()
        .filter(|m| {
            HARNESSES
                .iter()
                .any(|h| !unsupported(v).contains(&(h, **m)))
        })
        .copied()
        .collect();
    let mut s = format!(
        "harness=[{}], source_model=[{}]",
        HARNESSES.join(", "),
        models.join(", ")
    );
    if v == Version::V2 {
        s.push_str(&format!(", benchmark=[{}]", BENCHMARKS.join(", ")));
    }
    s
}

/// Harness, source model, benchmark, in canonical spelling.
type Checked = (
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

impl Filters {
    /// The filters in canonical spelling, or AIPerf's error for a value or pair it refuses.
    /// The filters' errors for `v`, as AIPerf words them (checked before anything is read).
    pub fn validate(&self, v: Version) -> Result<(), String> {
        self.checked(v).map(|_| ())
    }

    fn checked(&self, v: Version) -> Result<Checked, String> {
        let harness = self
            .harness
            .as_deref()
            .map(|h| pick(h, &HARNESSES, "harness", v))
            .transpose()?;
        let model = self
            .source_model
            .as_deref()
            .map(|m| pick(canonical_source_model(m), &SOURCE_MODELS, "source_model", v))
            .transpose()?;
        let benchmark = self
            .benchmark
            .as_deref()
            .map(|b| pick(b, &BENCHMARKS, "benchmark", v))
            .transpose()?;
        if benchmark.is_some() && v == Version::V1 {
            return Err(
                "Exgentic benchmark filter is only supported for Exgentic v2 traces".into(),
            );
        }
        if let (Some(h), Some(m)) = (harness, model) {
            if unsupported(v).contains(&(h, m)) {
                let ok: Vec<&str> = SOURCE_MODELS
                    .iter()
                    .filter(|x| !unsupported(v).contains(&(h, **x)))
                    .copied()
                    .collect();
                return Err(format!(
                    "Unsupported Exgentic filter combination harness={h:?}, source_model={m:?}; available source models for this harness: {}",
                    ok.join(", ")
                ));
            }
        }
        if let Some(m) = model {
            if HARNESSES.iter().all(|h| unsupported(v).contains(&(h, m))) {
                return Err(format!(
                    "Unsupported Exgentic source_model={m:?}; no harness supports it"
                ));
            }
        }
        Ok((harness, model, benchmark))
    }
}

fn json_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_list(v: &Value, field: &str) -> Result<Vec<Map<String, Value>>, String> {
    let parsed = match v {
        Value::String(s) => {
            serde_json::from_str(s).map_err(|e| format!("{field} is not valid JSON: {e}"))?
        }
        other => other.clone(),
    };
    match parsed {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Object(o) => Ok(o),
                _ => Err(format!("{field} must be a JSON array of objects")),
            })
            .collect(),
        _ => Err(format!("{field} must be a JSON array of objects")),
    }
}

/// AIPerf's `_normalize_message`: a GenAI message of parts as OpenAI messages (tool results
/// become `tool` messages; `developer` is `system`).
fn message(role: &str, parts: &[Value]) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let (mut content, mut reasoning, mut calls) = (String::new(), String::new(), Vec::new());
    let mut any = false;
    let flush = |out: &mut Vec<Value>,
                 content: &mut String,
                 reasoning: &mut String,
                 calls: &mut Vec<Value>| {
        let mut m = json!({"role": if role == "developer" { "system" } else { role }, "content": std::mem::take(content)});
        if !reasoning.is_empty() {
            m["reasoning_content"] = Value::String(std::mem::take(reasoning));
        }
        if !calls.is_empty() {
            m["tool_calls"] = Value::Array(std::mem::take(calls));
        }
        out.push(m);
    };
    for p in parts {
        let Some(p) = p.as_object() else {
            return Err("message parts must be objects".into());
        };
        let text = |k: &str| match p.get(k) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(o) => o.to_string(),
        };
        match p.get("type").and_then(Value::as_str) {
            Some("tool_call_response") => {
                if any {
                    flush(&mut out, &mut content, &mut reasoning, &mut calls);
                    any = false;
                }
                out.push(json!({"role": "tool", "tool_call_id": p.get("id").cloned().unwrap_or(Value::Null),
                    "content": json_string(p.get("result").unwrap_or(&Value::Null))}));
            }
            Some("text") => {
                content.push_str(&text("content"));
                any = true;
            }
            Some("thinking") => {
                reasoning.push_str(&text("thinking"));
                any = true;
            }
            Some("tool_call") => {
                calls.push(json!({"id": p.get("id").cloned().unwrap_or(Value::Null), "type": "function",
                    "function": {"name": p.get("name").cloned().unwrap_or(Value::Null),
                                 "arguments": json_string(p.get("arguments").unwrap_or(&Value::Null))}}));
                any = true;
            }
            other => {
                return Err(format!(
                    "unsupported '{role}' message part {}",
                    other.map_or("None".to_string(), |o| format!("'{o}'"))
                ))
            }
        }
    }
    if any || out.is_empty() {
        flush(&mut out, &mut content, &mut reasoning, &mut calls);
    }
    Ok(out)
}

fn messages(attrs: &Map<String, Value>) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    match attrs.get("gen_ai.system_instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => {
            match parse_list(&Value::String(s.clone()), "gen_ai.system_instructions") {
                Ok(parts) => out.extend(message(
                    "system",
                    &parts.into_iter().map(Value::Object).collect::<Vec<_>>(),
                )?),
                Err(_) => out.push(json!({"role": "system", "content": s})),
            }
        }
        Some(_) => return Err("gen_ai.system_instructions must be a string".into()),
    }
    let input = parse_list(
        attrs.get("gen_ai.input.messages").unwrap_or(&Value::Null),
        "gen_ai.input.messages",
    )?;
    let before = out.len();
    for m in input {
        let (Some(role), Some(parts)) = (
            m.get("role").and_then(Value::as_str),
            m.get("parts").and_then(Value::as_array),
        ) else {
            return Err("each input message requires a string role and parts array".into());
        };
        out.extend(message(role, parts)?);
    }
    if out.len() == before {
        return Err("gen_ai.input.messages must contain at least one message".into());
    }
    Ok(out)
}

/// The span's request as a turn: `(start ms, span index, end ms, turn)`, `None` when it is
/// skipped.
fn span_turn(
    session: &str,
    i: usize,
    span: &Value,
) -> Result<Option<(f64, usize, f64, Turn)>, String> {
    let empty = Map::new();
    let attrs = span
        .get("attributes")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let kind = span.get("type");
    let llm = kind.and_then(Value::as_str) == Some("llm_call")
        || (kind.is_none_or(Value::is_null)
            && attrs.get("gen_ai.operation.name").and_then(Value::as_str) == Some("chat"));
    if !llm || span.pointer("/status/code").and_then(Value::as_i64) == Some(2) {
        return Ok(None);
    }
    let int = |k: &str| {
        attrs
            .get(k)
            .filter(|v| v.is_i64() || v.is_u64())
            .and_then(Value::as_i64)
    };
    let (Some(inp), Some(out)) = (
        int("gen_ai.usage.input_tokens"),
        int("gen_ai.usage.output_tokens"),
    ) else {
        return Err(format!(
            "Exgentic session {session:?} span {i} has non-integer token counts"
        ));
    };
    if inp <= 0 || out <= 0 {
        return Ok(None);
    }
    let at = |e: String| format!("Exgentic session {session:?} span {i}: {e}");
    let time = |k: &str| -> Result<f64, String> {
        let s = span
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| at(format!("'{k}'")))?;
        super::super::tracelab::iso8601(s)
            .map(|t| t * 1000.0)
            .map_err(&at)
    };
    let (start, end) = (time("start_time")?, time("end_time")?);
    if end < start {
        return Err(at("span ends before it starts".into()));
    }
    let max_tokens = match attrs.get("gen_ai.request.max_tokens") {
        None | Some(Value::Null) => out,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 && (v.is_i64() || v.is_u64()) => n,
            _ => {
                return Err(at(
                    "gen_ai.request.max_tokens must be a positive integer".into()
                ))
            }
        },
    };
    let msgs = messages(attrs).map_err(&at)?;
    let mut extra = Map::new();
    if let Some(tools) = attrs
        .get("gen_ai.tool.definitions")
        .filter(|v| !v.is_null())
    {
        let mut list = Vec::new();
        for t in parse_list(tools, "gen_ai.tool.definitions").map_err(&at)? {
            if t.get("type").and_then(Value::as_str) != Some("function") {
                return Err(at(format!(
                    "unsupported tool type {}",
                    t.get("type").map_or("None".into(), |v| v.to_string())
                )));
            }
            let get = |k: &str| t.get(k).cloned().unwrap_or(Value::Null);
            list.push(json!({"type": "function", "function": {"name": get("name"), "description": get("description"), "parameters": get("parameters")}}));
        }
        if !list.is_empty() {
            extra.insert("tools".into(), Value::Array(list));
        }
    }
    match attrs.get("gen_ai.request.temperature") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_f64().is_some_and(f64::is_finite) => {
            extra.insert("temperature".into(), v.clone());
        }
        Some(_) => return Err(at("gen_ai.request.temperature must be finite".into())),
    }
    match attrs.get("gen_ai.request.stop_sequences") {
        None | Some(Value::Null) => {}
        Some(Value::Array(s)) if s.iter().all(Value::is_string) => {
            if !s.is_empty() {
                extra.insert("stop".into(), Value::Array(s.clone()));
            }
        }
        Some(_) => {
            return Err(at(
                "gen_ai.request.stop_sequences must be a list of strings".into(),
            ))
        }
    }
    let texts = msgs
        .iter()
        .filter_map(|m| m.get("content").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let turn = Turn {
        texts,
        messages: Some(msgs),
        max_tokens: Some(max_tokens.min(i64::from(u32::MAX)) as u32),
        extra: (!extra.is_empty()).then_some(extra),
        ..Default::default()
    };
    Ok(Some((start, i, end, turn)))
}

/// AIPerf's `_convert_rows`: sessions matching `filters`, at most `max_sessions` of them (AIPerf
/// requires a finite count: `--num-conversations`, `--num-dataset-entries` or
/// `--request-count`), each span one turn; `fixed_schedule` makes every span its own
/// timestamped conversation. Rows are numbered from 1 in messages, as there.
pub fn from_rows(
    rows: impl IntoIterator<Item = Value>,
    version: Version,
    filters: &Filters,
    fixed_schedule: bool,
    max_sessions: Option<usize>,
) -> Result<Vec<Conversation>, String> {
    let Some(max_sessions) = max_sessions else {
        return Err("Exgentic requires a finite entry or request count; set --num-conversations, --num-dataset-entries, or --request-count".into());
    };
    let (f_harness, f_model, f_bench) = filters.checked(version)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut combos: std::collections::BTreeSet<(String, String)> = Default::default();
    let mut sessions = 0;
    for (n, row) in rows.into_iter().enumerate() {
        let n = n + 1;
        let harness = row
            .get("harness")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("Exgentic row {n} has no harness"))?;
        let sid = row
            .get("session_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("Exgentic row {n} has no session_id"))?;
        let models: Vec<&str> = match row.get("models").and_then(Value::as_array) {
            Some(m) if m.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty())) => {
                m.iter().filter_map(Value::as_str).collect()
            }
            _ => {
                return Err(format!(
                    "Exgentic row {n} models must be a list of non-empty strings"
                ))
            }
        };
        let Some(spans) = row
            .get("spans")
            .and_then(Value::as_array)
            .filter(|s| s.iter().all(Value::is_object))
        else {
            return Err(format!("Exgentic row {n} spans must be a list of objects"));
        };
        let source: HashSet<&str> = models.iter().map(|m| canonical_source_model(m)).collect();
        combos.extend(source.iter().map(|m| (harness.to_string(), m.to_string())));
        let bench = row.get("benchmark").and_then(Value::as_str);
        if f_harness.is_some_and(|h| h != harness)
            || f_model.is_some_and(|m| !source.iter().any(|s| s.to_lowercase() == m.to_lowercase()))
            || f_bench.is_some_and(|b| Some(b) != bench)
        {
            continue;
        }
        let mut turns = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            turns.extend(span_turn(sid, i, s)?);
        }
        if turns.is_empty() {
            continue;
        }
        turns.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        if !seen.insert(sid.to_string()) {
            return Err(format!("Duplicate Exgentic session_id {sid:?}"));
        }
        sessions += 1;
        if fixed_schedule {
            let t0 = turns[0].0;
            for (start, i, _, mut turn) in turns {
                turn.timestamp_ms = Some(start - t0);
                out.push(Conversation {
                    session_id: format!("{sid}:{i}"),
                    turns: vec![turn],
                    independent_turns: true,
                    ..Default::default()
                });
            }
        } else {
            let mut prev_end: Option<f64> = None;
            let mut list = Vec::with_capacity(turns.len());
            for (start, _, end, mut turn) in turns {
                if let Some(p) = prev_end {
                    turn.delay_ms = Some((start - p).max(0.0));
                }
                list.push(turn);
                prev_end = Some(end);
            }
            out.push(Conversation {
                session_id: sid.to_string(),
                turns: list,
                independent_turns: true,
                ..Default::default()
            });
        }
        if sessions >= max_sessions {
            break;
        }
    }
    if out.is_empty() {
        let avail: Vec<String> = combos.iter().map(|(h, m)| format!("{h}/{m}")).collect();
        return Err(format!(
            "No replayable Exgentic spans matched harness={}, source_model={}, benchmark={}; available combinations: {}",
            f_harness.unwrap_or("None"),
            f_model.unwrap_or("None"),
            f_bench.unwrap_or("None"),
            if avail.is_empty() { "none".to_string() } else { avail.join(", ") }
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: &str, end: &str, extra: Value) -> Value {
        let mut attrs = json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5,
            "gen_ai.system_instructions": "be brief",
            "gen_ai.input.messages": serde_json::to_string(&json!([
                {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
                {"role": "assistant", "parts": [{"type": "thinking", "thinking": "hm"},
                    {"type": "tool_call", "id": "c1", "name": "ls", "arguments": {"p": "."}}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "result": ["a"]}]}
            ])).unwrap(),
        });
        for (k, v) in extra.as_object().unwrap() {
            attrs[k] = v.clone();
        }
        json!({"start_time": start, "end_time": end, "attributes": attrs})
    }

    fn row(sid: &str, harness: &str, spans: Vec<Value>) -> Value {
        json!({"session_id": sid, "harness": harness, "models": ["azure/gpt-4.1"], "spans": spans})
    }

    #[test]
    fn sessions_turns_delays_and_fixed_schedule() {
        let rows = vec![
            row(
                "s",
                "tool_calling",
                vec![
                    span(
                        "2026-01-01T00:00:05",
                        "2026-01-01T00:00:06",
                        json!({"gen_ai.request.max_tokens": 64, "gen_ai.request.temperature": 0.5,
                    "gen_ai.request.stop_sequences": ["X"], "gen_ai.tool.definitions": [{"type": "function", "name": "ls", "parameters": {}}]}),
                    ),
                    span("2026-01-01T00:00:00", "2026-01-01T00:00:02", json!({})),
                    span(
                        "2026-01-01T00:00:01",
                        "2026-01-01T00:00:01",
                        json!({"gen_ai.usage.output_tokens": 0}),
                    ),
                    json!({"type": "tool", "start_time": "x"}),
                ],
            ),
            row(
                "t",
                "claude_code",
                vec![span(
                    "2026-01-01T00:00:00Z",
                    "2026-01-01T00:00:01Z",
                    json!({}),
                )],
            ),
        ];
        let convs = from_rows(
            rows.clone(),
            Version::V1,
            &Filters::default(),
            false,
            Some(10),
        )
        .unwrap();
        assert_eq!(convs.len(), 2);
        let s = &convs[0];
        assert!(s.independent_turns);
        assert_eq!(s.turns.len(), 2);
        // Ordered by start; the second waits 5 s - 2 s after the first ended.
        assert_eq!(s.turns[0].delay_ms, None);
        assert_eq!(s.turns[1].delay_ms, Some(3000.0));
        assert_eq!(s.turns[0].max_tokens, Some(5));
        assert_eq!(s.turns[1].max_tokens, Some(64));
        let m = s.turns[0].messages.as_ref().unwrap();
        assert_eq!(m[0], json!({"role": "system", "content": "be brief"}));
        assert_eq!(m[1], json!({"role": "user", "content": "hi"}));
        assert_eq!(
            m[2],
            json!({"role": "assistant", "content": "", "reasoning_content": "hm",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "ls", "arguments": "{\"p\":\".\"}"}}]})
        );
        assert_eq!(
            m[3],
            json!({"role": "tool", "tool_call_id": "c1", "content": "[\"a\"]"})
        );
        let x = s.turns[1].extra.as_ref().unwrap();
        assert_eq!(x["temperature"], 0.5);
        assert_eq!(x["stop"], json!(["X"]));
        assert_eq!(x["tools"][0]["function"]["name"], "ls");

        let fixed = from_rows(
            rows.clone(),
            Version::V1,
            &Filters::default(),
            true,
            Some(1),
        )
        .unwrap();
        let ids: Vec<&str> = fixed.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(ids, ["s:1", "s:0"]);
        assert_eq!(fixed[1].turns[0].timestamp_ms, Some(5000.0));

        let f = Filters {
            harness: Some("CLAUDE_CODE".into()),
            ..Default::default()
        };
        let c = from_rows(rows.clone(), Version::V1, &f, false, Some(10)).unwrap();
        assert_eq!(c[0].session_id, "t");
        let f = Filters {
            source_model: Some("gpt-5.2-2025-12-11".into()),
            ..Default::default()
        };
        let e = from_rows(rows.clone(), Version::V1, &f, false, Some(10)).unwrap_err();
        assert_eq!(e, "No replayable Exgentic spans matched harness=None, source_model=gpt-5.2-2025-12-11, benchmark=None; available combinations: claude_code/gpt-4.1, tool_calling/gpt-4.1");
        let f = Filters {
            harness: Some("tool_calling".into()),
            source_model: Some("gpt-5.2-2025-12-11".into()),
            ..Default::default()
        };
        assert!(from_rows(rows.clone(), Version::V1, &f, false, Some(10))
            .unwrap_err()
            .starts_with("Unsupported Exgentic filter combination harness=\"tool_calling\""));
        let f = Filters {
            benchmark: Some("swebench".into()),
            ..Default::default()
        };
        assert_eq!(
            from_rows(rows.clone(), Version::V1, &f, false, Some(10)).unwrap_err(),
            "Exgentic benchmark filter is only supported for Exgentic v2 traces"
        );
        assert!(
            from_rows(rows.clone(), Version::V1, &Filters::default(), false, None)
                .unwrap_err()
                .starts_with("Exgentic requires a finite")
        );
        let bad = vec![row(
            "s",
            "h",
            vec![span(
                "2026-01-01T00:00:05",
                "2026-01-01T00:00:04",
                json!({}),
            )],
        )];
        assert_eq!(
            from_rows(bad, Version::V1, &Filters::default(), false, Some(1)).unwrap_err(),
            "Exgentic session \"s\" span 0: span ends before it starts"
        );
    }
}
