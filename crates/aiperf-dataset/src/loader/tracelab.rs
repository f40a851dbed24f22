//! `tracelab`: the TraceLab (uw-syfi) agentic-coding corpus, one JSONL row per LLM round
//! (gzip when the name ends in `.gz`), replayed as AIPerf 0.13's `TraceLabTraceDatasetLoader`
//! does: rounds become Weka traces and are rebuilt by the `weka_trace` loader.
//! `{"session_id", "round_index", "input_tokens_total", "prefix_tokens",
//! "newly_append_tokens", "output_tokens", "reasoning_output_tokens", "model",
//! "first_input_event_type", "timing_events": [{"event_type", "timestamp"}],
//! "tools": [{"tool_name", "emitted_at", "result_at", "tool_wall_latency_ms"}], "user",
//! "project", "provider"}` (other fields are ignored).
//!
//! - Rounds are grouped by `session_id` and ordered by submission time (the latest
//!   `user_message`/`tool_result` event, else the first output event), ties by
//!   `round_index`; rounds without timing events are dropped. A round's server time is its
//!   submission to its last `text`/`reasoning`/`tool_call` event; its think time the gap
//!   since the previous round ended.
//! - Hash ids are minted per session (block size `--isl-block-size`, default 64): a round
//!   keeps the first `prefix_tokens / block_size` ids of the previous round and mints the
//!   rest, so the recorded prefix reuse becomes shared prompt blocks.
//! - Subagents are recovered by timing containment: a session of the same `user` and
//!   `project` whose whole span lies inside a parent's blocking `Agent`/`Task` tool call (at
//!   least 10 s), or inside a Codex session's `spawn_agent` .. `wait_agent` window, is that
//!   parent's subagent (the tightest window wins). Grandchildren and subagents that cannot be
//!   placed stay traces of their own.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU64;
use std::path::Path;

use aiperf_core::Conversation;
use serde::Deserialize;
use serde_json::Value;

use super::weka::model::{Entry, Inner, Request, Scope, Subagent, Trace};
use super::weka::{reconstruct, Source};
use super::{for_each_line, LoadContext, LoadError, Probe};

/// Block size when `--isl-block-size` is not given (AIPerf's `DEFAULT_BLOCK_SIZE`).
pub const DEFAULT_BLOCK_SIZE: usize = 64;

/// Shortest blocking spawn call taken as a subagent window (AIPerf's
/// `TRACELAB_MIN_SPAWN_MS` default).
const MIN_SPAWN_MS: f64 = 10_000.0;

/// Fields only TraceLab rows carry together (AIPerf's `_DETECT_KEYS`).
const DETECT_KEYS: [&str; 6] = [
    "session_id",
    "round_index",
    "input_tokens_total",
    "prefix_tokens",
    "newly_append_tokens",
    "timing_events",
];

/// Whether the first record is a TraceLab round (a file, never a directory).
pub fn can_load(probe: &Probe) -> bool {
    !probe.is_dir
        && probe
            .first
            .as_ref()
            .and_then(Value::as_object)
            .is_some_and(|o| DETECT_KEYS.iter().all(|k| o.contains_key(*k)))
}

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Tool {
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    emitted_at: Option<String>,
    #[serde(default)]
    result_at: Option<String>,
    #[serde(default)]
    tool_wall_latency_ms: Option<f64>,
}

/// The fields of a row that are read.
#[derive(Debug, Deserialize)]
struct Row {
    #[serde(default)]
    session_id: Option<Value>,
    #[serde(default)]
    round_index: Option<f64>,
    #[serde(default)]
    input_tokens_total: Option<f64>,
    #[serde(default)]
    prefix_tokens: Option<f64>,
    #[serde(default)]
    output_tokens: Option<f64>,
    #[serde(default)]
    reasoning_output_tokens: Option<f64>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    first_input_event_type: Option<String>,
    #[serde(default)]
    timing_events: Option<Vec<Event>>,
    #[serde(default)]
    tools: Option<Vec<Tool>>,
    #[serde(default)]
    user: Option<Value>,
    #[serde(default)]
    project: Option<Value>,
    #[serde(default)]
    provider: Option<String>,
}

/// One round as kept: times in POSIX seconds.
#[derive(Debug, Clone)]
struct Round {
    round_index: f64,
    input_total: u64,
    prefix: u64,
    output: u64,
    model: String,
    tool_result: bool,
    emitted_tool_call: bool,
    /// (submission, server time), when the round has timing events.
    timing: Option<(f64, Option<f64>)>,
    /// Earliest and latest stamp of the round's events and tool calls.
    span: Option<(f64, f64)>,
    /// Blocking `Agent`/`Task` calls long enough to be subagent windows: (start, end, ms).
    claude: Vec<(f64, f64, f64)>,
    codex_spawns: Vec<f64>,
    codex_waits: Vec<f64>,
    /// `(user, project)` as JSON, for matching sessions.
    ident: String,
    codex: bool,
}

/// Python's `datetime.fromisoformat(s).timestamp()`; a time without an offset is UTC.
pub(crate) fn iso8601(s: &str) -> Result<f64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros() as f64 / 1e6);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc().timestamp_micros() as f64 / 1e6);
        }
    }
    Err(format!("Invalid isoformat string: '{s}'"))
}

fn count(v: Option<f64>) -> u64 {
    v.filter(|x| x.is_finite() && *x > 0.0)
        .map_or(0, |x| x as u64)
}

impl Round {
    fn new(row: &Row) -> Result<Round, String> {
        let stamp = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(iso8601);
        let mut ins = Vec::new();
        let mut outs = Vec::new();
        let mut all = Vec::new();
        let mut emitted_tool_call = false;
        for e in row.timing_events.iter().flatten() {
            let kind = e.event_type.as_deref().unwrap_or("");
            emitted_tool_call |= kind == "tool_call";
            let Some(t) = stamp(&e.timestamp).transpose()? else {
                continue;
            };
            all.push(t);
            match kind {
                "user_message" | "tool_result" => ins.push(t),
                "text" | "reasoning" | "tool_call" => outs.push(t),
                _ => {}
            }
        }
        let max = |v: &[f64]| v.iter().copied().reduce(f64::max);
        let min = |v: &[f64]| v.iter().copied().reduce(f64::min);
        // Submission: the last input event (the request waits for every parallel result).
        let timing = match (max(&ins), min(&outs), max(&outs)) {
            (None, None, _) => None,
            (Some(s), None, _) => Some((s, None)),
            (s, Some(first_out), Some(last_out)) => {
                let s = s.unwrap_or(first_out);
                Some((s, Some((last_out - s).max(0.0))))
            }
            (_, Some(_), None) => None,
        };
        let mut claude = Vec::new();
        let mut codex_spawns = Vec::new();
        let mut codex_waits = Vec::new();
        for tool in row.tools.iter().flatten() {
            let emitted = stamp(&tool.emitted_at).transpose()?;
            let result = stamp(&tool.result_at).transpose()?;
            all.extend(emitted);
            all.extend(result);
            match tool.tool_name.as_deref() {
                Some("Agent" | "Task") => {
                    if let (Some(ms), Some(a), Some(b)) =
                        (tool.tool_wall_latency_ms, emitted, result)
                    {
                        if ms >= MIN_SPAWN_MS {
                            claude.push((a, b, ms));
                        }
                    }
                }
                Some("spawn_agent") => codex_spawns.extend(emitted),
                Some("wait_agent") => codex_waits.extend(result),
                _ => {}
            }
        }
        let json = |v: &Option<Value>| v.as_ref().unwrap_or(&Value::Null).to_string();
        let input_total = count(row.input_tokens_total);
        if input_total > super::weka::MAX_INPUT_LENGTH {
            return Err(format!(
                "'input_tokens_total' must be at most {}, got {input_total}",
                super::weka::MAX_INPUT_LENGTH
            ));
        }
        Ok(Round {
            round_index: row.round_index.unwrap_or(0.0),
            input_total,
            prefix: count(row.prefix_tokens),
            output: count(row.output_tokens).saturating_add(count(row.reasoning_output_tokens)),
            model: row
                .model
                .clone()
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "unknown".into()),
            tool_result: row.first_input_event_type.as_deref() == Some("tool_result"),
            emitted_tool_call,
            timing,
            span: min(&all).zip(max(&all)),
            claude,
            codex_spawns,
            codex_waits,
            ident: format!("{}|{}", json(&row.user), json(&row.project)),
            codex: row.provider.as_deref() == Some("codex"),
        })
    }
}

/// A recovered parent -> child link (AIPerf's `Spawn`).
#[derive(Debug, Clone)]
struct Spawn {
    parent: String,
    start: f64,
    end: f64,
    duration_ms: i64,
}

/// Reads the corpus and replays it through the Weka reconstruction.
pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    if path.is_dir() {
        return Err(LoadError::file(
            path,
            "TraceLab is one JSONL file (optionally gzipped), not a directory",
        ));
    }
    let block_size = ctx.block_size.unwrap_or(DEFAULT_BLOCK_SIZE);
    if block_size == 0 {
        return Err(LoadError::file(path, "the block size must be positive"));
    }
    let mut order: Vec<String> = Vec::new();
    let mut sessions: HashMap<String, Vec<Round>> = HashMap::new();
    for_each_line(path, |_, value: Value| {
        if !value.is_object() {
            return Ok(());
        }
        let row = Row::deserialize(&value).map_err(|e| e.to_string())?;
        let sid = match &row.session_id {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::String(s)) if s.is_empty() => return Ok(()),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let round = Round::new(&row)?;
        sessions
            .entry(sid.clone())
            .or_insert_with(|| {
                order.push(sid);
                Vec::new()
            })
            .push(round);
        Ok(())
    })?;
    if order.is_empty() {
        return Err(LoadError::file(
            path,
            "no TraceLab sessions found: every row must carry a 'session_id'",
        ));
    }
    let links = join_index(&order, &sessions);
    // Children under their root parents; a child of a child stays a trace of its own.
    let mut children: HashMap<&str, Vec<(&str, &Spawn)>> = HashMap::new();
    let mut grandchildren = 0;
    for sid in &order {
        let Some(spawn) = links.get(sid) else {
            continue;
        };
        if links.contains_key(&spawn.parent) {
            grandchildren += 1;
            continue;
        }
        children
            .entry(spawn.parent.as_str())
            .or_default()
            .push((sid.as_str(), spawn));
    }
    let nested: HashSet<&str> = children.values().flatten().map(|(c, _)| *c).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut traces: Vec<Source> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let file = path.display().to_string();
    let mut add = |traces: &mut Vec<Source>, sid: &str, trace: Option<Trace>| {
        let Some(mut trace) = trace.filter(|t| !t.requests.is_empty()) else {
            return Ok(());
        };
        trace.id = safe_id(sid);
        if !ids.insert(trace.id.clone()) {
            return Err(LoadError::file(
                path,
                format!(
                    "duplicate TraceLab trace id '{}': session '{sid}' collides with an earlier session",
                    trace.id
                ),
            ));
        }
        traces.push(Source {
            file: file.clone(),
            trace,
        });
        Ok(())
    };
    for sid in &order {
        if nested.contains(sid.as_str()) {
            continue;
        }
        let kids = children.get(sid.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let trace = build_trace(&sessions[sid], block_size, kids, &sessions, &mut placed);
        add(&mut traces, sid, trace)?;
    }
    let fallback: Vec<&String> = order
        .iter()
        .filter(|s| nested.contains(s.as_str()) && !placed.contains(s.as_str()))
        .collect();
    if !fallback.is_empty() {
        tracing::warn!(
            "TraceLab: {} subagent session(s) failed to nest and are replayed as traces of their own",
            fallback.len()
        );
    }
    for sid in fallback {
        let trace = build_trace(&sessions[sid], block_size, &[], &sessions, &mut placed);
        add(&mut traces, sid, trace)?;
    }
    tracing::info!(
        "TraceLab: {} sessions -> {} traces ({} subagents nested, {grandchildren} grandchildren kept as traces; block_size={block_size})",
        order.len(),
        traces.len(),
        placed.len()
    );
    reconstruct(traces, ctx, Some(block_size), path)
}

/// AIPerf's `safe_trace_id`: runs of other characters become `_`, at most 150 characters.
fn safe_id(sid: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for ch in sid.chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-') {
            out.push(ch);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out.chars().take(150).collect()
}

/// AIPerf's `build_join_index` + `_match_children`: each session inside a spawn window of
/// another session with the same user and project becomes that session's child, the
/// tightest window winning (ties: earlier start, then parent id).
fn join_index(order: &[String], sessions: &HashMap<String, Vec<Round>>) -> HashMap<String, Spawn> {
    let span = |rows: &[Round]| {
        rows.iter()
            .filter_map(|r| r.span)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    };
    let none_ident = format!("{}|{}", Value::Null, Value::Null);
    // (start, end, parent, duration_ms), grouped by the parent's identity.
    let mut windows: HashMap<&str, Vec<(f64, f64, &str, i64)>> = HashMap::new();
    for sid in order {
        let rows = &sessions[sid];
        let ident = if span(rows).is_some() {
            rows[0].ident.as_str()
        } else {
            none_ident.as_str()
        };
        if rows[0].codex {
            let spawns = rows.iter().flat_map(|r| r.codex_spawns.iter().copied());
            let waits = rows.iter().flat_map(|r| r.codex_waits.iter().copied());
            if let (Some(s), Some(e)) = (spawns.reduce(f64::min), waits.reduce(f64::max)) {
                if e > s {
                    let ms = ((e - s) * 1000.0) as i64;
                    windows.entry(ident).or_default().push((s, e, sid, ms));
                }
            }
            continue;
        }
        for r in rows {
            for &(s, e, ms) in &r.claude {
                windows
                    .entry(ident)
                    .or_default()
                    .push((s, e, sid, ms as i64));
            }
        }
    }
    let mut links = HashMap::new();
    for csid in order {
        let rows = &sessions[csid];
        let Some((cs, ce)) = span(rows) else { continue };
        let Some(cands) = windows.get(rows[0].ident.as_str()) else {
            continue;
        };
        let best = cands
            .iter()
            .filter(|(ws, we, p, _)| *p != csid && cs >= *ws && ce <= *we)
            .min_by(|a, b| {
                (a.1 - a.0)
                    .total_cmp(&(b.1 - b.0))
                    .then(a.0.total_cmp(&b.0))
                    .then(a.2.cmp(b.2))
            });
        if let Some(&(start, end, parent, duration_ms)) = best {
            links.insert(
                csid.clone(),
                Spawn {
                    parent: parent.to_string(),
                    start,
                    end,
                    duration_ms,
                },
            );
        }
    }
    links
}

/// Rounds with timing, in replay order (submission time, then `round_index`; stable).
fn ordered(rows: &[Round]) -> Vec<(f64, Option<f64>, &Round)> {
    let mut timed: Vec<(f64, Option<f64>, &Round)> = rows
        .iter()
        .filter_map(|r| r.timing.map(|(s, a)| (s, a, r)))
        .collect();
    timed.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.2.round_index.total_cmp(&b.2.round_index))
    });
    timed
}

/// AIPerf's `synthesize_hash_ids`: keep `prefix / block_size` ids of the previous round,
/// mint the rest of `input / block_size`.
fn hash_chains(timed: &[(f64, Option<f64>, &Round)], bs: usize, next: &mut i64) -> Vec<Vec<i64>> {
    let mut prev: Vec<i64> = Vec::new();
    let mut out = Vec::with_capacity(timed.len());
    for (_, _, r) in timed {
        let total = r.input_total as usize;
        let prefix = (r.prefix as usize).min(total);
        let blocks = total / bs;
        let reuse = (prefix / bs).min(prev.len()).min(blocks);
        let mut ids = prev[..reuse].to_vec();
        let fresh = (blocks - reuse) as i64;
        ids.extend(*next..*next + fresh);
        *next += fresh;
        out.push(ids.clone());
        prev = ids;
    }
    out
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// AIPerf's `build_requests`: rounds as Weka requests timed from `t0`, think time the gap
/// since the previous round ended.
fn requests(
    timed: &[(f64, Option<f64>, &Round)],
    chains: Vec<Vec<i64>>,
    t0: f64,
    models: &mut Vec<String>,
) -> Vec<Request> {
    let mut prev_end: Option<f64> = None;
    let mut out = Vec::with_capacity(timed.len());
    for ((submitted, api, r), hash_ids) in timed.iter().zip(chains) {
        if !models.contains(&r.model) {
            models.push(r.model.clone());
        }
        let t = submitted - t0;
        let think = prev_end.map(|p| (t - p).max(0.0));
        out.push(Request {
            t: round6(t),
            model: r.model.clone(),
            input_length: r.input_total.max(1),
            output_length: r.output.max(1),
            hash_ids,
            input_types: vec![if r.tool_result { "tool_result" } else { "text" }.into()],
            output_types: vec!["text".into()],
            stop: if r.emitted_tool_call {
                "tool_use"
            } else {
                "end_turn"
            }
            .into(),
            api_time: api.map(round6),
            think_time: think.map(round6),
        });
        prev_end = Some(t + api.unwrap_or(0.0));
    }
    out
}

/// AIPerf's `build_trace`: a session's rounds plus its subagents, each marker after the last
/// parent request at or before its spawn. One id space spans parent and subagents.
fn build_trace(
    rows: &[Round],
    bs: usize,
    kids: &[(&str, &Spawn)],
    sessions: &HashMap<String, Vec<Round>>,
    placed: &mut HashSet<String>,
) -> Option<Trace> {
    let timed = ordered(rows);
    let t0 = timed.first()?.0;
    let mut next = 1i64;
    let chains = hash_chains(&timed, bs, &mut next);
    let mut models = Vec::new();
    let parent = requests(&timed, chains, t0, &mut models);
    let mut pending: HashMap<usize, Vec<Subagent>> = HashMap::new();
    for (csid, spawn) in kids {
        let child = ordered(&sessions[*csid]);
        if child.is_empty() {
            continue;
        }
        let chains = hash_chains(&child, bs, &mut next);
        let mut child_models = Vec::new();
        let mut inner = requests(&child, chains, t0, &mut child_models);
        let entry_t = spawn.start - t0;
        for r in &mut inner {
            if r.t < entry_t {
                r.t = round6(entry_t);
            }
        }
        inner[0].think_time = None;
        let Some(anchor) = parent.iter().rposition(|r| r.t <= round6(entry_t)) else {
            continue;
        };
        let child_end = child
            .iter()
            .map(|(s, a, _)| s + a.unwrap_or(0.0))
            .reduce(f64::max)
            .unwrap_or(spawn.end);
        for m in &child_models {
            if !models.contains(m) {
                models.push(m.clone());
            }
        }
        placed.insert(csid.to_string());
        pending.entry(anchor).or_default().push(Subagent {
            t: round6(entry_t),
            agent_id: safe_id(csid),
            subagent_type: child_models.first().cloned().unwrap_or("unknown".into()),
            duration_ms: Some(spawn.duration_ms),
            total_tokens: Some(
                inner
                    .iter()
                    .map(|r| r.input_length.saturating_add(r.output_length) as i64)
                    .fold(0i64, i64::saturating_add),
            ),
            tool_use_count: None,
            status: if child_end <= spawn.end {
                "completed"
            } else {
                "incomplete"
            }
            .into(),
            requests: inner.into_iter().map(Inner::Normal).collect(),
            models: child_models,
            tool_tokens: 0,
            system_tokens: 0,
        });
    }
    let mut entries = Vec::with_capacity(parent.len());
    for (i, r) in parent.into_iter().enumerate() {
        entries.push(Entry::Normal(r));
        if let Some(mut subs) = pending.remove(&i) {
            subs.sort_by(|a, b| a.t.total_cmp(&b.t));
            entries.extend(subs.into_iter().map(Entry::Subagent));
        }
    }
    Some(Trace {
        id: String::new(),
        models,
        block_size: NonZeroU64::new(bs as u64)?,
        hash_id_scope: Scope::Local,
        tool_tokens: 0,
        system_tokens: 0,
        requests: entries,
        totals: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;
    use serde_json::json;

    fn ts(s: f64) -> String {
        let t = chrono::DateTime::from_timestamp_micros((1_700_000_000.0 * 1e6 + s * 1e6) as i64)
            .unwrap();
        t.to_rfc3339()
    }

    /// A round submitted at `at` (a tool result) answered from `at + 1` to `at + api`.
    fn round(sid: &str, idx: u32, at: f64, api: f64, total: u64, prefix: u64, out: u64) -> Value {
        json!({
            "session_id": sid, "round_index": idx, "input_tokens_total": total,
            "prefix_tokens": prefix, "newly_append_tokens": total - prefix,
            "output_tokens": out, "model": "claude", "user": "u", "project": "p",
            "first_input_event_type": "tool_result",
            "timing_events": [
                {"event_type": "tool_result", "timestamp": ts(at)},
                {"event_type": "text", "timestamp": ts(at + 1.0)},
                {"event_type": "tool_call", "timestamp": ts(at + api)}
            ]
        })
    }

    fn with_tool(mut r: Value, name: &str, from: f64, to: f64) -> Value {
        r["tools"] = json!([{"tool_name": name, "emitted_at": ts(from), "result_at": ts(to),
                             "tool_wall_latency_ms": (to - from) * 1000.0}]);
        r
    }

    fn lines(rows: &[Value]) -> String {
        rows.iter().map(|r| r.to_string() + "\n").collect()
    }

    /// Parent "P" (rounds at 0, 10 and 60 s; the second spawns an Agent call from 12 s to
    /// 50 s), child "C" inside that window, and "Q" of another project (its own trace).
    #[test]
    fn sessions_hash_chains_and_recovered_subagents() {
        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let mut ctx = context(&t, &c);
        ctx.block_size = Some(16);
        let mut q = round("Q", 0, 20.0, 2.0, 20, 0, 5);
        q["project"] = json!("other");
        let rows = [
            round("P", 0, 0.0, 4.0, 40, 0, 10),
            with_tool(round("P", 1, 10.0, 2.0, 70, 40, 12), "Agent", 12.0, 50.0),
            round("C", 0, 15.0, 3.0, 35, 0, 4),
            q,
            // C itself spawns G (a grandchild): G stays a trace of its own.
            with_tool(round("C", 1, 30.0, 2.0, 50, 35, 6), "Task", 31.0, 45.0),
            round("G", 0, 33.0, 2.0, 16, 0, 1),
            // Listed before round 1 but submitted later: ordered by time.
            round("P", 2, 60.0, 1.0, 90, 80, 4),
        ];
        let convs = with_file("tl.jsonl", &lines(&rows), |p| load(p, &ctx)).unwrap();
        let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(ids, ["P", "Q", "G", "P::sa:C"]);
        let p = &convs[0];
        assert_eq!(p.turns.len(), 3);
        // Idle gaps: 10 - (0 + 4), 60 - (10 + 2).
        let d: Vec<Option<f64>> = p.turns.iter().map(|t| t.delay_ms).collect();
        assert_eq!(d, [None, Some(6000.0), Some(48000.0)]);
        let n: Vec<usize> = p
            .turns
            .iter()
            .map(|x| x.texts.iter().map(|s| t.count(s)).sum())
            .collect();
        assert_eq!(n, [40, 70, 90]);
        // Round 1 keeps 40/16 = 2 ids of round 0 and mints 2 (ids 1, 2 | 3, 4); round 2 keeps
        // min(80/16, 4) = 4 and mints 1: a prompt of 2 + 1 + 2 blocks then the new ones.
        let roles: Vec<Vec<String>> = p
            .turns
            .iter()
            .map(|x| {
                x.messages
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|m| m["role"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect();
        assert_eq!(roles[1], ["user", "assistant", "user"]);
        assert_eq!(roles[2], ["user", "assistant", "user", "assistant", "user"]);
        let b = &p.dag.as_ref().unwrap().branches;
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].id, "P:spawn:C");
        assert_eq!(b[0].children, ["P::sa:C"]);
        // Spawned after round 1 (the last at or before 12 s); its window ends at 50 s, so round
        // 2 (60 s) waits for it.
        assert_eq!(
            (b[0].after_turn, b[0].join_before, b[0].background),
            (Some(1), Some(2), false)
        );
        let child = &convs[3];
        // 15 - 12 s after the spawn, then 30 - (15 + 3) s.
        let d: Vec<Option<f64>> = child.turns.iter().map(|t| t.delay_ms).collect();
        assert_eq!(d, [Some(3000.0), Some(12000.0)]);
        let mt: Vec<Option<u32>> = child.turns.iter().map(|t| t.max_tokens).collect();
        assert_eq!(mt, [Some(4), Some(6)]);
        let n: Vec<usize> = child
            .turns
            .iter()
            .map(|x| x.texts.iter().map(|s| t.count(s)).sum())
            .collect();
        assert_eq!(n, [35, 50]);
        assert_eq!(convs[1].turns[0].timestamp_ms, Some(0.0));
    }

    #[test]
    fn detection_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tl.jsonl");
        std::fs::write(&p, lines(&[round("P", 0, 0.0, 4.0, 40, 0, 10)])).unwrap();
        assert!(can_load(&Probe::read(&p)));
        assert!(!can_load(&Probe::read(dir.path())));
        std::fs::write(&p, "{\"session_id\": \"x\", \"round_index\": 0}\n").unwrap();
        assert!(!can_load(&Probe::read(&p)));

        let t = TextTokenizer::builtin().unwrap();
        let c = Corpus::sonnets(&t);
        let ctx = context(&t, &c);
        let ok = round("P", 0, 0.0, 4.0, 40, 0, 10).to_string();
        let cases = [
            (format!("{ok}\n{{\"session_id\": \"P\", \"round_index\"\n"), "tl.jsonl:2: EOF while parsing an object"),
            (format!("{ok}\n{{\"session_id\": \"P\", \"timing_events\": [{{\"event_type\": \"text\", \"timestamp\": \"yesterday\"}}]}}\n"), "tl.jsonl:2: Invalid isoformat string: 'yesterday'"),
            (format!("{ok}\n{{\"session_id\": \"P\", \"input_tokens_total\": \"many\"}}\n"), "tl.jsonl:2: invalid type: string \"many\", expected f64"),
            ("{\"round_index\": 0}\n".to_string(), "tl.jsonl: no TraceLab sessions found: every row must carry a 'session_id'"),
        ];
        for (text, want) in cases {
            let e = with_file("tl.jsonl", &text, |p| load(p, &ctx)).unwrap_err();
            assert!(e.to_string().starts_with(want), "{e}");
        }
        assert_eq!(safe_id("claude:ab/cd  ef"), "claude_ab_cd_ef");
    }
}
