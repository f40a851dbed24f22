use super::*;
use crate::corpus::Corpus;
use crate::loader::test_util::{context, with_file};
use crate::TextTokenizer;

fn tok() -> (TextTokenizer, Corpus) {
    let t = TextTokenizer::builtin().unwrap();
    let c = Corpus::sonnets(&t);
    (t, c)
}

/// A parent of three requests (block size 16) with two subagents: A joins the second parent
/// turn, B (times relative to its marker, no `duration_ms`) outlives the last one.
fn trace() -> Value {
    json!({
        "id": "tr", "models": ["m"], "block_size": 16, "hash_id_scope": "local",
        "requests": [
            {"type": "n", "t": 0, "model": "m", "in": 40, "out": 10, "hash_ids": [1, 2], "api_time": 2.0},
            {"type": "subagent", "t": 3, "agent_id": "A", "subagent_type": "Explore",
             "duration_ms": 4000, "status": "completed", "models": ["m"],
             "requests": [
                {"type": "n", "t": 3.5, "model": "m", "in": 20, "out": 5, "hash_ids": [100]},
                {"type": "s", "t": 5, "model": "m", "in": 45, "out": 3, "hash_ids": [100, 101],
                 "api_time": 0.5, "think_time": 0.2, "ttft": 0.1}
             ]},
            {"type": "s", "t": 8, "model": "m", "input_length": 70, "output_length": 12,
             "hash_ids": [1, 2, 3, 4], "api_time": 1.0, "think_time": 0.5, "stop": "tool_use"},
            {"type": "subagent", "t": 9, "agent_id": "B", "subagent_type": "Task",
             "status": "async_launched", "models": ["m"],
             "requests": [
                {"type": "n", "t": 0.5, "model": "m", "in": 16, "out": 0, "hash_ids": [200], "api_time": 1.0}
             ]},
            {"type": "n", "t": 10, "model": "m", "in": 90, "out": 4, "hash_ids": [1, 2, 3, 4, 5]}
        ]
    })
}

fn load_value(v: &Value, ctx: &LoadContext<'_>) -> Result<Vec<Conversation>, LoadError> {
    with_file("t.json", &serde_json::to_string_pretty(v).unwrap(), |p| {
        load_with(p, ctx, None)
    })
}

/// (role, token count) of each message of a turn.
fn shape(t: &TextTokenizer, turn: &Turn) -> Vec<(String, usize)> {
    turn.messages
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                t.count(m["content"].as_str().unwrap()),
            )
        })
        .collect()
}

fn roles(v: &[(&str, usize)]) -> Vec<(String, usize)> {
    v.iter().map(|(r, n)| (r.to_string(), *n)).collect()
}

#[test]
fn parent_turns_children_and_topology() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let convs = load_value(&trace(), &ctx).unwrap();
    let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
    assert_eq!(ids, ["tr", "tr::sa:A", "tr::sa:B"]);

    let root = &convs[0];
    assert!(
        root.independent_turns,
        "each request carries its whole context"
    );
    assert_eq!(root.turns.len(), 3);
    let delays: Vec<Option<f64>> = root.turns.iter().map(|t| t.delay_ms).collect();
    // Idle gaps: 8 - (0 + 2) s, 10 - (8 + 1) s.
    assert_eq!(delays, [None, Some(6000.0), Some(1000.0)]);
    let ts: Vec<Option<f64>> = root.turns.iter().map(|t| t.timestamp_ms).collect();
    assert_eq!(ts, [Some(0.0), None, None]);
    let mt: Vec<Option<u32>> = root.turns.iter().map(|t| t.max_tokens).collect();
    assert_eq!(mt, [Some(10), Some(12), Some(4)]);
    // Turn 0: 2 blocks + 8 tail tokens. Turn 1: the blocks kept, ceil(10/16) = 1 block of
    // recorded answer, the new block + 6 tail. Turn 2: the same, answer ceil(12/16) = 1.
    assert_eq!(shape(&t, &root.turns[0]), roles(&[("user", 40)]));
    assert_eq!(
        shape(&t, &root.turns[1]),
        roles(&[("user", 32), ("assistant", 16), ("user", 22)])
    );
    assert_eq!(
        shape(&t, &root.turns[2]),
        roles(&[
            ("user", 32),
            ("assistant", 16),
            ("user", 16),
            ("assistant", 16),
            ("user", 10)
        ])
    );
    // The kept blocks are the text first sent: a prefix cache hits them.
    let m = |k: usize, i: usize| {
        root.turns[k].messages.as_ref().unwrap()[i]["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(m(0, 0).starts_with(&m(1, 0)));
    assert_eq!(m(1, 0), m(2, 0));
    assert_eq!(m(1, 1), m(2, 1));
    assert!(m(1, 2).starts_with(&m(2, 2)));
    assert_eq!(root.turns[1].texts.len(), 3);

    let dag = root.dag.as_ref().unwrap();
    assert!(dag.root);
    assert_eq!(
        dag.branches,
        [
            Branch {
                id: "tr:spawn:A".into(),
                after_turn: Some(0),
                mode: BranchMode::Spawn,
                children: vec!["tr::sa:A".into()],
                background: false,
                join_before: Some(1),
            },
            Branch {
                id: "tr:spawn:B".into(),
                after_turn: Some(1),
                mode: BranchMode::Spawn,
                children: vec!["tr::sa:B".into()],
                background: true,
                join_before: None,
            },
        ]
    );

    let a = &convs[1];
    assert_eq!(
        **a.dag.as_ref().unwrap(),
        Dag {
            root: false,
            branches: vec![]
        }
    );
    assert!(a.independent_turns);
    // 0.5 s after the spawn at t=3; then 5 - 3.5 s.
    let d: Vec<Option<f64>> = a.turns.iter().map(|t| t.delay_ms).collect();
    assert_eq!(d, [Some(500.0), Some(1500.0)]);
    assert!(a.turns.iter().all(|t| t.timestamp_ms.is_none()));
    assert_eq!(shape(&t, &a.turns[0]), roles(&[("user", 20)]));
    assert_eq!(
        shape(&t, &a.turns[1]),
        roles(&[("user", 16), ("assistant", 16), ("user", 13)])
    );
    let mt: Vec<Option<u32>> = a.turns.iter().map(|t| t.max_tokens).collect();
    assert_eq!(mt, [Some(5), Some(3)]);

    let b = &convs[2];
    // Relative time 0.5 after the marker at 9; `out` 0 is sent as 1.
    assert_eq!(b.turns[0].delay_ms, Some(500.0));
    assert_eq!(b.turns[0].max_tokens, Some(1));
    assert_eq!(shape(&t, &b.turns[0]), roles(&[("user", 16)]));
}

#[test]
fn think_time_only_and_the_delay_cap() {
    let (t, c) = tok();
    let mut ctx = context(&t, &c);
    ctx.agentic.use_think_time_only = true;
    let convs = load_value(&trace(), &ctx).unwrap();
    let d: Vec<Option<f64>> = convs[0].turns.iter().map(|t| t.delay_ms).collect();
    // Turn 1 recorded 0.5 s of think time; turn 2 none, so its idle gap.
    assert_eq!(d, [None, Some(500.0), Some(1000.0)]);
    let d: Vec<Option<f64>> = convs[1].turns.iter().map(|t| t.delay_ms).collect();
    assert_eq!(d, [Some(500.0), Some(200.0)]);

    ctx.agentic.use_think_time_only = false;
    ctx.replay.inter_turn_delay_cap_ms = Some(700.0);
    let convs = load_value(&trace(), &ctx).unwrap();
    let d: Vec<Option<f64>> = convs[0].turns.iter().map(|t| t.delay_ms).collect();
    assert_eq!(d, [None, Some(700.0), Some(700.0)]);
    // The spawn offset is not an inter-turn delay.
    let d: Vec<Option<f64>> = convs[1].turns.iter().map(|t| t.delay_ms).collect();
    assert_eq!(d, [Some(500.0), Some(700.0)]);
}

#[test]
fn max_context_length_drops_whole_traces() {
    let (t, c) = tok();
    let mut ctx = context(&t, &c);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), trace().to_string()).unwrap();
    let small = json!({"id": "small", "models": ["m"], "block_size": 16, "hash_id_scope": "local",
        "requests": [{"type": "n", "t": 0, "model": "m", "in": 20, "out": 5, "hash_ids": [1]}]});
    std::fs::write(dir.path().join("b.json"), small.to_string()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a trace").unwrap();
    // Peak of "tr": 90 + 4 = 94.
    assert_eq!(
        peak_context(&read_trace(&dir.path().join("a.json")).unwrap(), None),
        94
    );
    ctx.agentic.max_context_length = Some(94);
    assert_eq!(load_with(dir.path(), &ctx, None).unwrap().len(), 4);
    ctx.agentic.max_context_length = Some(93);
    let convs = load_with(dir.path(), &ctx, None).unwrap();
    let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
    assert_eq!(ids, ["small"]);
    ctx.agentic.max_context_length = Some(10);
    let e = load_with(dir.path(), &ctx, None).unwrap_err().to_string();
    assert!(
        e.ends_with("no trace fits --max-context-length=10 (scanned 2); the smallest needs 25 tokens: raise --max-context-length to at least that"),
        "{e}"
    );
}

/// Hash ids are scoped to their trace: the same id in two traces is two different blocks.
#[test]
fn hash_ids_are_local_to_a_trace() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let dir = tempfile::tempdir().unwrap();
    for id in ["x", "y"] {
        let v = json!({"id": id, "models": ["m"], "block_size": 16, "hash_id_scope": "local",
            "requests": [{"type": "n", "t": 0, "model": "m", "in": 32, "out": 5, "hash_ids": [1, 2]}]});
        std::fs::write(dir.path().join(format!("{id}.json")), v.to_string()).unwrap();
    }
    let convs = load_with(dir.path(), &ctx, None).unwrap();
    assert_eq!(convs.len(), 2);
    assert_ne!(convs[0].turns[0].texts, convs[1].turns[0].texts);
    assert_eq!(t.count(&convs[0].turns[0].texts[0]), 32);
}

#[test]
fn declared_tool_and_system_tokens_open_with_a_system_message() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let mut v = trace();
    v["tool_tokens"] = json!(10);
    v["system_tokens"] = json!(10);
    let convs = load_value(&v, &ctx).unwrap();
    // ceil(20 / 16) = 2 blocks of system, the 8 tail tokens are the user's.
    assert_eq!(
        shape(&t, &convs[0].turns[0]),
        roles(&[("system", 32), ("user", 8)])
    );
    v["tool_tokens"] = json!(40);
    let e = load_value(&v, &ctx).unwrap_err().to_string();
    assert!(
        e.contains("trace 'tr': request 0: the turn-0 system prefix needs 4 hash blocks but only 2 were recorded"),
        "{e}"
    );
}

#[test]
fn synthesis_caps_filter_and_cap_top_level_requests() {
    let (t, c) = tok();
    let mut ctx = context(&t, &c);
    ctx.synthesis.max_isl = Some(80);
    ctx.synthesis.max_osl = Some(11);
    let convs = load_value(&trace(), &ctx).unwrap();
    let mt: Vec<Option<u32>> = convs[0].turns.iter().map(|t| t.max_tokens).collect();
    // The 90-token request is dropped; subagents keep their recorded output.
    assert_eq!(mt, [Some(10), Some(11)]);
    assert_eq!(convs[1].turns[0].max_tokens, Some(5));
    // B's end (10.5 s) has no parent turn after it: background, as before.
    let b = &convs[0].dag.as_ref().unwrap().branches;
    assert_eq!(b.len(), 2);
    ctx.synthesis = Default::default();
    ctx.synthesis.prompt_len_multiplier = 2.0;
    let e = load_value(&trace(), &ctx).unwrap_err().to_string();
    assert!(
        e.contains("only --synthesis-max-isl and --synthesis-max-osl"),
        "{e}"
    );
}

/// Subagents that spawn and join at the same turns share a branch; one before every parent
/// turn is dropped; one without requests sends nothing.
#[test]
fn shared_branches_dropped_and_empty_subagents() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let sub = |id: &str, at: f64, dur: i64, reqs: Value| {
        json!({"type": "subagent", "t": at, "agent_id": id, "subagent_type": "x",
               "duration_ms": dur, "status": "completed", "models": ["m"], "requests": reqs})
    };
    let one = |at: f64, h: i64| json!([{"type": "n", "t": at, "model": "m", "in": 16, "out": 1, "hash_ids": [h]}]);
    let v = json!({"id": "p", "models": ["m"], "block_size": 16, "hash_id_scope": "local",
    "requests": [
        sub("early", 0.0, 100, one(0.0, 7)),
        {"type": "n", "t": 1, "model": "m", "in": 16, "out": 1, "hash_ids": [1]},
        sub("a", 2.0, 1000, one(2.5, 8)),
        sub("b", 2.2, 2000, one(3.0, 9)),
        sub("empty", 2.4, 1000, json!([])),
        {"type": "n", "t": 5, "model": "m", "in": 32, "out": 1, "hash_ids": [1, 2]}
    ]});
    let convs = load_value(&v, &ctx).unwrap();
    let ids: Vec<&str> = convs.iter().map(|c| c.session_id.as_str()).collect();
    assert_eq!(ids, ["p", "p::sa:a", "p::sa:b"]);
    let b = &convs[0].dag.as_ref().unwrap().branches;
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].id, "p:spawn:a");
    assert_eq!(b[0].children, ["p::sa:a", "p::sa:b"]);
    assert_eq!((b[0].after_turn, b[0].join_before), (Some(0), Some(1)));
    // Offsets from the branch's spawn time, the earliest marker (2.0 s).
    assert_eq!(convs[1].turns[0].delay_ms, Some(500.0));
    assert_eq!(convs[2].turns[0].delay_ms, Some(1000.0));
}

/// A leading title-generation call that shares nothing stays (AIPerf's preamble), a context
/// edit after the previous request ended is the same agent (a seam), and a request that
/// starts while its context is still in flight is another agent: refused, not serialized.
#[test]
fn flattened_agent_chains_are_refused() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let req = |at: f64, ids: Value, api: f64| {
        json!({"type": "n", "t": at, "model": "m", "in": 16 * ids.as_array().unwrap().len() as u64,
               "out": 10, "hash_ids": ids, "api_time": api})
    };
    let mk = |reqs: Vec<Value>| json!({"id": "f", "models": ["m"], "block_size": 16, "hash_id_scope": "local", "requests": reqs});
    let ok = mk(vec![
        req(0.0, json!([50]), 0.1),
        req(1.0, json!([1, 2]), 0.1),
        req(2.0, json!([1, 2, 3]), 0.1),
        req(3.0, json!([1, 2, 9]), 0.1),
    ]);
    let convs = load_value(&ok, &ctx).unwrap();
    assert_eq!(convs[0].turns.len(), 4);
    // The compaction cut the context back to the shared blocks.
    assert_eq!(
        shape(&t, &convs[0].turns[3]),
        roles(&[("user", 32), ("user", 16)])
    );
    let parallel = mk(vec![
        req(0.0, json!([1, 2]), 0.1),
        req(1.0, json!([1, 2, 3]), 5.0),
        req(2.0, json!([1, 2, 4]), 0.1),
    ]);
    let e = load_value(&parallel, &ctx).unwrap_err().to_string();
    assert_eq!(
        e,
        "t.json: trace 'f': 1 more agent chain(s) start at request(s) 2 (their hash ids do not continue the main context); AIPerf 0.13 replays them as separate spawned conversations (hash-id prefix detection), which this build does not reproduce"
    );
    // The same inside a subagent.
    let mut v = trace();
    v["requests"][1]["requests"] = json!([
        req(3.5, json!([100]), 0.1),
        req(3.7, json!([100, 101]), 5.0),
        req(3.8, json!([100, 102]), 0.1)
    ]);
    let e = load_value(&v, &ctx).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "t.json: trace 'tr': subagent 'A': 1 more agent chain(s) start at request(s) 2 "
        ),
        "{e}"
    );
}

#[test]
fn malformed_traces_name_their_line() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let head = "{\"id\": \"x\", \"models\": [\"m\"], \"block_size\": 16, \"hash_id_scope\": \"local\",\n\"requests\": [\n";
    let cases = [
        (
            format!("{head}{{\"type\": \"n\", \"t\": 0, \"model\": \"m\", \"in\": 5}}\n]}}"),
            "t.json:4: requests[0]: missing field `out`",
        ),
        (
            format!("{head}{{\"type\": \"n\", \"t\": 0, \"model\": \"m\", \"in\": 5, \"out\": 1, \"hashids\": []}}\n]}}"),
            "t.json:4: requests[0]: unknown field `hashids`, expected one of `t`, `model`, `in`, `input_length`, `out`, `output_length`, `hash_ids`, `input_types`, `output_types`, `stop`, `api_time`, `think_time`",
        ),
        (
            format!("{head}{{\"type\": \"x\", \"t\": 0}}\n]}}"),
            "t.json:3: requests[0]: unknown variant `x`, expected one of `n`, `s`, `subagent`",
        ),
        (
            format!("{head}{{\"type\": \"n\", \"t\": 0, \"model\": \"m\", \"in\": -5, \"out\": 1}}\n]}}"),
            "t.json:4: requests[0]: invalid value: integer `-5`, expected u64",
        ),
        (
            format!("{head}{{\"type\": \"n\", \"t\": 0, \"model\": \"m\", \"in\": 5, \"out\": 1}}\n"),
            "t.json:4: EOF while parsing a list",
        ),
        (
            "{\"id\": \"x\", \"models\": [],\n\"block_size\": 0, \"hash_id_scope\": \"local\", \"requests\": []}".to_string(),
            "t.json:2: invalid value: integer `0`, expected a nonzero u64",
        ),
        (
            "{\"id\": \"x\", \"models\": [], \"block_size\": 16,\n\"hash_id_scope\": \"global\", \"requests\": []}".to_string(),
            "t.json:2: unknown variant `global`, expected `local`",
        ),
    ];
    for (text, want) in cases {
        let e = with_file("t.json", &text, |p| load_with(p, &ctx, None)).unwrap_err();
        assert_eq!(e.to_string(), want, "{text}");
    }
    let dup = json!({"id": "d", "models": ["m"], "block_size": 16, "hash_id_scope": "local",
    "requests": [
        {"type": "n", "t": 0, "model": "m", "in": 16, "out": 1, "hash_ids": [1]},
        {"type": "subagent", "t": 1, "agent_id": "a", "subagent_type": "x", "status": "c", "models": [], "requests": []},
        {"type": "subagent", "t": 2, "agent_id": "a", "subagent_type": "x", "status": "c", "models": [], "requests": []}
    ]});
    let e = load_value(&dup, &ctx).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "trace 'd': duplicate subagent agent_id 'a' (each retained subagent needs its own)"
        ),
        "{e}"
    );
}

#[test]
fn can_load_takes_json_traces_and_directories_of_them() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.json");
    std::fs::write(&p, serde_json::to_string_pretty(&trace()).unwrap()).unwrap();
    assert!(can_load(&Probe::read(&p)));
    assert!(can_load(&Probe::read(dir.path())));
    let q = dir.path().join("a.jsonl");
    std::fs::write(&q, trace().to_string()).unwrap();
    assert!(
        !can_load(&Probe::read(&q)),
        "AIPerf probes only .json files"
    );
    std::fs::write(&p, "{\"id\": \"x\"}").unwrap();
    assert!(!can_load(&Probe::read(&p)));
    assert!(!can_load(&Probe::read(dir.path())));
}

/// The reconstructor's edge rules, token by token (block size 16).
#[test]
fn reconstructor_rules() {
    let (t, c) = tok();
    let blocks = BlockPrompts::new(&t, &c, 1, 16);
    let plain = CorpusPrompts::new(&t, &c);
    let texts = Texts {
        blocks: &blocks,
        plain: &plain,
        corpus_len: c.tokens.len() as u64,
    };
    let scope = |h: i64| h as u64;
    let counts = |r: &Reconstructor<'_>| -> Vec<(&'static str, usize, usize)> {
        r.segments
            .iter()
            .map(|s| (s.role.as_str(), s.blocks.len(), t.count(&s.text)))
            .collect()
    };
    let mut r = Reconstructor::new(16, &texts, &scope);
    r.init(&[1, 2], 32, 0, 0, 9).unwrap();
    // The answer would take the whole new region and no tail is left: the last block goes
    // back to the user, so the request still ends with a user message.
    r.advance(&[1, 2], 20, &[1, 2, 3, 4], 64, 9, None);
    assert_eq!(
        counts(&r),
        [("user", 2, 32), ("assistant", 1, 16), ("user", 1, 16)]
    );
    // Compaction: the context is cut back to the common prefix.
    r.advance(&[1, 2, 3, 4], 5, &[1, 2, 9], 40, 9, None);
    assert_eq!(counts(&r), [("user", 2, 32), ("user", 0, 8)]);
    // Recorded hash ids shorter than the prompt: the rest is synthetic tail.
    let mut r = Reconstructor::new(16, &texts, &scope);
    r.init(&[1], 50, 0, 0, 9).unwrap();
    assert_eq!(counts(&r), [("user", 1, 50)]);
    // A later pull-back onto turn 1's region caps turn 1's answer so the cut lands on a
    // user block.
    let turns: Vec<(&[i64], usize)> = vec![(&[1], 16), (&[1, 2, 3, 4], 64), (&[1, 2], 32)];
    assert_eq!(asst_block_caps(&turns, 16), [None, Some(0), None]);
}

/// Hub rows are whole traces; the catalog's block size replaces the traces' own.
#[test]
fn public_rows_are_traces() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let mut v = trace();
    v["block_size"] = json!(64);
    let convs = from_rows(vec![v.clone()], "semianalysisai/x", Some(16), &ctx).unwrap();
    assert_eq!(convs.len(), 3);
    assert_eq!(
        shape(&t, &convs[0].turns[1]),
        roles(&[("user", 32), ("assistant", 16), ("user", 22)])
    );
    let e = from_rows(vec![v.clone(), v], "semianalysisai/x", None, &ctx)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "semianalysisai/x: duplicate trace id 'tr' at row 1");
    let e = from_rows(vec![json!({"id": "x"})], "semianalysisai/x", None, &ctx)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "semianalysisai/x: row 0 failed WekaTrace validation: missing field `models`"
    );
}

/// `load` tiles every trace in 64-token blocks, whatever `block_size` it declares (AIPerf
/// 0.13's catalog default wins over the trace's own).
#[test]
fn load_uses_64_token_blocks() {
    let (t, c) = tok();
    let ctx = context(&t, &c);
    let v = json!({"id": "b", "models": ["m"], "block_size": 16, "hash_id_scope": "local",
    "requests": [
        {"type": "n", "t": 0, "model": "m", "in": 128, "out": 64, "hash_ids": [1, 2]},
        {"type": "n", "t": 1, "model": "m", "in": 200, "out": 1, "hash_ids": [1, 2, 3]}
    ]});
    let convs = with_file("b.json", &v.to_string(), |p| load(p, &ctx)).unwrap();
    // Block 3 is the 64-token answer, the 8 tokens past it the user's (with 16-token blocks
    // it would be 32 + 16 + 152).
    assert_eq!(
        shape(&t, &convs[0].turns[1]),
        roles(&[("user", 128), ("assistant", 64), ("user", 8)])
    );
}
