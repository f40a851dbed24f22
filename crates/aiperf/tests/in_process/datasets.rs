//! Datasets end to end: every loader checked against what the mock server received on the
//! wire, multi-turn history with the server's real replies, shared prefixes, load modes with
//! sessions, and bad files failing before anything is sent.

use std::collections::HashMap;

use crate::common::*;
use aiperf_dataset::TextTokenizer;
use aiperf_mock_server::RecordedRequest;
use serde_json::{json, Value};

fn messages(r: &RecordedRequest) -> Vec<Value> {
    r.json().unwrap()["messages"].as_array().unwrap().clone()
}

fn base(url: &str, file: &str, kind: &str) -> Profile {
    Profile::new("mock-model", url)
        .input_file(file, kind)
        .seed(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_turn_sends_history_with_the_servers_replies() {
    let mock = mock(20.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = example("multi_turn.jsonl");
    let url = mock.url();
    let out = base(&url, &file, "multi_turn")
        .streaming()
        .concurrency(2)
        .arg("--conversation-num", 2)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!((out.request_count, out.error_count), (5, 0));

    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 5);
    let by_session: HashMap<String, Vec<&RecordedRequest>> =
        reqs.iter().fold(HashMap::new(), |mut m, r| {
            let first_user = messages(r)
                .iter()
                .find(|m| m["role"] == "user")
                .map(|m| m["content"].as_str().unwrap().to_string())
                .unwrap();
            m.entry(first_user).or_default().push(r);
            m
        });
    let c1 = &by_session["first question"];
    let c2 = &by_session["other first"];
    assert_eq!((c1.len(), c2.len()), (3, 2));

    // Turn N carries turns 1..N-1 and the replies the server actually sent.
    let expect = |turns: &[&RecordedRequest], system: Option<&str>, users: &[&str]| {
        for (n, r) in turns.iter().enumerate() {
            let mut want: Vec<Value> = Vec::new();
            if let Some(s) = system {
                want.push(json!({"role": "system", "content": s}));
            }
            for k in 0..n {
                want.push(json!({"role": "user", "content": users[k]}));
                let reply = turns[k].reply.clone().expect("mock recorded its reply");
                assert!(!reply.is_empty());
                want.push(json!({"role": "assistant", "content": reply}));
            }
            want.push(json!({"role": "user", "content": users[n]}));
            assert_eq!(messages(r), want, "turn {n}");
        }
    };
    expect(
        c1,
        Some("Be terse."),
        &["first question", "second question", "third"],
    );
    expect(c2, None, &["other first", "other second"]);
    assert_eq!(c1[1].json().unwrap()["max_completion_tokens"], 3);

    // One correlation id per session, one request id per request.
    let corr: Vec<&str> = c1
        .iter()
        .map(|r| r.header("x-correlation-id").unwrap())
        .collect();
    assert!(corr.iter().all(|c| *c == corr[0]));
    assert_ne!(
        c2[0].header("x-correlation-id"),
        Some(corr[0]),
        "sessions differ"
    );
    let ids: std::collections::HashSet<&str> = reqs
        .iter()
        .map(|r| r.header("x-request-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 5);

    // Never two turns of a session at once: a turn arrives after the previous one's answer
    // (TTFT 20 ms + tokens), plus its think time.
    let gap =
        |a: &RecordedRequest, b: &RecordedRequest| (b.arrived - a.arrived).as_secs_f64() * 1e3;
    assert!(gap(c1[0], c1[1]) >= 20.0 + 150.0, "{}", gap(c1[0], c1[1]));
    assert!(gap(c1[1], c1[2]) >= 20.0, "{}", gap(c1[1], c1[2]));
    assert!(gap(c2[0], c2[1]) >= 20.0);

    // Records: turn index, conversation id, and an ISL that grows with the history.
    let records = read_jsonl(dir.path().join("run/profile_export.jsonl"));
    let tok = TextTokenizer::builtin().unwrap();
    let mut c1_recs: Vec<&Value> = records
        .iter()
        .filter(|r| r["metadata"]["conversation_id"] == "c1")
        .collect();
    c1_recs.sort_by_key(|r| r["metadata"]["turn_index"].as_u64());
    assert_eq!(c1_recs.len(), 3);
    let isl: Vec<f64> = c1_recs
        .iter()
        .map(|r| {
            r["metrics"]["input_sequence_length"]["value"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let r0 = c1[0].reply.clone().unwrap();
    let want1 = tok.count(&format!("first question {r0} second question"));
    assert_eq!(isl[0], tok.count("first question") as f64);
    assert_eq!(isl[1], want1 as f64);
    assert!(isl[2] > isl[1]);

    // inputs.json: every turn's own payload per session (history is added at send time).
    let inputs = read_json(dir.path().join("run/inputs.json"));
    let c1_in = inputs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["session_id"] == "c1")
        .unwrap();
    let payloads = c1_in["payloads"].as_array().unwrap();
    assert_eq!(payloads.len(), 3);
    assert_eq!(
        payloads[1]["messages"],
        json!([{"role": "user", "content": "second question"}])
    );
    assert_eq!(payloads[0]["messages"][0]["role"], "system");
    let summary = read_json(dir.path().join("run/profile_export_aiperf.json"));
    let ds = &summary["input_config"]["datasets"][0];
    assert_eq!(
        (
            ds["type"].as_str(),
            ds["format"].as_str(),
            ds["entries"].as_u64()
        ),
        (Some("file"), Some("multi_turn"), Some(2))
    );
    assert_eq!(
        summary["input_config"]["phases"]["profiling"]["sessions"],
        2
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_multi_turn_with_context_prompts_and_rate_mode() {
    let mock = mock(5.0, 0.5).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("mock-model", &url)
        .isl(16)
        .osl(3)
        .arg("--conversation-num", 4)
        .arg("--conversation-turn-mean", 3)
        .arg("--conversation-turn-delay-mean", 30)
        .arg("--shared-system-prompt-length", 12)
        .arg("--user-context-prompt-length", 7)
        .request_rate(100)
        .seed(9)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(
        out.request_count, 12,
        "4 sessions x 3 turns; the session limit ends the run"
    );
    let tok = TextTokenizer::builtin().unwrap();
    let reqs = posts(&mock);
    let mut sessions: HashMap<String, Vec<&RecordedRequest>> = HashMap::new();
    for r in &reqs {
        sessions
            .entry(r.header("x-correlation-id").unwrap().to_string())
            .or_default()
            .push(r);
    }
    assert_eq!(sessions.len(), 4);
    let mut systems = std::collections::HashSet::new();
    let mut contexts = std::collections::HashSet::new();
    for turns in sessions.values() {
        assert_eq!(turns.len(), 3);
        for (n, r) in turns.iter().enumerate() {
            let m = messages(r);
            // system, user context, then (user, assistant) per earlier turn, then this user turn.
            assert_eq!(m.len(), 2 + 2 * n + 1, "turn {n}: {m:?}");
            assert_eq!(m[0]["role"], "system");
            assert_eq!(tok.count(m[0]["content"].as_str().unwrap()), 12);
            assert_eq!(tok.count(m[1]["content"].as_str().unwrap()), 7);
            systems.insert(m[0]["content"].as_str().unwrap().to_string());
            contexts.insert(m[1]["content"].as_str().unwrap().to_string());
            assert_eq!(tok.count(m[m.len() - 1]["content"].as_str().unwrap()), 16);
            if n > 0 {
                assert_eq!(
                    m[m.len() - 2]["content"].as_str(),
                    turns[n - 1].reply.as_deref()
                );
                let gap = (r.arrived - turns[n - 1].arrived).as_secs_f64() * 1e3;
                assert!(gap >= 30.0 + 5.0, "think time after the answer: {gap}");
            }
        }
    }
    assert_eq!(systems.len(), 1, "one shared system prompt");
    assert_eq!(contexts.len(), 4, "a context per session");
    let inputs = read_json(dir.path().join("run/inputs.json"));
    assert!(inputs["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["payloads"].as_array().unwrap().len() == 3));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_prompt_pool_is_shared_token_for_token() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("mock-model", &url)
        .isl(20)
        .osl(2)
        .arg("--num-prefix-prompts", 2)
        .arg("--prefix-prompt-length", 30)
        .request_count(12)
        .arg("--num-dataset-entries", 12)
        .concurrency(3)
        .seed(4)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.request_count, 12);
    let tok = TextTokenizer::builtin().unwrap();
    let prompts: Vec<Vec<u32>> = posts(&mock)
        .iter()
        .map(|r| tok.encode(messages(r)[0]["content"].as_str().unwrap()))
        .collect();
    assert!(prompts.iter().all(|p| p.len() == 50), "30 + 20 tokens");
    let prefixes: std::collections::HashSet<&[u32]> = prompts.iter().map(|p| &p[..30]).collect();
    assert_eq!(prefixes.len(), 2);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mooncake_trace_shares_hash_id_prefixes_and_replays_sessions() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let trace = example("mooncake_trace.jsonl");
    let url = mock.url();
    let out = base(&url, &trace, "mooncake_trace")
        .arg("--isl-block-size", 16)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(
        out.request_count, 5,
        "replayed (timestamps): every row once, session turns included"
    );
    let tok = TextTokenizer::builtin().unwrap();
    let reqs = posts(&mock);
    let t0 = reqs[0].arrived;
    let content = |r: &RecordedRequest| {
        messages(r).last().unwrap()["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let prompt = |ms: u64| {
        let r = reqs
            .iter()
            .find(|r| {
                let at = (r.arrived - t0).as_secs_f64() * 1e3;
                (at - ms as f64).abs() < 25.0
            })
            .unwrap();
        tok.encode(&content(r))
    };
    let (a, b, c) = (prompt(0), prompt(50), prompt(100));
    assert_eq!((a.len(), b.len(), c.len()), (40, 36, 20));
    assert_eq!(a[..32], b[..32], "hash ids 10, 11 shared");
    assert_ne!(a[32..36], b[32..36]);
    assert_eq!(a[..16], c[..16], "hash id 10 shared");
    assert_ne!(a[16..20], c[16..20]);
    // The session's second row waits for the first's answer plus 40 ms and carries history.
    let s: Vec<&RecordedRequest> = reqs
        .iter()
        .filter(|r| {
            let m = messages(r);
            m[0]["content"] == "literal prompt"
        })
        .collect();
    assert_eq!(s.len(), 2);
    let m = messages(s[1]);
    assert_eq!(m.len(), 3);
    assert_eq!(m[1]["content"].as_str(), s[0].reply.as_deref());
    assert_eq!(m[2]["content"], "follow up");
    assert!((s[1].arrived - s[0].arrived).as_secs_f64() * 1e3 >= 40.0);
    mock.stop().await;
}

/// Bailian rows: seconds become ms of a fixed-schedule replay, `parent_chat_id` chains become
/// one session (ordered by `turn`, with history), hash ids are 16-token blocks by default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bailian_trace_replays_chains_as_sessions_with_16_token_blocks() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let trace = example("bailian_trace.jsonl");
    let url = mock.url();
    let out = base(&url, &trace, "bailian_trace")
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.request_count, 3);
    let tok = TextTokenizer::builtin().unwrap();
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 3);
    let t0 = reqs[0].arrived;
    let at = |r: &RecordedRequest| (r.arrived - t0).as_secs_f64() * 1e3;
    let last =
        |r: &RecordedRequest| tok.encode(messages(r).last().unwrap()["content"].as_str().unwrap());
    let max = |r: &RecordedRequest| r.json().unwrap()["max_completion_tokens"].clone();
    // Sent in timestamp order, not file order.
    let (a, b, c) = (&reqs[0], &reqs[1], &reqs[2]);
    assert!((at(b) - 50.0).abs() < 25.0, "{}", at(b));
    assert!(at(c) >= 100.0, "{}", at(c));
    assert_eq!((last(a).len(), last(b).len(), last(c).len()), (40, 36, 20));
    assert_eq!((max(a), max(b), max(c)), (json!(3), json!(4), json!(2)));
    assert_eq!(last(a)[..32], last(b)[..32], "hash ids 10, 11 shared");
    assert_eq!(last(a)[..16], last(c)[..16], "hash id 10 shared");
    // Chat 7 is chat 5's second turn: it carries chat 5 and the server's reply.
    let m = messages(c);
    assert_eq!(m.len(), 3);
    assert_eq!(m[0], messages(a)[0]);
    assert_eq!(m[1]["content"].as_str(), a.reply.as_deref());
    mock.stop().await;
}

/// BurstGPT CSV, detected without --custom-dataset-type: every row one request at its
/// timestamp (rows out of order are sent in time order), prompt and max tokens from the row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_gpt_trace_is_detected_and_replayed_in_time_order() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let trace = example("burst_gpt.csv");
    let url = mock.url();
    let out = Profile::new("mock-model", &url)
        .arg("--input-file", &trace)
        .seed(3)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.request_count, 3);
    let tok = TextTokenizer::builtin().unwrap();
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 3);
    let t0 = reqs[0].arrived;
    let got: Vec<(usize, usize, Value)> = reqs
        .iter()
        .map(|r| {
            let m = messages(r);
            assert_eq!(m.len(), 1, "independent single-turn requests");
            (
                tok.count(m[0]["content"].as_str().unwrap()),
                (((r.arrived - t0).as_secs_f64() * 1e3 / 50.0).round()) as usize,
                r.json().unwrap()["max_completion_tokens"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(10, 0, json!(3)), (20, 1, json!(4)), (30, 2, json!(5))]
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_turn_media_random_pool_and_sharegpt_on_the_wire() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    // single_turn with a local image (base64 data URI) and an image URL.
    let st = example("single_turn.jsonl");
    let out = base(&url, &st, "single_turn")
        .run(&dir.path().join("r1"))
        .await
        .unwrap();
    assert_eq!(
        out.request_count, 10,
        "default request count over 2 entries"
    );
    let reqs = posts(&mock);
    let png = std::fs::read(example("media/red.png")).unwrap();
    let png_uri = format!(
        "data:image/png;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png)
    );
    let first = reqs
        .iter()
        .find(|r| messages(r)[0]["content"][0]["text"] == "describe")
        .unwrap();
    assert_eq!(
        messages(first)[0]["content"],
        json!([{"type": "text", "text": "describe"}, {"type": "image_url", "image_url": {"url": png_uri}}])
    );
    let second = reqs
        .iter()
        .find(|r| messages(r)[0]["content"][0]["text"] == "and this")
        .unwrap();
    assert_eq!(
        messages(second)[0]["content"][1]["image_url"]["url"],
        "https://example.com/x.jpg"
    );
    assert_eq!(second.json().unwrap()["temperature"], 0.1);

    // random_pool directory: each request pairs one query with one passage.
    let pools = example("random_pool");
    let before = posts(&mock).len();
    let out = base(&url, &pools, "random_pool")
        .request_count(8)
        .arg("--conversation-num", 5)
        .run(&dir.path().join("r2"))
        .await
        .unwrap();
    assert_eq!(
        out.request_count, 5,
        "--conversation-num 5 stops the run before --request-count 8"
    );
    let pool_reqs = &posts(&mock)[before..];
    assert_eq!(pool_reqs.len(), 5);
    for r in pool_reqs {
        let parts = messages(r)[0]["content"].clone();
        assert!(parts[0]["text"].as_str().unwrap().starts_with("query "));
        assert_eq!(parts[1]["text"], "passage x");
    }

    // ShareGPT from a local file: the reference completion's length is the output length.
    let sg = example("sharegpt.json");
    let before = posts(&mock).len();
    let out = Profile::new("mock-model", &url)
        .arg("--public-dataset", "sharegpt")
        .arg("--input-file", &sg)
        .request_count(3)
        .run(&dir.path().join("r3"))
        .await
        .unwrap();
    assert_eq!(out.request_count, 3);
    let tok = TextTokenizer::builtin().unwrap();
    let want = tok.count("Sunlight scatters off air molecules; blue scatters most.");
    for r in &posts(&mock)[before..] {
        assert_eq!(
            messages(r)[0]["content"],
            "Explain why the sky is blue, briefly please.",
            "the 'hi' pair is filtered out (prompt < 4 tokens)"
        );
        assert_eq!(r.json().unwrap()["max_completion_tokens"], want);
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_centric_users_send_turns_one_gap_apart() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    // 3 users at 30 turns/s in all: each user sends a turn every 100 ms.
    let out = Profile::new("mock-model", &url)
        .isl(8)
        .osl(2)
        .arg("--user-centric-rate", 30)
        .arg("--num-users", 3)
        .arg("--conversation-turn-mean", 3)
        .request_count(12)
        .seed(1)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.request_count, 12);
    let reqs = posts(&mock);
    let mut sessions: HashMap<String, Vec<&RecordedRequest>> = HashMap::new();
    for r in &reqs {
        sessions
            .entry(r.header("x-correlation-id").unwrap().to_string())
            .or_default()
            .push(r);
    }
    // Users 1-3 send their 3 turns (9 requests); then a new user takes each lane.
    assert_eq!(sessions.len(), 6);
    assert_eq!(sessions.values().filter(|t| t.len() == 3).count(), 3);
    for turns in sessions.values() {
        for w in turns.windows(2) {
            let gap = (w[1].arrived - w[0].arrived).as_secs_f64() * 1e3;
            assert!((85.0..=140.0).contains(&gap), "per-user gap {gap} ms");
        }
    }
    let t0 = reqs[0].arrived;
    let firsts: Vec<f64> = reqs[..3]
        .iter()
        .map(|r| (r.arrived - t0).as_secs_f64() * 1e3)
        .collect();
    assert!(
        (25.0..=50.0).contains(&firsts[1]) && (55.0..=85.0).contains(&firsts[2]),
        "users staggered 1/rate apart: {firsts:?}"
    );
    let summary = read_json(dir.path().join("run/profile_export_aiperf.json"));
    assert_eq!(summary["load_report"]["mode"], "user_centric_rate");
    let profiling = &summary["input_config"]["phases"]["profiling"];
    assert_eq!(profiling["type"], "user_centric_rate");
    assert_eq!(profiling["load"]["num_users"], 3);
    mock.stop().await;
}

/// A synthetic run's `inputs.json` replayed (named, and detected) sends the same bodies, byte
/// for byte: one session per entry, each payload verbatim (no `--extra-inputs` merged again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_json_replays_a_runs_bodies_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let sorted_bodies = |mock: &aiperf_mock_server::MockHandle| {
        let mut b: Vec<Vec<u8>> = posts(mock).into_iter().map(|r| r.body.to_vec()).collect();
        b.sort();
        b
    };
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let out = Profile::new("mock-model", &url)
        .streaming()
        .isl(24)
        .osl(6)
        .seed(7)
        .arg("--num-dataset-entries", 5)
        .arg("--request-count", 5)
        .arg("--dataset-sampling-strategy", "sequential")
        .arg(
            "--extra-inputs",
            r#"{"temperature": 0.7, "nested": {"z": 1, "a": [1.5, "x"]}}"#,
        )
        .run(&dir.path().join("synthetic"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let sent = sorted_bodies(&mock);
    assert_eq!(sent.len(), 5);
    assert_eq!(
        sent.iter().collect::<std::collections::HashSet<_>>().len(),
        5
    );
    let has = |b: &[u8], s: &str| b.windows(s.len()).any(|w| w == s.as_bytes());
    assert!(sent
        .iter()
        .all(|b| has(b, r#""nested":{"z":1,"a":[1.5,"x"]}"#) && has(b, "\"stream\":true")));
    mock.stop().await;

    let inputs = dir.path().join("synthetic/inputs.json");
    let file = inputs.display().to_string();
    for (run, kind) in [("named", Some("inputs_json")), ("detected", None)] {
        let replay_mock = crate::common::mock(0.0, 0.0).await;
        let replay_url = replay_mock.url();
        let mut p = Profile::new("other-model", &replay_url)
            .arg("--input-file", &file)
            .arg("--request-count", 5)
            .arg("--dataset-sampling-strategy", "sequential")
            .arg("--extra-inputs", "temperature:0.1");
        if let Some(kind) = kind {
            p = p.arg("--custom-dataset-type", kind);
        }
        let out = p.run(&dir.path().join(run)).await.unwrap();
        assert_eq!(out.exit_code, 0, "{run}");
        assert_eq!(sorted_bodies(&replay_mock), sent, "{run}");
        // The replay's own inputs.json lists the same bodies again.
        assert_eq!(
            read_json(dir.path().join(run).join("inputs.json")),
            read_json(inputs.clone()),
            "{run}"
        );
        replay_mock.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_fail_before_any_request_with_file_and_line() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let cases = [
        (
            "multi_turn",
            "{\"turns\": [{\"text\": \"a\"}]}\n{\"turns\": [{\"text\": \"b\", \"output_length\": -2}]}\n",
            ":2: turn 0: 'output_length' must be > 0, got -2",
        ),
        (
            "mooncake_trace",
            "{\"input_length\": 10}\n\n{\"input_length\": 10, \"text_input\": \"x\"}\n",
            ":3: give exactly one of 'input_length', 'text_input', 'messages', 'payload'",
        ),
        (
            "single_turn",
            "{\"text\": \"a\", \"image\": \"missing.png\"}\n",
            ":1: image file '",
        ),
        ("random_pool", "not json\n", ":1: expected ident"),
        (
            "bailian_trace",
            "{\"chat_id\": 1, \"timestamp\": 0, \"input_length\": 5, \"output_length\": -1}\n",
            ":1: 'output_length' must be > 0, got -1",
        ),
        (
            "burst_gpt_trace",
            "Timestamp,Request tokens,Response tokens\n0,5,5\n1,x,5\n",
            ":3: 'Request tokens' must be a whole number >= 0, got 'x'",
        ),
        (
            "inputs_json",
            "{\"data\": [{\"session_id\": \"s\", \"payloads\": [{}]}, {\"session_id\": \"t\"}]}\n",
            ": data[1] has no 'payloads'",
        ),
    ];
    for (kind, text, want) in cases {
        let file = write(dir.path(), &format!("{kind}.jsonl"), text);
        let e = base(&url, &file, kind)
            .run(&dir.path().join("run"))
            .await
            .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains(&format!("{kind}.jsonl{want}")),
            "{kind}: {msg}"
        );
    }
    assert!(posts(&mock).is_empty(), "nothing was sent");
    assert!(
        !dir.path().join("run").exists(),
        "no artifact directory posing as a result"
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_images_and_audio_are_sent_as_content_parts() {
    use base64::Engine;
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let out = Profile::new("mock-model", &url)
        .isl(8)
        .osl(2)
        .arg("--image-width-mean", 32)
        .arg("--image-height-mean", 20)
        .arg("--image-batch-size", 2)
        .arg("--audio-length-mean", 0.25)
        .arg("--audio-sample-rates", 8)
        .request_count(3)
        .arg("--num-dataset-entries", 3)
        .seed(2)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (3, 0));
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
    for r in posts(&mock) {
        let parts = messages(&r)[0]["content"].as_array().unwrap().clone();
        let kinds: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["text", "image_url", "image_url", "input_audio"]);
        for p in &parts[1..3] {
            let url = p["image_url"]["url"].as_str().unwrap();
            let png = b64(url.strip_prefix("data:image/png;base64,").unwrap());
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            let dim = |o: usize| u32::from_be_bytes(png[o..o + 4].try_into().unwrap());
            assert_eq!((dim(16), dim(20)), (32, 20), "IHDR width and height");
        }
        assert_eq!(parts[3]["input_audio"]["format"], "wav");
        let wav = b64(parts[3]["input_audio"]["data"].as_str().unwrap());
        assert_eq!(&wav[..4], b"RIFF");
        let rate = u32::from_le_bytes(wav[24..28].try_into().unwrap());
        let data_len = u32::from_le_bytes(wav[40..44].try_into().unwrap());
        assert_eq!(
            (rate, data_len),
            (8000, 2000 * 2),
            "0.25 s of 16-bit mono at 8 kHz"
        );
    }
    mock.stop().await;
}
