//! `dag_jsonl`: agent graphs, one conversation per line (AIPerf's `DagJsonlLoader`).
//! `{"session_id": "lead", "turns": [{"messages": [{"role": "user", "content": "plan"}],
//!   "spawns": ["worker"]}, {"messages": [{"role": "user", "content": "merge"}]}]}`
//!
//! Every turn sends its authored `messages` (appended to the session's history, live replies
//! included) plus `model`, `max_tokens`, `tools` and the `extra` body fields. After a turn
//! answered, its `forks` start children that continue the parent's messages (the parent ends
//! there unless the fork entry says `"background": true`), and its `spawns` start children with
//! a fresh history that the next turn (or the object entry's `join_at` turn) waits for.
//! `pre_session_spawns` start before a root's first turn. Conversations no branch starts are the
//! roots; only they are sampled as sessions.
//!
//! Branch ids, defaults and every check follow AIPerf 0.13 (turns are numbered from 0, as
//! there), and each problem is reported at the line of the conversation it concerns. What
//! AIPerf accepts but this build cannot replay (`orchestrator` spines, two context modes) is
//! refused by name rather than run differently.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aiperf_core::{Branch, BranchMode, Conversation, Dag, Turn};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::raw_payload::python_type;
use super::{for_each_line, LoadContext, LoadError, Probe};

/// The keys of a conversation line (AIPerf's `DagConversation`, `extra="forbid"`).
const CONVERSATION_KEYS: &[&str] = &[
    "session_id",
    "turns",
    "orchestrator",
    "spawns",
    "think_time_ms",
    "think_time_sigma",
    "think_time_min_ms",
    "think_time_max_ms",
    "rounds",
    "context_mode",
    "pre_session_spawns",
];

/// The keys of a turn (AIPerf's `DagTurn`); every other request field goes in `extra`.
const TURN_KEYS: &[&str] = &[
    "messages",
    "model",
    "max_tokens",
    "tools",
    "extra",
    "forks",
    "spawns",
    "delay",
];

const FORK_KEYS: &[&str] = &["child", "background"];
const SPAWN_KEYS: &[&str] = &["children", "join_at"];
const ROUND_KEYS: &[&str] = &["spawns", "think_time_ms"];

/// AIPerf's `ConversationContextMode` values (matched case-insensitively, as there).
const CONTEXT_MODES: &[&str] = &[
    "deltas_without_responses",
    "deltas_with_responses",
    "message_array_with_responses",
    "message_array_without_responses",
];

/// The default mode: turns accumulate, live replies included (a plain conversation here).
const DELTAS_WITHOUT_RESPONSES: &str = "deltas_without_responses";
/// Payload isolation: each turn is sent alone (`Conversation::independent_turns`).
const MESSAGE_ARRAY_WITH_RESPONSES: &str = "message_array_with_responses";

/// A JSON object taken field by field, so that every type error names its field.
struct Fields(Map<String, Value>);

impl Fields {
    /// `v` as an object of `what` whose keys are all in `allowed`.
    fn new(v: Value, what: &str, allowed: &[&str], hint: &str) -> Result<Self, String> {
        let Value::Object(map) = v else {
            return Err(format!(
                "{what} must be a JSON object, got {}",
                python_type(&v)
            ));
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "unknown field '{k}' in {what} (allowed: {}){hint}",
                allowed.join(", ")
            ));
        }
        Ok(Self(map))
    }

    /// A field that may be absent but not `null` (a pydantic field with a default).
    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, String> {
        self.0
            .remove(key)
            .map(|v| serde_json::from_value(v).map_err(|e| format!("'{key}': {e}")))
            .transpose()
    }

    /// A field that may be absent or `null` (an `Optional` pydantic field).
    fn opt<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, String> {
        Ok(self.get::<Option<T>>(key)?.flatten())
    }

    /// An optional number that must be >= `min` (`gt`: strictly greater).
    fn number(&mut self, key: &str, min: f64, gt: bool) -> Result<Option<f64>, String> {
        let v = self.opt::<f64>(key)?;
        match v {
            Some(x) if gt && x <= min => Err(format!("'{key}' must be > {min}, got {x}")),
            Some(x) if !gt && x < min => Err(format!("'{key}' must be >= {min}, got {x}")),
            _ => Ok(v),
        }
    }
}

/// One `forks` entry: `"<sid>"` or `{"child": "<sid>", "background": true}`.
#[derive(Debug, Clone)]
struct ForkEntry {
    child: String,
    background: bool,
}

/// One `spawns` entry: a bare id, or `{"children": [...], "join_at": k}`.
#[derive(Debug, Clone)]
enum SpawnEntry {
    Bare(String),
    Group(Vec<String>, Option<i64>),
}

/// One turn of a line, checked.
#[derive(Debug)]
struct DagTurn {
    messages: Vec<Value>,
    model: Option<String>,
    max_tokens: Option<u32>,
    tools: Option<Value>,
    extra: Option<Map<String, Value>>,
    forks: Vec<ForkEntry>,
    spawns: Vec<SpawnEntry>,
    delay: f64,
}

/// One conversation line, checked on its own (graph checks come once the file is read).
#[derive(Debug)]
struct Parsed {
    line: usize,
    sid: String,
    turns: Vec<DagTurn>,
    /// `context_mode: message_array_with_responses`.
    isolated: bool,
    pre: Vec<String>,
}

/// AIPerf's `can_load`: a first record with a string `session_id` and a non-empty `turns` list
/// of objects, one of which (before any non-object) has a `messages` list, `forks` or `spawns`.
pub fn can_load(probe: &Probe) -> bool {
    let Some(Value::Object(o)) = &probe.first else {
        return false;
    };
    if !o.get("session_id").is_some_and(Value::is_string) {
        return false;
    }
    let Some(Value::Array(turns)) = o.get("turns") else {
        return false;
    };
    for t in turns {
        let Value::Object(t) = t else {
            return false;
        };
        if t.get("messages").is_some_and(Value::is_array)
            || t.contains_key("forks")
            || t.contains_key("spawns")
        {
            return true;
        }
    }
    false
}

pub fn load(path: &Path, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    let mut parsed: Vec<Parsed> = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for_each_line(path, |line, v: Value| {
        let p = parse_line(line, v)?;
        if let Some(first) = first_line.get(&p.sid) {
            return Err(format!(
                "duplicate session_id '{}' (first on line {first})",
                p.sid
            ));
        }
        first_line.insert(p.sid.clone(), line);
        parsed.push(p);
        Ok(())
    })?;
    if parsed.is_empty() {
        return Err(LoadError::file(
            path,
            "no conversations in file; supply at least one conversation line",
        ));
    }
    let graph = Graph::build(&parsed).map_err(|(line, reason)| LoadError::Line {
        path: path.display().to_string(),
        line,
        reason,
    })?;
    Ok(graph.into_conversations(parsed, ctx.replay.inter_turn_delay_cap_ms))
}

/// One line checked as AIPerf's pydantic models check it (fields in declaration order, then
/// the model rules), plus what this build refuses.
fn parse_line(line: usize, v: Value) -> Result<Parsed, String> {
    let mut f = Fields::new(v, "a DAG conversation", CONVERSATION_KEYS, "")?;
    let sid: String = f.get("session_id")?.ok_or("'session_id' is required")?;
    if sid.is_empty() {
        return Err("'session_id' must not be empty".into());
    }
    let at = |e: String| format!("session '{sid}': {e}");
    let turn_values: Vec<Value> = f.get("turns").map_err(at)?.unwrap_or_default();
    let turns = turn_values
        .into_iter()
        .enumerate()
        .map(|(i, t)| parse_turn(t).map_err(|e| format!("session '{sid}' turn {i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let orchestrator: bool = f.get("orchestrator").map_err(at)?.unwrap_or(false);
    let spawns: Vec<String> = f.get("spawns").map_err(at)?.unwrap_or_default();
    let think_ms = f.number("think_time_ms", 0.0, false).map_err(at)?;
    let sigma = f.number("think_time_sigma", 0.0, true).map_err(at)?;
    if let Some(s) = sigma.filter(|s| *s > 10.0) {
        return Err(at(format!("'think_time_sigma' must be <= 10, got {s}")));
    }
    let min_ms = f.number("think_time_min_ms", 0.0, false).map_err(at)?;
    let max_ms = f.number("think_time_max_ms", 0.0, false).map_err(at)?;
    let rounds = parse_rounds(f.opt::<Value>("rounds").map_err(at)?).map_err(at)?;
    let mode = match f.opt::<String>("context_mode").map_err(at)? {
        None => DELTAS_WITHOUT_RESPONSES.to_string(),
        Some(m) => CONTEXT_MODES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&m))
            .map(|k| k.to_string())
            .ok_or_else(|| {
                at(format!(
                    "'context_mode' must be one of {}, got '{m}'",
                    CONTEXT_MODES.join(", ")
                ))
            })?,
    };
    let pre: Vec<String> = f.get("pre_session_spawns").map_err(at)?.unwrap_or_default();

    let c = LineRules {
        turns: turns.len(),
        orchestrator,
        spawns: &spawns,
        rounds: &rounds,
        pre: &pre,
        think_ms,
        sigma,
        min_ms,
        max_ms,
    };
    c.check_orchestrator().map_err(at)?;
    c.check_think_time().map_err(at)?;

    let mut seen = HashSet::new();
    if let Some(dup) = pre.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(at(format!(
            "duplicate child_conversation_id '{dup}' in pre_session_spawns"
        )));
    }
    if orchestrator {
        return Err(at(
            "'orchestrator' conversations (request-less turns that only fire 'spawns' or \
             'rounds', paced by 'think_time_*') are not supported by this build; give the \
             conversation real turns whose 'spawns' start the children"
                .into(),
        ));
    }
    if mode != DELTAS_WITHOUT_RESPONSES && mode != MESSAGE_ARRAY_WITH_RESPONSES {
        return Err(at(format!(
            "context_mode '{mode}' is not supported by this build (only \
             '{DELTAS_WITHOUT_RESPONSES}' and '{MESSAGE_ARRAY_WITH_RESPONSES}')"
        )));
    }
    Ok(Parsed {
        line,
        sid,
        turns,
        isolated: mode == MESSAGE_ARRAY_WITH_RESPONSES,
        pre,
    })
}

/// `rounds`: an int (repeat the shared `spawns`) or a list of `{"spawns", "think_time_ms"}`.
#[derive(Debug)]
enum Rounds {
    Count(i64),
    List(Vec<Vec<String>>),
}

fn parse_rounds(v: Option<Value>) -> Result<Option<Rounds>, String> {
    let bad = |v: &Value| {
        format!(
            "'rounds' must be an integer or a list of rounds, got {}",
            python_type(v)
        )
    };
    match v {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|n| Some(Rounds::Count(n)))
            .ok_or_else(|| bad(&Value::Number(n.clone()))),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (k, r) in items.into_iter().enumerate() {
                let at = |e: String| format!("'rounds'[{k}]: {e}");
                let mut f = Fields::new(r, "a round", ROUND_KEYS, "").map_err(at)?;
                let spawns: Vec<String> = f
                    .get("spawns")
                    .map_err(at)?
                    .ok_or_else(|| at("'spawns' is required".into()))?;
                if spawns.is_empty() {
                    return Err(at("'spawns' must list at least one session id".into()));
                }
                f.number("think_time_ms", 0.0, false).map_err(at)?;
                out.push(spawns);
            }
            Ok(Some(Rounds::List(out)))
        }
        Some(other) => Err(bad(&other)),
    }
}

/// The fields AIPerf's `DagConversation` model validators look at.
struct LineRules<'a> {
    turns: usize,
    orchestrator: bool,
    spawns: &'a [String],
    rounds: &'a Option<Rounds>,
    pre: &'a [String],
    think_ms: Option<f64>,
    sigma: Option<f64>,
    min_ms: Option<f64>,
    max_ms: Option<f64>,
}

impl LineRules<'_> {
    /// AIPerf's `_validate_orchestrator`.
    fn check_orchestrator(&self) -> Result<(), String> {
        if !self.orchestrator {
            if self.rounds.is_some() {
                return Err(
                    "'rounds' is only valid on an orchestrator conversation (set \
                            'orchestrator': true)"
                        .into(),
                );
            }
            if !self.spawns.is_empty() {
                return Err(
                    "conversation-level 'spawns' is only valid on an orchestrator \
                            conversation; a normal conversation uses per-turn 'spawns'"
                        .into(),
                );
            }
            if self.turns == 0 {
                return Err("'turns' must be non-empty unless 'orchestrator' is true".into());
            }
            return Ok(());
        }
        if self.turns > 0 {
            return Err(
                "orchestrator conversation must have an empty authored 'turns' list \
                        (the loader synthesizes its single no-op turn)"
                    .into(),
            );
        }
        match self.rounds {
            Some(Rounds::List(rounds)) => {
                if rounds.is_empty() {
                    return Err("orchestrator 'rounds' list must be non-empty".into());
                }
                if !self.spawns.is_empty() {
                    return Err("with a per-round 'rounds' list, omit conversation-level \
                                'spawns' (each round declares its own 'spawns')"
                        .into());
                }
                let mut seen = HashSet::new();
                for child in rounds.iter().flatten() {
                    if !seen.insert(child) {
                        return Err(format!(
                            "child session id '{child}' is spawned by more than one round; \
                             each list-form round must own distinct branch sessions"
                        ));
                    }
                }
            }
            Some(Rounds::Count(n)) if *n < 1 => {
                return Err("'rounds' count must be >= 1".into());
            }
            _ if self.spawns.is_empty() => {
                return Err(
                    "orchestrator conversation requires a non-empty 'spawns' (or a \
                            per-round 'rounds' list)"
                        .into(),
                );
            }
            _ => {}
        }
        if !self.pre.is_empty() {
            return Err(
                "orchestrator conversation must not set 'pre_session_spawns'; use \
                        conversation-level 'spawns' instead"
                    .into(),
            );
        }
        Ok(())
    }

    /// AIPerf's `_validate_think_time`.
    fn check_think_time(&self) -> Result<(), String> {
        let sampled = self.sigma.is_some() || self.min_ms.is_some() || self.max_ms.is_some();
        if !self.orchestrator {
            if self.think_ms.is_some() || sampled {
                return Err("'think_time_ms'/'think_time_sigma'/'think_time_min_ms'/\
                            'think_time_max_ms' are only valid on an orchestrator \
                            conversation with 'rounds' set"
                    .into());
            }
            return Ok(());
        }
        if self.think_ms.is_some() && self.rounds.is_none() {
            return Err(
                "'think_time_ms' requires 'rounds' (it is the per-round wait of the \
                        gated spine)"
                    .into(),
            );
        }
        if self.sigma.is_some() && self.think_ms.is_none() {
            return Err(
                "'think_time_sigma' requires 'think_time_ms' (the lognormal median \
                        to sample around)"
                    .into(),
            );
        }
        if (self.min_ms.is_some() || self.max_ms.is_some()) && self.sigma.is_none() {
            return Err(
                "'think_time_min_ms'/'think_time_max_ms' require 'think_time_sigma' \
                        (they clamp the sampled draw)"
                    .into(),
            );
        }
        if let (Some(lo), Some(hi)) = (self.min_ms, self.max_ms) {
            if lo > hi {
                return Err(format!(
                    "'think_time_min_ms' must be <= 'think_time_max_ms' (got {lo} > {hi})"
                ));
            }
        }
        Ok(())
    }
}

/// One turn, checked as AIPerf's `DagTurn` (fields in order, then the `messages` shape).
fn parse_turn(v: Value) -> Result<DagTurn, String> {
    let hint = "; other request fields (temperature, top_p, ...) go in 'extra'";
    let mut f = Fields::new(v, "a turn", TURN_KEYS, hint)?;
    let messages: Vec<Value> = f.get("messages")?.ok_or("'messages' is required")?;
    if let Some((i, m)) = messages.iter().enumerate().find(|(_, m)| !m.is_object()) {
        return Err(format!(
            "'messages'[{i}] must be an object, got {}",
            python_type(m)
        ));
    }
    let model = f.opt::<String>("model")?;
    let max_tokens = max_tokens(f.opt::<Value>("max_tokens")?)?;
    let tools = f
        .opt::<Vec<Map<String, Value>>>("tools")?
        .map(|t| Value::Array(t.into_iter().map(Value::Object).collect()));
    let extra = f.opt::<Map<String, Value>>("extra")?;
    let forks = f
        .get::<Vec<Value>>("forks")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, e)| fork_entry(e).map_err(|e| format!("'forks'[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let spawns = f
        .get::<Vec<Value>>("spawns")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, e)| spawn_entry(e).map_err(|e| format!("'spawns'[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let delay = f.get::<f64>("delay")?.unwrap_or(0.0);
    if delay < 0.0 {
        return Err(format!("'delay' must be >= 0 (ms), got {delay}"));
    }
    // AIPerf's `validate_chat_messages`.
    if messages.is_empty() {
        return Err("'messages' must be a non-empty list".into());
    }
    if let Some(i) = messages.iter().position(|m| m.get("role").is_none()) {
        return Err(format!(
            "each message must have a 'role' key, but message at index {i} does not"
        ));
    }
    Ok(DagTurn {
        messages,
        model,
        max_tokens,
        tools,
        extra,
        forks,
        spawns,
        delay,
    })
}

/// `max_tokens`: an integer >= 1 (a whole float is an integer, as in pydantic; a boolean is
/// not, as AIPerf adds).
fn max_tokens(v: Option<Value>) -> Result<Option<u32>, String> {
    let Some(v) = v else {
        return Ok(None);
    };
    let n = match &v {
        Value::Bool(b) => {
            return Err(format!(
                "'max_tokens' must be an integer, not a boolean (got {b})"
            ))
        }
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| format!("'max_tokens' must be an integer, got {n}"))?,
        other => {
            return Err(format!(
                "'max_tokens' must be an integer, got {}",
                python_type(other)
            ))
        }
    };
    if n < 1 {
        return Err(format!("'max_tokens' must be >= 1, got {n}"));
    }
    u32::try_from(n)
        .map(Some)
        .map_err(|_| format!("'max_tokens' must be at most {}, got {n}", u32::MAX))
}

fn fork_entry(v: Value) -> Result<ForkEntry, String> {
    let child = match v {
        Value::String(child) => ForkEntry {
            child,
            background: false,
        },
        Value::Object(_) => {
            let mut f = Fields::new(v, "a fork entry", FORK_KEYS, "")?;
            let child: String = f.get("child")?.ok_or("'child' is required")?;
            let background = f.get("background")?.unwrap_or(false);
            ForkEntry { child, background }
        }
        other => {
            return Err(format!(
                "a fork entry is a session id or {{\"child\": ..., \"background\": ...}}, got {}",
                python_type(&other)
            ))
        }
    };
    if child.child.is_empty() {
        return Err("the fork child session id must not be empty".into());
    }
    Ok(child)
}

fn spawn_entry(v: Value) -> Result<SpawnEntry, String> {
    match v {
        Value::String(child) => Ok(SpawnEntry::Bare(child)),
        Value::Object(_) => {
            let mut f = Fields::new(v, "a spawn entry", SPAWN_KEYS, "")?;
            let children: Vec<String> = f.get("children")?.ok_or("'children' is required")?;
            if children.is_empty() {
                return Err("'children' must list at least one session id".into());
            }
            Ok(SpawnEntry::Group(children, f.opt::<i64>("join_at")?))
        }
        other => Err(format!(
            "a spawn entry is a session id or {{\"children\": [...], \"join_at\": ...}}, got {}",
            python_type(&other)
        )),
    }
}

/// AIPerf's `group_spawn_entries`: consecutive bare ids form one group that joins on the next
/// turn; each object entry is a group of its own with its `join_at`.
fn spawn_groups(entries: &[SpawnEntry]) -> Vec<(Vec<String>, Option<i64>)> {
    let mut groups = Vec::new();
    let mut bare: Vec<String> = Vec::new();
    for e in entries {
        match e {
            SpawnEntry::Bare(s) => bare.push(s.clone()),
            SpawnEntry::Group(children, join_at) => {
                if !bare.is_empty() {
                    groups.push((std::mem::take(&mut bare), None));
                }
                groups.push((children.clone(), *join_at));
            }
        }
    }
    if !bare.is_empty() {
        groups.push((bare, None));
    }
    groups
}

/// AIPerf's `check_branch_duplicates`: a child listed twice on one turn would start twice.
fn check_duplicates(
    forks: &[ForkEntry],
    groups: &[(Vec<String>, Option<i64>)],
) -> Result<(), String> {
    let mut seen = HashSet::new();
    if let Some(f) = forks.iter().find(|f| !seen.insert(f.child.as_str())) {
        return Err(format!(
            "duplicate child_conversation_id '{}' in fork entries",
            f.child
        ));
    }
    let mut across: HashSet<&str> = HashSet::new();
    for (children, _) in groups {
        let mut group = HashSet::new();
        if let Some(c) = children.iter().find(|c| !group.insert(c.as_str())) {
            return Err(format!(
                "duplicate child_conversation_id '{c}' in spawn group"
            ));
        }
        if let Some(dup) = group.iter().filter(|c| across.contains(*c)).min() {
            return Err(format!(
                "duplicate child_conversation_id '{dup}' across spawn groups"
            ));
        }
        across.extend(group);
    }
    Ok(())
}

/// AIPerf's `_desugar_forks`: the branches of one conversation, with AIPerf's ids.
fn desugar(c: &Parsed) -> Result<Vec<Branch>, String> {
    let sid = &c.sid;
    let n = c.turns.len();
    let mut out = Vec::new();
    if !c.pre.is_empty() {
        // Fire-and-forget: there is no parent turn yet to wait on them.
        out.push(Branch {
            id: format!("{sid}:pre"),
            after_turn: None,
            mode: BranchMode::Spawn,
            children: c.pre.clone(),
            background: true,
            join_before: None,
        });
    }
    for (idx, t) in c.turns.iter().enumerate() {
        let groups = spawn_groups(&t.spawns);
        if t.forks.is_empty() && groups.is_empty() {
            continue;
        }
        let at = |e: String| format!("session '{sid}' turn {idx}: {e}");
        check_duplicates(&t.forks, &groups).map_err(at)?;
        let children = |bg: bool| -> Vec<String> {
            t.forks
                .iter()
                .filter(|f| f.background == bg)
                .map(|f| f.child.clone())
                .collect()
        };
        let (fg, bg) = (children(false), children(true));
        let mixed = !t.forks.is_empty() && !groups.is_empty();
        let suffix_forks = mixed || (!fg.is_empty() && !bg.is_empty());
        for (background, children) in [(false, fg), (true, bg)] {
            if children.is_empty() {
                continue;
            }
            let id = match (suffix_forks, background) {
                (false, _) => format!("{sid}:{idx}"),
                (true, false) => format!("{sid}:{idx}:fork"),
                (true, true) => format!("{sid}:{idx}:bg_fork"),
            };
            out.push(Branch {
                id,
                after_turn: Some(idx),
                mode: BranchMode::Fork,
                children,
                background,
                join_before: None,
            });
        }
        let many = mixed || groups.len() > 1;
        for (g, (children, join_at)) in groups.into_iter().enumerate() {
            let id = match (many, g) {
                (false, _) => format!("{sid}:{idx}"),
                (true, 0) => format!("{sid}:{idx}:spawn"),
                (true, g) => format!("{sid}:{idx}:spawn{g}"),
            };
            let join = match join_at {
                None => idx + 1,
                Some(j) if j <= idx as i64 => {
                    return Err(at(format!(
                        "spawn join_at={j} must be strictly greater than the spawning turn index"
                    )))
                }
                Some(j) if j >= n as i64 => {
                    return Err(at(format!(
                        "spawn join_at={j} is out of range (conversation has {n} turns)"
                    )))
                }
                Some(j) => j as usize,
            };
            out.push(Branch {
                id,
                after_turn: Some(idx),
                mode: BranchMode::Spawn,
                children,
                background: false,
                // A spawn on the last turn has no turn to join on: nothing waits for it.
                join_before: (join < n).then_some(join),
            });
        }
    }
    Ok(out)
}

/// Where a branch fires, for messages.
fn site(b: &Branch) -> String {
    match b.after_turn {
        Some(t) => format!("turn {t}"),
        None => "pre_session_spawns".into(),
    }
}

/// The file's branches, checked as a graph.
struct Graph {
    branches: Vec<Vec<Branch>>,
    roots: Vec<bool>,
    /// FORK parent of a conversation: (parent index, branching turn).
    fork_parent: HashMap<usize, (usize, usize)>,
}

impl Graph {
    /// AIPerf's `_desugar_forks`, `_resolve_and_validate` and `validate_for_orchestrator_v1`,
    /// in that order; an error is `(line, reason)`.
    fn build(convs: &[Parsed]) -> Result<Self, (usize, String)> {
        let index: HashMap<&str, usize> = convs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.sid.as_str(), i))
            .collect();
        let branches = convs
            .iter()
            .map(|c| desugar(c).map_err(|e| (c.line, e)))
            .collect::<Result<Vec<_>, _>>()?;

        // Every child exists; a fork child has a single parent.
        let mut fork_parent: HashMap<usize, (usize, usize)> = HashMap::new();
        for (i, c) in convs.iter().enumerate() {
            for b in &branches[i] {
                for child in &b.children {
                    let Some(&ci) = index.get(child.as_str()) else {
                        let mut known: Vec<&str> = index.keys().copied().collect();
                        known.sort_unstable();
                        known.truncate(10);
                        let known: Vec<String> = known.iter().map(|k| format!("'{k}'")).collect();
                        return Err((
                            c.line,
                            format!(
                                "session '{}' {}: branch target '{child}' not declared. Known \
                                 sessions: [{}]",
                                c.sid,
                                site(b),
                                known.join(", ")
                            ),
                        ));
                    };
                    if b.mode != BranchMode::Fork {
                        continue;
                    }
                    let turn = b.after_turn.unwrap_or(0);
                    if let Some(&(p, pt)) = fork_parent.get(&ci) {
                        return Err((
                            c.line,
                            format!(
                                "session '{child}' forked by both '{}' turn {pt} and '{}' turn \
                                 {turn}; FORK-mode children require a single parent",
                                convs[p].sid, c.sid
                            ),
                        ));
                    }
                    fork_parent.insert(ci, (i, turn));
                }
            }
        }

        // A foreground fork ends its parent, so it must be on the last turn.
        for (i, c) in convs.iter().enumerate() {
            let last = c.turns.len().saturating_sub(1);
            if let Some(b) = branches[i]
                .iter()
                .find(|b| b.mode == BranchMode::Fork && !b.background && b.after_turn != Some(last))
            {
                return Err((
                    c.line,
                    format!(
                        "session '{}' {} has foreground FORK branches but is not the last turn \
                         and no join is declared (use {{\"child\": ..., \"background\": true}} \
                         on the fork entry to keep the parent running, or move the forks to the \
                         final turn)",
                        c.sid,
                        site(b)
                    ),
                ));
            }
        }

        // Pre-session children start with nothing to inherit.
        for c in convs {
            if let Some(child) = c.pre.iter().find(|ch| {
                index
                    .get(ch.as_str())
                    .is_some_and(|ci| fork_parent.contains_key(ci))
            }) {
                return Err((
                    c.line,
                    format!(
                        "session '{child}' is referenced by '{}' pre_session_spawns but is also \
                         a FORK target; pre-session children must be SPAWN-mode (no parent \
                         context to inherit)",
                        c.sid
                    ),
                ));
            }
        }

        for (i, c) in convs.iter().enumerate() {
            check_system_messages(c, fork_parent.contains_key(&i)).map_err(|e| (c.line, e))?;
        }

        // A fork child continues its parent's history, which payload isolation would drop.
        for (i, _) in convs.iter().enumerate() {
            for b in branches[i].iter().filter(|b| b.mode == BranchMode::Fork) {
                for child in &b.children {
                    let Some(cc) = index.get(child.as_str()).map(|&ci| &convs[ci]) else {
                        continue;
                    };
                    if cc.isolated {
                        return Err((
                            cc.line,
                            format!(
                                "session '{child}' is a FORK target with context_mode \
                                 '{MESSAGE_ARRAY_WITH_RESPONSES}'; payload isolation drops the \
                                 inherited parent context and is only valid on fresh-context \
                                 SPAWN branches"
                            ),
                        ));
                    }
                }
            }
        }

        // No cycles: a branch that (indirectly) starts its own conversation never ends.
        let edges: Vec<Vec<usize>> = branches
            .iter()
            .map(|bs| {
                bs.iter()
                    .flat_map(|b| {
                        b.children
                            .iter()
                            .filter_map(|c| index.get(c.as_str()).copied())
                    })
                    .collect()
            })
            .collect();
        if let Some(cycle) = find_cycle(&edges) {
            let closing = cycle[cycle.len().saturating_sub(2)];
            let names: Vec<&str> = cycle.iter().map(|&i| convs[i].sid.as_str()).collect();
            return Err((
                convs[closing].line,
                format!("cycle detected: {}", names.join(" -> ")),
            ));
        }

        let mut roots = vec![true; convs.len()];
        for e in edges.iter().flatten() {
            roots[*e] = false;
        }
        // Pre-session children start before any session of the parent exists, so only a root
        // (sampled as a session of its own) may declare them.
        for (i, c) in convs.iter().enumerate() {
            if !c.pre.is_empty() && !roots[i] {
                return Err((
                    c.line,
                    format!(
                        "session '{}': pre_session_spawns require a root conversation, but \
                         '{}' is started by another conversation's branch",
                        c.sid, c.sid
                    ),
                ));
            }
        }

        // AIPerf fails such a session when it starts (`FORK-mode branches are incompatible
        // with context_mode=...`); here it fails before the run.
        for (i, c) in convs.iter().enumerate() {
            if !c.isolated {
                continue;
            }
            if let Some(b) = branches[i].iter().find(|b| b.mode == BranchMode::Fork) {
                return Err((
                    c.line,
                    format!(
                        "session '{}' {}: forks are incompatible with context_mode \
                         '{MESSAGE_ARRAY_WITH_RESPONSES}' (a fork child continues the parent's \
                         accumulated history, which this mode does not keep); use spawns",
                        c.sid,
                        site(b)
                    ),
                ));
            }
        }

        Ok(Self {
            branches,
            roots,
            fork_parent,
        })
    }

    /// The tools each turn sends: AIPerf sends the latest `tools` of the turns in the request's
    /// history, so a turn without `tools` repeats an earlier turn's and a fork child inherits
    /// its parent's (an isolated turn has only itself as history).
    fn tools(&self, convs: &[Parsed]) -> Vec<Vec<Option<Value>>> {
        let mut done: Vec<Option<Vec<Option<Value>>>> = vec![None; convs.len()];
        for start in 0..convs.len() {
            // Resolve fork parents first (acyclic: checked).
            let mut chain = vec![start];
            while let Some(&(p, _)) = chain.last().and_then(|c| self.fork_parent.get(c)) {
                if done[p].is_some() || chain.contains(&p) {
                    break;
                }
                chain.push(p);
            }
            for &c in chain.iter().rev() {
                if done[c].is_some() {
                    continue;
                }
                let mut latest = self
                    .fork_parent
                    .get(&c)
                    .and_then(|&(p, t)| done[p].as_ref().and_then(|ts| ts.get(t).cloned()))
                    .flatten();
                let per_turn = convs[c]
                    .turns
                    .iter()
                    .map(|t| {
                        if convs[c].isolated {
                            return t.tools.clone();
                        }
                        if t.tools.is_some() {
                            latest = t.tools.clone();
                        }
                        latest.clone()
                    })
                    .collect();
                done[c] = Some(per_turn);
            }
        }
        done.into_iter().map(Option::unwrap_or_default).collect()
    }

    fn into_conversations(
        self,
        convs: Vec<Parsed>,
        delay_cap_ms: Option<f64>,
    ) -> Vec<Conversation> {
        let tools = self.tools(&convs);
        convs
            .into_iter()
            .zip(tools)
            .zip(self.branches.into_iter().zip(self.roots))
            .map(|((c, tools), (branches, root))| Conversation {
                session_id: c.sid,
                turns: c
                    .turns
                    .into_iter()
                    .zip(tools)
                    .map(|(t, tools)| turn(t, tools, delay_cap_ms))
                    .collect(),
                independent_turns: c.isolated,
                dag: Some(Box::new(Dag { root, branches })),
                ..Default::default()
            })
            .collect()
    }
}

/// AIPerf's `validate_system_message_placement`: a `system` message only where a chat
/// template honours it (index 0 of what is sent).
fn check_system_messages(c: &Parsed, fork_child: bool) -> Result<(), String> {
    let is_system = |m: &Value| m.get("role").and_then(Value::as_str) == Some("system");
    for (idx, t) in c.turns.iter().enumerate() {
        if c.isolated {
            if t.messages.iter().skip(1).any(is_system) {
                return Err(format!(
                    "session '{}' turn {idx}: a 'system' message must be the first message of \
                     an isolated turn's array; later positions are dropped by chat templates \
                     (e.g. Qwen3-VL).",
                    c.sid
                ));
            }
        } else if (idx > 0 || fork_child) && t.messages.iter().any(is_system) {
            return Err(format!(
                "session '{}' turn {idx}: non-root turns may not contain a 'system' message. \
                 Place the single system prompt at the root turn only; popular chat templates \
                 (e.g. Qwen3-VL) ignore system messages after index 0.",
                c.sid
            ));
        }
    }
    Ok(())
}

/// The first cycle of the branch graph in AIPerf's depth-first order (conversations in file
/// order, children in branch order), as the path back to its first node.
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    // 0: not seen, 1: on the current path, 2: done.
    let mut state = vec![0u8; edges.len()];
    for start in 0..edges.len() {
        if state[start] != 0 {
            continue;
        }
        state[start] = 1;
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let Some(&child) = edges[node].get(next) else {
                state[node] = 2;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match state[child] {
                0 => {
                    state[child] = 1;
                    stack.push((child, 0));
                }
                1 => {
                    let from = stack.iter().position(|&(n, _)| n == child)?;
                    let mut cycle: Vec<usize> = stack[from..].iter().map(|&(n, _)| n).collect();
                    cycle.push(child);
                    return Some(cycle);
                }
                _ => {}
            }
        }
    }
    None
}

/// The engine's turn: the authored messages verbatim (their text for input-token counts), and
/// `model` and `tools` as body fields under the turn's `extra` (which wins, as in AIPerf).
fn turn(t: DagTurn, tools: Option<Value>, delay_cap_ms: Option<f64>) -> Turn {
    let mut extra = Map::new();
    if let Some(m) = t.model {
        extra.insert("model".into(), Value::String(m));
    }
    if let Some(tools) = tools {
        extra.insert("tools".into(), tools);
    }
    extra.extend(t.extra.unwrap_or_default());
    // `--inter-turn-delay-cap-seconds` bounds authored delays, as in AIPerf.
    let delay = delay_cap_ms.map_or(t.delay, |cap| t.delay.min(cap));
    let (messages, texts) = with_texts(t.messages);
    Turn {
        texts,
        messages: Some(messages),
        max_tokens: t.max_tokens,
        extra: (!extra.is_empty()).then_some(extra),
        delay_ms: (delay > 0.0).then_some(delay),
        ..Default::default()
    }
}

/// The messages and the texts of their contents (as verbatim bodies count them), without
/// copying the messages.
fn with_texts(messages: Vec<Value>) -> (Vec<Value>, Vec<String>) {
    let mut body = Map::new();
    body.insert("messages".into(), Value::Array(messages));
    let texts = super::mooncake::payload_texts(&body);
    match body.remove("messages") {
        Some(Value::Array(m)) => (m, texts),
        _ => (Vec::new(), texts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Corpus;
    use crate::loader::test_util::{context, with_file};
    use crate::TextTokenizer;
    use serde_json::json;

    fn tokenizer() -> &'static TextTokenizer {
        static T: std::sync::OnceLock<TextTokenizer> = std::sync::OnceLock::new();
        T.get_or_init(|| TextTokenizer::builtin().unwrap())
    }

    fn load_with(lines: &[Value], cap_ms: Option<f64>) -> Result<Vec<Conversation>, LoadError> {
        let c = Corpus { tokens: vec![] };
        let mut ctx = context(tokenizer(), &c);
        ctx.replay.inter_turn_delay_cap_ms = cap_ms;
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        with_file("d.jsonl", &text, |p| load(p, &ctx))
    }

    fn load_lines(lines: &[Value]) -> Vec<Conversation> {
        load_with(lines, None).unwrap()
    }

    fn err(lines: &[Value]) -> String {
        load_with(lines, None).unwrap_err().to_string()
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": text})
    }

    /// A turn sending one user message.
    fn t(text: &str) -> Value {
        json!({"messages": [user(text)]})
    }

    /// `t` with more fields.
    fn tw(text: &str, more: Value) -> Value {
        let mut v = t(text);
        if let (Some(o), Value::Object(m)) = (v.as_object_mut(), more) {
            o.extend(m);
        }
        v
    }

    fn conv(sid: &str, turns: Vec<Value>) -> Value {
        json!({"session_id": sid, "turns": turns})
    }

    fn by_id<'a>(cs: &'a [Conversation], sid: &str) -> &'a Conversation {
        cs.iter().find(|c| c.session_id == sid).unwrap()
    }

    fn dag(c: &Conversation) -> &Dag {
        c.dag.as_deref().unwrap()
    }

    fn branch(
        id: &str,
        after: Option<usize>,
        mode: BranchMode,
        children: &[&str],
        background: bool,
        join: Option<usize>,
    ) -> Branch {
        Branch {
            id: id.into(),
            after_turn: after,
            mode,
            children: children.iter().map(|c| c.to_string()).collect(),
            background,
            join_before: join,
        }
    }

    use BranchMode::{Fork, Spawn};

    #[test]
    fn fork_on_the_last_turn_and_every_turn_field() {
        let tools = json!([{"type": "function", "function": {"name": "f"}}]);
        let cs = load_lines(&[
            conv(
                "r",
                vec![
                    json!({"messages": [{"role": "system", "content": "sys"}, user("plan")],
                           "model": "m2", "max_tokens": 7, "tools": tools,
                           "extra": {"temperature": 0.5, "model": "m3"}}),
                    tw(
                        "go",
                        json!({"forks": ["a", "b"], "delay": 250, "max_tokens": 9.0}),
                    ),
                ],
            ),
            conv("a", vec![t("A")]),
            conv("b", vec![tw("B", json!({"tools": null, "extra": {}}))]),
        ]);
        assert_eq!(cs.len(), 3);
        let r = by_id(&cs, "r");
        assert!(dag(r).root);
        assert!(!r.independent_turns);
        assert_eq!(r.system, None);
        assert_eq!(
            dag(r).branches,
            [branch("r:1", Some(1), Fork, &["a", "b"], false, None)]
        );
        let t0 = &r.turns[0];
        assert_eq!(
            t0.messages.as_deref().unwrap(),
            [json!({"role": "system", "content": "sys"}), user("plan")]
        );
        assert_eq!(t0.texts, ["sys", "plan"]);
        assert_eq!(t0.max_tokens, Some(7));
        // `extra` wins over `model` (AIPerf merges extra_body last).
        assert_eq!(
            Value::Object(t0.extra.clone().unwrap()),
            json!({"model": "m3", "tools": tools, "temperature": 0.5})
        );
        assert_eq!(t0.delay_ms, None);
        let t1 = &r.turns[1];
        assert_eq!(t1.texts, ["go"]);
        assert_eq!(t1.max_tokens, Some(9));
        assert_eq!(t1.delay_ms, Some(250.0));
        // Tools are the latest of the history: repeated on a turn without them.
        assert_eq!(
            Value::Object(t1.extra.clone().unwrap()),
            json!({"tools": tools})
        );
        // Fork children continue the parent's history, tools included.
        for sid in ["a", "b"] {
            let c = by_id(&cs, sid);
            assert!(!dag(c).root);
            assert!(dag(c).branches.is_empty());
            assert_eq!(
                Value::Object(c.turns[0].extra.clone().unwrap()),
                json!({"tools": tools})
            );
        }
        assert_eq!(
            by_id(&cs, "a").turns[0].messages.as_deref().unwrap(),
            [user("A")]
        );
    }

    #[test]
    fn background_forks_keep_the_parent_running() {
        let cs = load_lines(&[
            conv(
                "r",
                vec![
                    tw("0", json!({"forks": [{"child": "a", "background": true}]})),
                    tw(
                        "1",
                        json!({"forks": ["b", {"child": "c", "background": true}, {"child": "d"}]}),
                    ),
                ],
            ),
            conv("a", vec![t("a")]),
            conv("b", vec![t("b")]),
            conv("c", vec![t("c")]),
            conv("d", vec![t("d")]),
        ]);
        assert_eq!(
            dag(by_id(&cs, "r")).branches,
            [
                branch("r:0", Some(0), Fork, &["a"], true, None),
                branch("r:1:fork", Some(1), Fork, &["b", "d"], false, None),
                branch("r:1:bg_fork", Some(1), Fork, &["c"], true, None),
            ]
        );
        let roots: Vec<bool> = cs.iter().map(|c| dag(c).root).collect();
        assert_eq!(roots, [true, false, false, false, false]);
    }

    #[test]
    fn spawns_join_on_the_next_turn_unless_last() {
        let cs = load_lines(&[
            conv(
                "r",
                vec![
                    tw("0", json!({"spawns": ["a", "b"]})),
                    t("1"),
                    tw(
                        "2",
                        json!({"forks": ["f"], "spawns": ["a", {"children": ["b"]}]}),
                    ),
                ],
            ),
            json!({"session_id": "a", "turns": [tw("a", json!({"delay": 40}))],
                   "context_mode": "Message_Array_With_Responses"}),
            conv(
                "b",
                vec![json!({"messages": [{"role": "system", "content": "s"}, user("b")]})],
            ),
            conv("f", vec![t("f")]),
        ]);
        assert_eq!(
            dag(by_id(&cs, "r")).branches,
            [
                branch("r:0", Some(0), Spawn, &["a", "b"], false, Some(1)),
                branch("r:2:fork", Some(2), Fork, &["f"], false, None),
                branch("r:2:spawn", Some(2), Spawn, &["a"], false, None),
                branch("r:2:spawn1", Some(2), Spawn, &["b"], false, None),
            ]
        );
        let a = by_id(&cs, "a");
        assert!(!dag(a).root);
        assert!(a.independent_turns);
        // A spawn child's first-turn delay counts from the branch firing.
        assert_eq!(a.turns[0].delay_ms, Some(40.0));
        // A spawn child starts fresh: its first turn may carry the system prompt.
        assert_eq!(by_id(&cs, "b").turns[0].texts, ["s", "b"]);
    }

    #[test]
    fn pre_session_spawns_fire_before_the_first_turn() {
        let cs = load_lines(&[
            json!({"session_id": "r", "pre_session_spawns": ["p", "q"],
                   "turns": [tw("0", json!({"spawns": ["s"]})), t("1")]}),
            conv("p", vec![t("p")]),
            conv("q", vec![t("q")]),
            conv("s", vec![t("s")]),
        ]);
        assert_eq!(
            dag(by_id(&cs, "r")).branches,
            [
                branch("r:pre", None, Spawn, &["p", "q"], true, None),
                branch("r:0", Some(0), Spawn, &["s"], false, Some(1)),
            ]
        );
        assert!(!dag(by_id(&cs, "p")).root);
    }

    #[test]
    fn delayed_joins_and_spawn_groups() {
        let cs = load_lines(&[
            conv(
                "r",
                vec![
                    tw(
                        "0",
                        json!({"spawns": ["a", {"children": ["b", "c"], "join_at": 3}, "d",
                                          {"children": ["e"], "join_at": null}]}),
                    ),
                    t("1"),
                    t("2"),
                    tw("3", json!({"spawns": [{"children": ["f"]}]})),
                ],
            ),
            conv("a", vec![t("a")]),
            conv("b", vec![t("b")]),
            conv("c", vec![t("c")]),
            conv("d", vec![t("d")]),
            conv("e", vec![t("e")]),
            conv("f", vec![t("f")]),
        ]);
        assert_eq!(
            dag(by_id(&cs, "r")).branches,
            [
                branch("r:0:spawn", Some(0), Spawn, &["a"], false, Some(1)),
                branch("r:0:spawn1", Some(0), Spawn, &["b", "c"], false, Some(3)),
                branch("r:0:spawn2", Some(0), Spawn, &["d"], false, Some(1)),
                branch("r:0:spawn3", Some(0), Spawn, &["e"], false, Some(1)),
                branch("r:3", Some(3), Spawn, &["f"], false, None),
            ]
        );
    }

    #[test]
    fn nested_children_and_shared_spawn_children() {
        let tools = json!([{"type": "function", "function": {"name": "g"}}]);
        let other = json!([{"type": "function", "function": {"name": "h"}}]);
        let cs = load_lines(&[
            // Children may come before their parents in the file.
            conv("leaf", vec![t("leaf")]),
            conv(
                "mid",
                vec![
                    tw("m0", json!({"spawns": ["leaf"]})),
                    tw("m1", json!({"forks": ["grand"]})),
                ],
            ),
            conv(
                "grand",
                vec![t("g0"), tw("g1", json!({"tools": other})), t("g2")],
            ),
            conv(
                "r",
                vec![tw("r0", json!({"tools": tools, "forks": ["mid"]}))],
            ),
            conv("r2", vec![tw("x", json!({"spawns": ["leaf"]}))]),
        ]);
        let roots: Vec<(&str, bool)> = cs
            .iter()
            .map(|c| (c.session_id.as_str(), dag(c).root))
            .collect();
        assert_eq!(
            roots,
            [
                ("leaf", false),
                ("mid", false),
                ("grand", false),
                ("r", true),
                ("r2", true)
            ]
        );
        assert_eq!(
            dag(by_id(&cs, "mid")).branches,
            [
                branch("mid:0", Some(0), Spawn, &["leaf"], false, Some(1)),
                branch("mid:1", Some(1), Fork, &["grand"], false, None),
            ]
        );
        assert_eq!(
            dag(by_id(&cs, "r2")).branches,
            [branch("r2:0", Some(0), Spawn, &["leaf"], false, None)]
        );
        let tools_of = |sid: &str| -> Vec<Option<Value>> {
            by_id(&cs, sid)
                .turns
                .iter()
                .map(|t| t.extra.as_ref().and_then(|e| e.get("tools").cloned()))
                .collect()
        };
        // Fork descendants inherit r's tools until a turn declares its own; spawn children
        // start fresh.
        assert_eq!(tools_of("mid"), [Some(tools.clone()), Some(tools.clone())]);
        assert_eq!(
            tools_of("grand"),
            [Some(tools.clone()), Some(other.clone()), Some(other)]
        );
        assert_eq!(tools_of("leaf"), [None]);
    }

    #[test]
    fn isolated_turns_take_their_own_system_prompt_and_tools() {
        let tools = json!([{"type": "function"}]);
        let cs = load_lines(&[
            json!({"session_id": "r", "context_mode": "message_array_with_responses",
            "turns": [
                {"messages": [{"role": "system", "content": "s0"}, user("u0")], "tools": tools},
                {"messages": [{"role": "system", "content": "s1"}, user("u1"),
                              {"role": "assistant", "content": "a1"}, user("u2")]},
            ]}),
        ]);
        let r = &cs[0];
        assert!(r.independent_turns);
        assert_eq!(r.turns[1].texts, ["s1", "u1", "a1", "u2"]);
        assert!(r.turns[0].extra.is_some());
        assert_eq!(r.turns[1].extra, None);
        // The default mode, spelled out, is a plain conversation.
        let cs = load_lines(&[
            json!({"session_id": "r", "context_mode": null,
            "turns": [t("x")]}),
            json!({"session_id": "s",
            "context_mode": "deltas_without_responses", "turns": [t("y")]}),
        ]);
        assert!(cs.iter().all(|c| !c.independent_turns && dag(c).root));
    }

    #[test]
    fn delays_are_capped_by_the_inter_turn_delay_cap() {
        let cs = load_with(
            &[conv(
                "r",
                vec![
                    tw("a", json!({"delay": 9000})),
                    tw("b", json!({"delay": 10.5})),
                ],
            )],
            Some(5000.0),
        )
        .unwrap();
        assert_eq!(cs[0].turns[0].delay_ms, Some(5000.0));
        assert_eq!(cs[0].turns[1].delay_ms, Some(10.5));
    }

    #[test]
    fn blank_lines_and_a_bom_are_skipped() {
        let c = Corpus { tokens: vec![] };
        let ctx = context(tokenizer(), &c);
        let line = conv("r", vec![t("x")]).to_string();
        let cs = with_file("d.jsonl", &format!("\u{feff}{line}\n\n  \n"), |p| {
            load(p, &ctx)
        })
        .unwrap();
        assert_eq!(cs.len(), 1);
        let e = with_file("d.jsonl", "\n\n", |p| load(p, &ctx)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "d.jsonl: no conversations in file; supply at least one conversation line"
        );
    }

    /// One malformed file per rule, each reported at the line of the conversation concerned.
    #[test]
    fn every_rule_is_a_file_line_error() {
        let ok = |sid: &str| conv(sid, vec![t(sid)]);
        let orch = |more: Value| {
            let mut v = json!({"session_id": "o", "orchestrator": true});
            if let (Some(o), Value::Object(m)) = (v.as_object_mut(), more) {
                o.extend(m);
            }
            v
        };
        let cases: Vec<(Vec<Value>, &str)> = vec![
            // Line shape.
            (vec![ok("a"), json!([1])], "d.jsonl:2: a DAG conversation must be a JSON object, got list"),
            (
                vec![json!({"session_id": "a", "turns": [t("x")], "session": 1})],
                "d.jsonl:1: unknown field 'session' in a DAG conversation (allowed: session_id, turns, orchestrator, spawns, think_time_ms, think_time_sigma, think_time_min_ms, think_time_max_ms, rounds, context_mode, pre_session_spawns)",
            ),
            (vec![json!({"turns": [t("x")]})], "d.jsonl:1: 'session_id' is required"),
            (vec![json!({"session_id": "", "turns": [t("x")]})], "d.jsonl:1: 'session_id' must not be empty"),
            (
                vec![json!({"session_id": 5, "turns": [t("x")]})],
                "d.jsonl:1: 'session_id': invalid type: integer `5`, expected a string",
            ),
            (vec![json!({"session_id": "a"})], "d.jsonl:1: session 'a': 'turns' must be non-empty unless 'orchestrator' is true"),
            (vec![json!({"session_id": "a", "turns": null})], "d.jsonl:1: session 'a': 'turns': invalid type: null, expected a sequence"),
            // Turn fields.
            (
                vec![conv("a", vec![tw("x", json!({"temperature": 0.2}))])],
                "d.jsonl:1: session 'a' turn 0: unknown field 'temperature' in a turn (allowed: messages, model, max_tokens, tools, extra, forks, spawns, delay); other request fields (temperature, top_p, ...) go in 'extra'",
            ),
            (vec![conv("a", vec![t("x"), json!(3)])], "d.jsonl:1: session 'a' turn 1: a turn must be a JSON object, got int"),
            (vec![conv("a", vec![json!({})])], "d.jsonl:1: session 'a' turn 0: 'messages' is required"),
            (vec![conv("a", vec![json!({"messages": []})])], "d.jsonl:1: session 'a' turn 0: 'messages' must be a non-empty list"),
            (
                vec![conv("a", vec![json!({"messages": [user("x"), {"content": "y"}]})])],
                "d.jsonl:1: session 'a' turn 0: each message must have a 'role' key, but message at index 1 does not",
            ),
            (vec![conv("a", vec![json!({"messages": ["hi"]})])], "d.jsonl:1: session 'a' turn 0: 'messages'[0] must be an object, got str"),
            (vec![conv("a", vec![tw("x", json!({"max_tokens": true}))])], "d.jsonl:1: session 'a' turn 0: 'max_tokens' must be an integer, not a boolean (got true)"),
            (vec![conv("a", vec![tw("x", json!({"max_tokens": 0}))])], "d.jsonl:1: session 'a' turn 0: 'max_tokens' must be >= 1, got 0"),
            (vec![conv("a", vec![tw("x", json!({"max_tokens": 1.5}))])], "d.jsonl:1: session 'a' turn 0: 'max_tokens' must be an integer, got 1.5"),
            (vec![conv("a", vec![tw("x", json!({"max_tokens": 5_000_000_000u64}))])], "d.jsonl:1: session 'a' turn 0: 'max_tokens' must be at most 4294967295, got 5000000000"),
            (vec![conv("a", vec![tw("x", json!({"delay": -1}))])], "d.jsonl:1: session 'a' turn 0: 'delay' must be >= 0 (ms), got -1"),
            (vec![conv("a", vec![tw("x", json!({"delay": null}))])], "d.jsonl:1: session 'a' turn 0: 'delay': invalid type: null, expected f64"),
            (vec![conv("a", vec![tw("x", json!({"model": 3}))])], "d.jsonl:1: session 'a' turn 0: 'model': invalid type: integer `3`, expected a string"),
            (vec![conv("a", vec![tw("x", json!({"tools": [1]}))])], "d.jsonl:1: session 'a' turn 0: 'tools': invalid type: integer `1`, expected a map"),
            (vec![conv("a", vec![tw("x", json!({"extra": [1]}))])], "d.jsonl:1: session 'a' turn 0: 'extra': invalid type: sequence, expected a map"),
            // Fork and spawn entries.
            (vec![conv("a", vec![tw("x", json!({"forks": [1]}))])], "d.jsonl:1: session 'a' turn 0: 'forks'[0]: a fork entry is a session id or {\"child\": ..., \"background\": ...}, got int"),
            (vec![conv("a", vec![tw("x", json!({"forks": [""]}))])], "d.jsonl:1: session 'a' turn 0: 'forks'[0]: the fork child session id must not be empty"),
            (
                vec![conv("a", vec![tw("x", json!({"forks": [{"child": "b", "join_at": 1}]}))])],
                "d.jsonl:1: session 'a' turn 0: 'forks'[0]: unknown field 'join_at' in a fork entry (allowed: child, background)",
            ),
            (vec![conv("a", vec![tw("x", json!({"forks": [{"background": true}]}))])], "d.jsonl:1: session 'a' turn 0: 'forks'[0]: 'child' is required"),
            (vec![conv("a", vec![tw("x", json!({"spawns": [{"children": []}]}))])], "d.jsonl:1: session 'a' turn 0: 'spawns'[0]: 'children' must list at least one session id"),
            (vec![conv("a", vec![tw("x", json!({"spawns": [["b"]]}))])], "d.jsonl:1: session 'a' turn 0: 'spawns'[0]: a spawn entry is a session id or {\"children\": [...], \"join_at\": ...}, got list"),
            // Orchestrator-only fields and the orchestrator rules.
            (vec![json!({"session_id": "a", "turns": [t("x")], "rounds": 2})], "d.jsonl:1: session 'a': 'rounds' is only valid on an orchestrator conversation (set 'orchestrator': true)"),
            (vec![json!({"session_id": "a", "turns": [t("x")], "spawns": ["b"]})], "d.jsonl:1: session 'a': conversation-level 'spawns' is only valid on an orchestrator conversation; a normal conversation uses per-turn 'spawns'"),
            (vec![json!({"session_id": "a", "turns": [t("x")], "think_time_ms": 5})], "d.jsonl:1: session 'a': 'think_time_ms'/'think_time_sigma'/'think_time_min_ms'/'think_time_max_ms' are only valid on an orchestrator conversation with 'rounds' set"),
            (vec![json!({"session_id": "a", "turns": [t("x")], "think_time_ms": -5})], "d.jsonl:1: session 'a': 'think_time_ms' must be >= 0, got -5"),
            (vec![orch(json!({"spawns": ["b"], "think_time_sigma": 0}))], "d.jsonl:1: session 'o': 'think_time_sigma' must be > 0, got 0"),
            (vec![orch(json!({"spawns": ["b"], "think_time_sigma": 11}))], "d.jsonl:1: session 'o': 'think_time_sigma' must be <= 10, got 11"),
            (vec![orch(json!({"spawns": ["b"], "rounds": true}))], "d.jsonl:1: session 'o': 'rounds' must be an integer or a list of rounds, got bool"),
            (vec![orch(json!({"spawns": ["b"], "turns": [t("x")]}))], "d.jsonl:1: session 'o': orchestrator conversation must have an empty authored 'turns' list (the loader synthesizes its single no-op turn)"),
            (vec![orch(json!({}))], "d.jsonl:1: session 'o': orchestrator conversation requires a non-empty 'spawns' (or a per-round 'rounds' list)"),
            (vec![orch(json!({"spawns": ["b"], "rounds": 0}))], "d.jsonl:1: session 'o': 'rounds' count must be >= 1"),
            (vec![orch(json!({"rounds": []}))], "d.jsonl:1: session 'o': orchestrator 'rounds' list must be non-empty"),
            (vec![orch(json!({"rounds": [{"spawns": []}]}))], "d.jsonl:1: session 'o': 'rounds'[0]: 'spawns' must list at least one session id"),
            (vec![orch(json!({"rounds": [{"spawns": ["b"], "wait": 1}]}))], "d.jsonl:1: session 'o': 'rounds'[0]: unknown field 'wait' in a round (allowed: spawns, think_time_ms)"),
            (vec![orch(json!({"spawns": ["b"], "rounds": [{"spawns": ["c"]}]}))], "d.jsonl:1: session 'o': with a per-round 'rounds' list, omit conversation-level 'spawns' (each round declares its own 'spawns')"),
            (
                vec![orch(json!({"rounds": [{"spawns": ["b"]}, {"spawns": ["c", "b"]}]}))],
                "d.jsonl:1: session 'o': child session id 'b' is spawned by more than one round; each list-form round must own distinct branch sessions",
            ),
            (vec![orch(json!({"spawns": ["b"], "pre_session_spawns": ["c"]}))], "d.jsonl:1: session 'o': orchestrator conversation must not set 'pre_session_spawns'; use conversation-level 'spawns' instead"),
            (vec![orch(json!({"spawns": ["b"], "think_time_ms": 5}))], "d.jsonl:1: session 'o': 'think_time_ms' requires 'rounds' (it is the per-round wait of the gated spine)"),
            (vec![orch(json!({"spawns": ["b"], "rounds": 2, "think_time_sigma": 1}))], "d.jsonl:1: session 'o': 'think_time_sigma' requires 'think_time_ms' (the lognormal median to sample around)"),
            (vec![orch(json!({"spawns": ["b"], "rounds": 2, "think_time_ms": 5, "think_time_max_ms": 9}))], "d.jsonl:1: session 'o': 'think_time_min_ms'/'think_time_max_ms' require 'think_time_sigma' (they clamp the sampled draw)"),
            (
                vec![orch(json!({"spawns": ["b"], "rounds": 2, "think_time_ms": 5, "think_time_sigma": 1, "think_time_min_ms": 9, "think_time_max_ms": 3}))],
                "d.jsonl:1: session 'o': 'think_time_min_ms' must be <= 'think_time_max_ms' (got 9 > 3)",
            ),
            // What AIPerf accepts and this build refuses.
            (
                vec![orch(json!({"rounds": [{"spawns": ["b"], "think_time_ms": 3}]})), ok("b")],
                "d.jsonl:1: session 'o': 'orchestrator' conversations (request-less turns that only fire 'spawns' or 'rounds', paced by 'think_time_*') are not supported by this build; give the conversation real turns whose 'spawns' start the children",
            ),
            (
                vec![json!({"session_id": "a", "turns": [t("x")], "context_mode": "deltas_with_responses"})],
                "d.jsonl:1: session 'a': context_mode 'deltas_with_responses' is not supported by this build (only 'deltas_without_responses' and 'message_array_with_responses')",
            ),
            (
                vec![json!({"session_id": "a", "turns": [t("x")], "context_mode": "full"})],
                "d.jsonl:1: session 'a': 'context_mode' must be one of deltas_without_responses, deltas_with_responses, message_array_with_responses, message_array_without_responses, got 'full'",
            ),
            // Sessions.
            (vec![ok("a"), ok("b"), ok("a")], "d.jsonl:3: duplicate session_id 'a' (first on line 1)"),
            (
                vec![json!({"session_id": "a", "turns": [t("x")], "pre_session_spawns": ["b", "b"]}), ok("b")],
                "d.jsonl:1: session 'a': duplicate child_conversation_id 'b' in pre_session_spawns",
            ),
            // Branches on a turn.
            (
                vec![conv("a", vec![tw("x", json!({"forks": ["b", {"child": "b", "background": true}]}))]), ok("b")],
                "d.jsonl:1: session 'a' turn 0: duplicate child_conversation_id 'b' in fork entries",
            ),
            (
                vec![ok("b"), conv("a", vec![tw("x", json!({"spawns": [{"children": ["b", "b"]}]}))])],
                "d.jsonl:2: session 'a' turn 0: duplicate child_conversation_id 'b' in spawn group",
            ),
            (
                vec![ok("b"), ok("c"), conv("a", vec![tw("x", json!({"spawns": ["c", "b", {"children": ["c", "b"]}]}))])],
                "d.jsonl:3: session 'a' turn 0: duplicate child_conversation_id 'b' across spawn groups",
            ),
            (
                vec![conv("a", vec![tw("x", json!({"spawns": [{"children": ["b"], "join_at": 0}]})), t("y")]), ok("b")],
                "d.jsonl:1: session 'a' turn 0: spawn join_at=0 must be strictly greater than the spawning turn index",
            ),
            (
                vec![conv("a", vec![tw("x", json!({"spawns": [{"children": ["b"], "join_at": 2}]})), t("y")]), ok("b")],
                "d.jsonl:1: session 'a' turn 0: spawn join_at=2 is out of range (conversation has 2 turns)",
            ),
            // The graph.
            (
                vec![ok("z"), conv("a", vec![t("x"), tw("y", json!({"spawns": ["b"]}))])],
                "d.jsonl:2: session 'a' turn 1: branch target 'b' not declared. Known sessions: ['a', 'z']",
            ),
            (
                vec![json!({"session_id": "a", "turns": [t("x")], "pre_session_spawns": ["q"]})],
                "d.jsonl:1: session 'a' pre_session_spawns: branch target 'q' not declared. Known sessions: ['a']",
            ),
            (
                vec![conv("p1", vec![tw("x", json!({"forks": ["c"]}))]), ok("c"), conv("p2", vec![t("x"), tw("y", json!({"forks": ["c"]}))])],
                "d.jsonl:3: session 'c' forked by both 'p1' turn 0 and 'p2' turn 1; FORK-mode children require a single parent",
            ),
            (
                vec![conv("a", vec![tw("x", json!({"forks": ["b"]})), t("y")]), ok("b")],
                "d.jsonl:1: session 'a' turn 0 has foreground FORK branches but is not the last turn and no join is declared (use {\"child\": ..., \"background\": true} on the fork entry to keep the parent running, or move the forks to the final turn)",
            ),
            (
                vec![
                    json!({"session_id": "a", "turns": [tw("x", json!({"forks": ["b"]}))]}),
                    ok("b"),
                    json!({"session_id": "r", "turns": [t("x")], "pre_session_spawns": ["b"]}),
                ],
                "d.jsonl:3: session 'b' is referenced by 'r' pre_session_spawns but is also a FORK target; pre-session children must be SPAWN-mode (no parent context to inherit)",
            ),
            (
                vec![conv("a", vec![t("x"), json!({"messages": [{"role": "system", "content": "s"}, user("y")]})])],
                "d.jsonl:1: session 'a' turn 1: non-root turns may not contain a 'system' message. Place the single system prompt at the root turn only; popular chat templates (e.g. Qwen3-VL) ignore system messages after index 0.",
            ),
            (
                vec![conv("a", vec![tw("x", json!({"forks": ["b"]}))]), conv("b", vec![json!({"messages": [{"role": "system", "content": "s"}]})])],
                "d.jsonl:2: session 'b' turn 0: non-root turns may not contain a 'system' message. Place the single system prompt at the root turn only; popular chat templates (e.g. Qwen3-VL) ignore system messages after index 0.",
            ),
            (
                vec![json!({"session_id": "a", "context_mode": "message_array_with_responses",
                            "turns": [{"messages": [user("x"), {"role": "system", "content": "s"}]}]})],
                "d.jsonl:1: session 'a' turn 0: a 'system' message must be the first message of an isolated turn's array; later positions are dropped by chat templates (e.g. Qwen3-VL).",
            ),
            (
                vec![
                    conv("a", vec![tw("x", json!({"forks": ["b"]}))]),
                    json!({"session_id": "b", "context_mode": "message_array_with_responses", "turns": [t("y")]}),
                ],
                "d.jsonl:2: session 'b' is a FORK target with context_mode 'message_array_with_responses'; payload isolation drops the inherited parent context and is only valid on fresh-context SPAWN branches",
            ),
            (
                vec![conv("a", vec![tw("x", json!({"spawns": ["b"]})), t("y")]), conv("b", vec![tw("z", json!({"spawns": ["a"]}))])],
                "d.jsonl:2: cycle detected: a -> b -> a",
            ),
            (vec![ok("z"), conv("a", vec![tw("x", json!({"spawns": ["a"]}))])], "d.jsonl:2: cycle detected: a -> a"),
            (
                vec![conv("a", vec![tw("x", json!({"spawns": ["b"]}))]), json!({"session_id": "b", "turns": [t("y")], "pre_session_spawns": ["c"]}), ok("c")],
                "d.jsonl:2: session 'b': pre_session_spawns require a root conversation, but 'b' is started by another conversation's branch",
            ),
            (
                vec![json!({"session_id": "a", "context_mode": "message_array_with_responses", "turns": [tw("x", json!({"forks": ["b"]}))]}), ok("b")],
                "d.jsonl:1: session 'a' turn 0: forks are incompatible with context_mode 'message_array_with_responses' (a fork child continues the parent's accumulated history, which this mode does not keep); use spawns",
            ),
        ];
        for (lines, want) in cases {
            assert_eq!(err(&lines), want, "{lines:?}");
        }
        let c = Corpus { tokens: vec![] };
        let ctx = context(tokenizer(), &c);
        let e = with_file("d.jsonl", "{\"session_id\": \"a\",\n", |p| load(p, &ctx)).unwrap_err();
        assert!(
            e.to_string().starts_with("d.jsonl:1: EOF while parsing"),
            "{e}"
        );
    }

    fn probe(first: Value) -> Probe {
        Probe {
            first: Some(first),
            line: 1,
            ..Default::default()
        }
    }

    /// AIPerf's test: a `session_id` string and a `turns` list whose first shaped turn has
    /// `messages` (a list), `forks` or `spawns`.
    #[test]
    fn can_load_is_aiperfs_first_record_test() {
        let yes = [
            json!({"session_id": "a", "turns": [t("x")]}),
            json!({"session_id": "a", "turns": [{"forks": "b"}]}),
            json!({"session_id": "a", "turns": [{"spawns": []}, 5]}),
            json!({"session_id": "a", "turns": [{"text": "x"}, {"messages": []}]}),
        ];
        let no = [
            json!({"session_id": 1, "turns": [t("x")]}),
            json!({"turns": [t("x")]}),
            json!({"session_id": "a", "turns": []}),
            json!({"session_id": "a", "turns": [5, t("x")]}),
            json!({"session_id": "a", "turns": [{"messages": "x"}]}),
            json!({"session_id": "a", "orchestrator": true, "spawns": ["b"]}),
            json!([1]),
        ];
        for v in yes {
            assert!(can_load(&probe(v.clone())), "{v}");
        }
        for v in no {
            assert!(!can_load(&probe(v.clone())), "{v}");
        }
        assert!(!can_load(&Probe::default()));
    }

    /// Among every built-in format, only this one claims a DAG file.
    #[test]
    fn detection_picks_dag_jsonl_alone() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..super::super::BUILTINS.len())
            .map(|i| format!("f{i}"))
            .collect();
        let candidates: Vec<(&str, &str)> = super::super::BUILTINS
            .iter()
            .zip(&names)
            .map(|(b, n)| (n.as_str(), b.implementation))
            .collect();
        let ours = super::super::BUILTINS
            .iter()
            .position(|b| b.implementation == "aiperf_dataset::loader::dag_jsonl::load")
            .unwrap();
        for line in [
            conv("a", vec![t("x")]),
            conv("a", vec![tw("x", json!({"spawns": ["b"]})), t("y")]),
        ] {
            let p = dir.path().join("d.jsonl");
            std::fs::write(&p, format!("{line}\n")).unwrap();
            assert_eq!(
                super::super::detect(&p, &candidates).unwrap(),
                names[ours],
                "{line}"
            );
        }
    }
}
