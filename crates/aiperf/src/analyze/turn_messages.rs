//! `aiperf analyze turn-messages`: one self-contained HTML page showing, per conversation and
//! turn, the input messages a run sent, read from its `--export-level raw` records
//! (`raw_records/*.jsonl` or `profile_export_raw.jsonl`, AIPerf 0.13's format: one JSON
//! object per request with `metadata` and the request body as `payload`).
//!
//! Grouping, ordering, limits and interning follow AIPerf's `analysis/turn_messages.py`. The
//! files are read twice, streaming: first the metadata only (which conversations and turns
//! are shown), then the messages of the shown turns only, so memory is bounded by the limits
//! and not by the run. The data is embedded as JSON (every `<`, `>`, `&` written as a `\u`
//! escape) and drawn by a small inline script with `textContent`, so no text from the run is
//! ever parsed as HTML.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};

/// The single raw file and the sharded folder AIPerf writes.
pub const RAW_FILE: &str = "profile_export_raw.jsonl";
pub const RAW_FOLDER: &str = "raw_records";
/// The default output name.
pub const OUT_FILE: &str = "turn_messages.html";

/// Limits (`-n`, `--max-turns`, `--content-cap`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub conversations: usize,
    pub turns: usize,
    pub content_cap: usize,
}

/// The raw files of `run_dir` (a directory, or a raw JSONL file itself), as AIPerf finds them.
pub fn find_raw(run_dir: &Path) -> Result<Vec<PathBuf>, String> {
    if run_dir.is_file() {
        return Ok(vec![run_dir.to_path_buf()]);
    }
    if !run_dir.exists() {
        return Err(format!("{}: no such file or directory", run_dir.display()));
    }
    let folder = run_dir.join(RAW_FOLDER);
    if let Ok(entries) = std::fs::read_dir(&folder) {
        let mut shards: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
            .collect();
        shards.sort();
        if !shards.is_empty() {
            return Ok(shards);
        }
    }
    let single = run_dir.join(RAW_FILE);
    if single.is_file() {
        return Ok(vec![single]);
    }
    Err(format!(
        "no raw records under {} (no {RAW_FILE} or {RAW_FOLDER}/*.jsonl); rerun aiperf profile with --export-level raw first",
        run_dir.display()
    ))
}

/// What the first pass keeps of one record.
#[derive(Debug, Clone, Default)]
struct Meta {
    conv: String,
    turn: Option<i64>,
    depth: i64,
    parent_corr: Option<String>,
    x_corr: Option<String>,
    model: Option<String>,
    max_tokens: Option<Value>,
    phase: Option<String>,
    cancelled: bool,
    error: bool,
    start_ns: i64,
}

#[derive(Deserialize)]
struct MetaLine {
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    payload: Option<PayloadMeta>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
struct PayloadMeta {
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    max_completion_tokens: Option<Value>,
    #[serde(default)]
    max_tokens: Option<Value>,
    #[serde(default)]
    messages: Option<Roles>,
}

/// The roles of a `messages` array, without keeping the bodies.
#[derive(Default)]
struct Roles(Vec<String>);

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Item {
            Msg {
                #[serde(default)]
                role: Option<Value>,
            },
            Other(serde::de::IgnoredAny),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum List {
            List(Vec<Item>),
            Other(serde::de::IgnoredAny),
        }
        Ok(match List::deserialize(d)? {
            List::List(items) => Roles(
                items
                    .into_iter()
                    .map(|i| match i {
                        Item::Msg {
                            role: Some(Value::String(r)),
                        } => r,
                        Item::Msg { role: Some(v) } => v.to_string(),
                        _ => "?".to_string(),
                    })
                    .collect(),
            ),
            List::Other(_) => Roles(Vec::new()),
        })
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    match &v[key] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

impl Meta {
    fn from_line(line: MetaLine) -> (Meta, Vec<String>) {
        let md = line
            .metadata
            .filter(Value::is_object)
            .unwrap_or(Value::Null);
        let pl = line.payload.unwrap_or_default();
        let max_tokens = [pl.max_completion_tokens, pl.max_tokens]
            .into_iter()
            .flatten()
            .find(truthy);
        let meta = Meta {
            conv: str_of(&md, "conversation_id").unwrap_or_else(|| "(none)".to_string()),
            turn: md["turn_index"].as_i64(),
            depth: md["agent_depth"].as_i64().unwrap_or(0),
            parent_corr: str_of(&md, "parent_correlation_id"),
            x_corr: str_of(&md, "x_correlation_id"),
            model: pl.model.and_then(|m| m.as_str().map(str::to_string)),
            max_tokens,
            phase: str_of(&md, "benchmark_phase"),
            cancelled: md["was_cancelled"].as_bool().unwrap_or(false),
            error: line.error.as_ref().is_some_and(truthy),
            start_ns: md["request_start_ns"].as_i64().unwrap_or(0),
        };
        (meta, pl.messages.unwrap_or_default().0)
    }
}

/// Python truthiness of a JSON value (AIPerf's `x or y`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Calls `f` with (record number over all files, parsed line) for every non-blank line;
/// a line that does not parse is an error naming `file:line`.
fn each_line<T: for<'de> Deserialize<'de>>(
    files: &[PathBuf],
    mut f: impl FnMut(usize, T),
) -> Result<(), String> {
    let mut index = 0;
    for path in files {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut reader = BufReader::new(file);
        let mut buf = String::new();
        for number in 1.. {
            buf.clear();
            let n = reader
                .read_line(&mut buf)
                .map_err(|e| format!("{}:{number}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            if buf.trim().is_empty() {
                continue;
            }
            let parsed: T = serde_json::from_str(buf.trim()).map_err(|e| {
                format!(
                    "{}:{number}: not a raw record (a JSON object): {e}",
                    path.display()
                )
            })?;
            f(index, parsed);
            index += 1;
        }
    }
    Ok(())
}

/// Which records are shown, in which conversation: (conversation key, record indices).
struct Selection {
    metas: Vec<Meta>,
    convs: Vec<(String, Vec<usize>)>,
    total_convs: usize,
    n_msgs: usize,
    roles: Vec<(String, usize)>,
}

fn select(metas: Vec<Meta>, limits: Limits) -> Selection {
    let replay = replay_numbers(&metas);
    let mut by_conv: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, m) in metas.iter().enumerate() {
        let key = match replay[i] {
            0 => m.conv.clone(),
            n => format!("{} \u{b7} replay {}", m.conv, n + 1),
        };
        by_conv.entry(key).or_default().push(i);
    }
    let mut order: Vec<(i64, i64, String)> = by_conv
        .iter()
        .map(|(k, v)| {
            let depth = v.iter().map(|&i| metas[i].depth).min().unwrap_or(0);
            let start = v.iter().map(|&i| metas[i].start_ns).min().unwrap_or(0);
            (depth, start, k.clone())
        })
        .collect();
    order.sort();
    let total_convs = order.len();
    let convs = order
        .into_iter()
        .take(limits.conversations)
        .map(|(_, _, k)| {
            let mut turns = by_conv.remove(&k).unwrap_or_default();
            turns.sort_by_key(|&i| (metas[i].turn.unwrap_or(0), metas[i].start_ns));
            (k, turns)
        })
        .collect();
    Selection {
        metas,
        convs,
        total_convs,
        n_msgs: 0,
        roles: Vec::new(),
    }
}

/// AIPerf's replay number of each record: the index of its `x_correlation_id` among its
/// conversation's lanes by first arrival, else how often its (conversation, turn) was seen.
fn replay_numbers(metas: &[Meta]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..metas.len()).collect();
    order.sort_by_key(|&i| metas[i].start_ns);
    let mut lanes: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
    let mut seen: HashMap<(&str, Option<i64>), usize> = HashMap::new();
    let mut out = vec![0; metas.len()];
    for i in order {
        let m = &metas[i];
        out[i] = match &m.x_corr {
            Some(x) => {
                let l = lanes.entry(&m.conv).or_default();
                let n = l.len();
                *l.entry(x).or_insert(n)
            }
            None => {
                let c = seen.entry((&m.conv, m.turn)).or_insert(0);
                *c += 1;
                *c - 1
            }
        };
    }
    out
}

/// `(role, body)` as AIPerf shows a message: plain string content as is, anything else as
/// JSON of the fields other than `role`.
pub fn display_message(m: &Value) -> (String, String) {
    let Value::Object(obj) = m else {
        return match m {
            Value::Null => ("?".into(), String::new()),
            Value::String(s) => ("?".into(), s.clone()),
            other => ("?".into(), other.to_string()),
        };
    };
    let role = match obj.get("role") {
        Some(Value::String(r)) => r.clone(),
        Some(other) => other.to_string(),
        None => "?".into(),
    };
    let rest: serde_json::Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| *k != "role")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let plain = rest.keys().all(|k| k == "content")
        && matches!(
            rest.get("content"),
            None | Some(Value::Null) | Some(Value::String(_))
        );
    if plain {
        let body = rest.get("content").and_then(Value::as_str).unwrap_or("");
        return (role, body.to_string());
    }
    (role, Value::Object(rest).to_string())
}

#[derive(Deserialize)]
struct MsgLine {
    #[serde(default)]
    payload: Option<MsgPayload>,
}

#[derive(Deserialize)]
struct MsgPayload {
    #[serde(default)]
    messages: Option<Value>,
}

/// Interned message bodies: each unique (role, body) once, cut at the content cap.
#[derive(Default)]
struct Table {
    ids: HashMap<(String, String), usize>,
    rows: Vec<Value>,
}

impl Table {
    fn intern(&mut self, role: String, body: String, cap: usize) -> usize {
        let next = self.rows.len();
        let key = (role, body);
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let chars = key.1.chars().count();
        let kept: String = key.1.chars().take(cap).collect();
        self.rows.push(json!({
            "role": key.0, "len": chars, "body": kept, "trunc": chars.saturating_sub(cap)
        }));
        self.ids.insert(key, next);
        next
    }
}

/// Reads the raw files and builds the viewer's data (AIPerf's `build_payload`).
pub fn build_payload(files: &[PathBuf], limits: Limits) -> Result<Value, String> {
    let mut metas = Vec::new();
    let mut role_counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut n_msgs = 0;
    each_line::<MetaLine>(files, |i, line| {
        let (meta, roles) = Meta::from_line(line);
        n_msgs += roles.len();
        for r in roles {
            let next = role_counts.len();
            role_counts.entry(r).or_insert((0, next)).0 += 1;
        }
        debug_assert_eq!(metas.len(), i);
        metas.push(meta);
    })?;
    if metas.is_empty() {
        return Err("no valid raw records".to_string());
    }
    let mut sel = select(metas, limits);
    sel.n_msgs = n_msgs;
    let mut roles: Vec<(String, (usize, usize))> = role_counts.into_iter().collect();
    roles.sort_by_key(|(_, (count, first))| (std::cmp::Reverse(*count), *first));
    sel.roles = roles.into_iter().map(|(r, (c, _))| (r, c)).collect();
    let wanted = shown_records(&sel, limits);
    let mut messages: HashMap<usize, Vec<Value>> = HashMap::new();
    each_line::<MsgLine>(files, |i, line| {
        if wanted.contains(&i) {
            let msgs = line.payload.and_then(|p| p.messages);
            let list = match msgs {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            messages.insert(i, list);
        }
    })?;
    Ok(assemble(&sel, &mut messages, files.len(), limits))
}

fn shown_records(sel: &Selection, limits: Limits) -> HashSet<usize> {
    sel.convs
        .iter()
        .flat_map(|(_, turns)| turns.iter().take(limits.turns).copied())
        .collect()
}

/// AIPerf's `_short` and `_disp_id`: ids shortened so their distinguishing part stays.
fn short(s: &str, n: usize) -> String {
    if s.is_empty() {
        "?".into()
    } else {
        s.chars().take(n).collect()
    }
}

fn disp_id(conv: &str) -> String {
    match conv.split_once("::") {
        Some((base, suffix)) => format!("{}\u{2026}::{suffix}", short(base, 10)),
        None => format!("{}\u{2026}", short(conv, 20)),
    }
}

fn assemble(
    sel: &Selection,
    messages: &mut HashMap<usize, Vec<Value>>,
    n_files: usize,
    limits: Limits,
) -> Value {
    let metas = &sel.metas;
    let corr2conv: HashMap<&str, &str> = metas
        .iter()
        .filter_map(|m| m.x_corr.as_deref().map(|x| (x, m.conv.as_str())))
        .collect();
    let mut table = Table::default();
    let mut convs = Vec::new();
    for (key, all_turns) in &sel.convs {
        let depth = all_turns.iter().map(|&i| metas[i].depth).min().unwrap_or(0);
        let parent = all_turns
            .iter()
            .find_map(|&i| metas[i].parent_corr.as_deref())
            .and_then(|p| corr2conv.get(p))
            .map(|c| disp_id(c));
        let models: std::collections::BTreeSet<&str> = all_turns
            .iter()
            .map(|&i| metas[i].model.as_deref().unwrap_or("?"))
            .collect();
        let turns = &all_turns[..all_turns.len().min(limits.turns)];
        let lane = turns.iter().find_map(|&i| metas[i].x_corr.as_deref());
        let (base, replay_tag) = key.split_once(" \u{b7} ").unwrap_or((key, ""));
        let turns_payload: Vec<Value> = turns
            .iter()
            .map(|&i| {
                let ids: Vec<usize> = messages
                    .remove(&i)
                    .unwrap_or_default()
                    .iter()
                    .map(|m| {
                        let (role, body) = display_message(m);
                        table.intern(role, body, limits.content_cap)
                    })
                    .collect();
                let m = &metas[i];
                json!({"ti": m.turn, "phase": m.phase, "maxTokens": m.max_tokens,
                       "cancelled": m.cancelled, "error": m.error, "ids": ids})
            })
            .collect();
        convs.push(json!({
            "id": base,
            "disp": disp_id(base),
            "kind": if depth == 0 { "root".to_string() } else { format!("subagent (depth {depth})") },
            "isRoot": depth == 0,
            "parent": parent,
            "lane": lane.map(|l| short(l, 8)),
            "models": models.into_iter().collect::<Vec<_>>().join(","),
            "nt": all_turns.len(),
            "moreTurns": all_turns.len() - turns.len(),
            "replayTag": replay_tag,
            "turns": turns_payload,
        }));
    }
    let stat = format!(
        "{} conversations ({} shown) \u{b7} {} turns \u{b7} {} message refs ({} unique) \u{b7} from {n_files} raw shard(s)",
        group(sel.total_convs),
        group(convs.len()),
        group(metas.len()),
        group(sel.n_msgs),
        group(table.rows.len()),
    );
    json!({"stat": stat, "legend": sel.roles, "msgs": table.rows, "convs": convs})
}

/// `s` safe as HTML text or attribute value.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `1234567` as `1,234,567` (Python's `{:,}`).
pub fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// JSON safe inside a `<script>` element: `<`, `>`, `&` and the JS line separators escaped.
pub fn script_json(v: &Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page: the viewer template with the data embedded.
pub fn html(payload: &Value) -> String {
    include_str!("turn_messages.html").replace("__PAYLOAD_JSON__", &script_json(payload))
}

/// Writes the viewer for `run_dir` to `out` (default `<run_dir>/turn_messages.html`, or beside
/// a raw file given directly); returns the path written.
pub fn write(run_dir: &Path, out: Option<&Path>, limits: Limits) -> Result<PathBuf, String> {
    let files = find_raw(run_dir)?;
    let payload = build_payload(&files, limits).map_err(|e| {
        if e == "no valid raw records" {
            format!("no valid raw records in {}", run_dir.display())
        } else {
            e
        }
    })?;
    let default_dir = if run_dir.is_file() {
        run_dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        run_dir.to_path_buf()
    };
    let path = out.map_or_else(|| default_dir.join(OUT_FILE), Path::to_path_buf);
    std::fs::write(&path, html(&payload))
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        conversations: 40,
        turns: 60,
        content_cap: 8000,
    };

    fn rec(conv: &str, corr: &str, turn: i64, start: i64, msgs: Value) -> String {
        json!({"metadata": {"conversation_id": conv, "x_correlation_id": corr, "turn_index": turn,
                            "request_start_ns": start, "agent_depth": 0, "benchmark_phase": "profiling"},
               "payload": {"model": "m", "max_tokens": 16, "messages": msgs}})
        .to_string()
    }

    fn raw(dir: &Path, lines: &[String]) -> Vec<PathBuf> {
        let p = dir.join(RAW_FILE);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        vec![p]
    }

    #[test]
    fn history_is_interned_and_turns_ordered() {
        let dir = tempfile::tempdir().unwrap();
        let u1 = json!({"role": "user", "content": "hi"});
        let a1 = json!({"role": "assistant", "content": "yo"});
        let u2 = json!({"role": "user", "content": "again"});
        let files = raw(
            dir.path(),
            &[
                rec("c1", "x1", 1, 20, json!([u1, a1, u2])),
                rec("c1", "x1", 0, 10, json!([u1])),
                rec(
                    "c2",
                    "x2",
                    0,
                    5,
                    json!([{"role": "user", "content": [{"type": "text", "text": "p"}]}]),
                ),
            ],
        );
        let p = build_payload(&files, LIMITS).unwrap();
        // c2 starts first; c1's turn 0 comes before turn 1 whatever the file order.
        assert_eq!(p["convs"][0]["id"], "c2");
        assert_eq!(p["convs"][1]["turns"][0]["ti"], 0);
        assert_eq!(p["convs"][1]["turns"][0]["ids"], json!([1]));
        assert_eq!(p["convs"][1]["turns"][1]["ids"], json!([1, 2, 3]));
        // 5 references, 4 unique bodies (structured content kept as JSON).
        assert_eq!(p["msgs"].as_array().unwrap().len(), 4);
        assert_eq!(
            p["msgs"][0]["body"],
            r#"{"content":[{"type":"text","text":"p"}]}"#
        );
        assert_eq!(
            p["stat"],
            "2 conversations (2 shown) \u{b7} 3 turns \u{b7} 5 message refs (4 unique) \u{b7} from 1 raw shard(s)"
        );
        assert_eq!(p["legend"], json!([["user", 4], ["assistant", 1]]));
    }

    #[test]
    fn limits_cut_conversations_turns_and_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(10);
        let lines: Vec<String> = (0..3)
            .flat_map(|c| {
                let long = long.clone();
                (0..4).map(move |t| {
                    rec(
                        &format!("c{c}"),
                        &format!("x{c}"),
                        t,
                        c * 100 + t,
                        json!([{"role": "user", "content": long}]),
                    )
                })
            })
            .collect();
        let files = raw(dir.path(), &lines);
        let limits = Limits {
            conversations: 2,
            turns: 3,
            content_cap: 4,
        };
        let p = build_payload(&files, limits).unwrap();
        assert_eq!(p["convs"].as_array().unwrap().len(), 2);
        assert_eq!(p["convs"][0]["turns"].as_array().unwrap().len(), 3);
        assert_eq!(p["convs"][0]["moreTurns"], 1);
        assert_eq!(p["convs"][0]["nt"], 4);
        assert_eq!(
            p["msgs"][0],
            json!({"role": "user", "len": 10, "body": "xxxx", "trunc": 6})
        );
    }

    #[test]
    fn a_conversation_replayed_by_two_sessions_is_shown_twice() {
        let dir = tempfile::tempdir().unwrap();
        let m = json!([{"role": "user", "content": "q"}]);
        let files = raw(
            dir.path(),
            &[rec("c", "a", 0, 1, m.clone()), rec("c", "b", 0, 2, m)],
        );
        let p = build_payload(&files, LIMITS).unwrap();
        assert_eq!(p["convs"][1]["id"], "c");
        assert_eq!(p["convs"][1]["replayTag"], "replay 2");
    }

    #[test]
    fn missing_raw_file_tells_to_rerun_with_export_level_raw() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_raw(dir.path()).unwrap_err();
        assert!(err.contains("--export-level raw"), "{err}");
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let files = raw(
            dir.path(),
            &[rec("c", "a", 0, 1, json!([])), "{oops".into()],
        );
        let err = build_payload(&files, LIMITS).unwrap_err();
        assert!(
            err.starts_with(&format!("{}:2: ", files[0].display())),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn embedded_json_cannot_close_the_script() {
        let v = json!({"body": "</script><script>alert(1)</script>&\u{2028}"});
        let s = script_json(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(
            escape_html("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert_eq!(
            disp_id("abcdefghijklmnop::sa:1"),
            "abcdefghij\u{2026}::sa:1"
        );
    }
}
