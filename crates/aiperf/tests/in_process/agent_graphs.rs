//! Agent graphs end to end (`dag_jsonl`): branches start child sessions, joins hold the parent's
//! next turn until they finished, forks carry the parent's messages; checked in the bodies and
//! arrival times the mock received.

use crate::common::*;
use aiperf_mock_server::RecordedRequest;
use serde_json::Value;

fn messages(r: &RecordedRequest) -> Vec<Value> {
    r.json().unwrap()["messages"].as_array().unwrap().clone()
}

fn last_user(r: &RecordedRequest) -> String {
    let m = messages(r);
    m.last().unwrap()["content"].as_str().unwrap().to_string()
}

fn find<'a>(sent: &'a [RecordedRequest], text: &str) -> &'a RecordedRequest {
    sent.iter()
        .find(|r| last_user(r) == text)
        .unwrap_or_else(|| panic!("no request ends with '{text}'"))
}

fn ms(a: &RecordedRequest, b: &RecordedRequest) -> f64 {
    if b.arrived >= a.arrived {
        (b.arrived - a.arrived).as_secs_f64() * 1e3
    } else {
        -((a.arrived - b.arrived).as_secs_f64() * 1e3)
    }
}

const SPAWN_AND_JOIN: &str = r#"{"session_id":"root","turns":[{"messages":[{"role":"user","content":"plan the work"}],"max_tokens":4,"spawns":["w1","w2"]},{"messages":[{"role":"user","content":"merge the results"}],"max_tokens":4,"delay":100}]}
{"session_id":"w1","turns":[{"messages":[{"role":"user","content":"worker one"}],"max_tokens":4}]}
{"session_id":"w2","turns":[{"messages":[{"role":"user","content":"worker two a"}],"max_tokens":4},{"messages":[{"role":"user","content":"worker two b"}],"max_tokens":4,"delay":40}]}
"#;

/// Spawned children start fresh once the parent's turn answered, run side by side (they hold
/// no `--concurrency` slot), keep their own turn order and think time, and the parent's next
/// turn waits until the last child answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_children_run_beside_each_other_and_the_join_waits_for_them() {
    let mock = mock(60.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "graph.jsonl", SPAWN_AND_JOIN);
    let out = Profile::new("mock-model", &mock.url())
        .input_file(&file, "dag_jsonl")
        .concurrency(1)
        .request_count(5)
        .run(&dir.path().join("out"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 5));
    let sent = posts(&mock);
    assert_eq!(sent.len(), 5);
    let (plan, merge) = (
        find(&sent, "plan the work"),
        find(&sent, "merge the results"),
    );
    let (w1, w2a, w2b) = (
        find(&sent, "worker one"),
        find(&sent, "worker two a"),
        find(&sent, "worker two b"),
    );
    // Spawns start fresh: only their own message.
    for w in [w1, w2a] {
        assert_eq!(messages(w).len(), 1, "{:?}", messages(w));
    }
    // w2's second turn carries its own first turn and reply, not the parent's.
    let m = messages(w2b);
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["content"], "worker two a");
    assert_eq!(m[1]["role"], "assistant");
    // After the parent's first answer (>= 60 ms TTFT), both children at once although
    // --concurrency is 1 (each before the other could have answered).
    assert!(ms(plan, w1) >= 55.0 && ms(plan, w2a) >= 55.0);
    assert!(ms(w1, w2a).abs() < 40.0, "{}", ms(w1, w2a));
    // w2b after w2a answered plus its 40 ms think time.
    assert!(ms(w2a, w2b) >= 95.0, "{}", ms(w2a, w2b));
    // The join: the parent's second turn only after w2b answered (>= 60 ms) and then its own
    // 100 ms think time, counted from that release (as AIPerf), not from the parent's own
    // earlier answer; it carries the parent's own history (not the children's).
    assert!(ms(w2b, merge) >= 155.0, "{}", ms(w2b, merge));
    let m = messages(merge);
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["content"], "plan the work");
    // Records name each request's own conversation.
    let records = read_jsonl(dir.path().join("out/profile_export.jsonl"));
    let mut ids: Vec<String> = records
        .iter()
        .map(|r| {
            r["metadata"]["conversation_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["root", "root", "w1", "w2", "w2"]);
    mock.stop().await;
}

const FORKS: &str = r#"{"session_id":"main","turns":[{"messages":[{"role":"system","content":"you are terse"},{"role":"user","content":"read the repo"}],"max_tokens":4,"forks":[{"child":"bg","background":true}]},{"messages":[{"role":"user","content":"write the patch"}],"max_tokens":4,"forks":["fa","fb"]}]}
{"session_id":"bg","turns":[{"messages":[{"role":"user","content":"index in the background"}],"max_tokens":4,"delay":150}]}
{"session_id":"fa","turns":[{"messages":[{"role":"user","content":"try approach a"}],"max_tokens":4}]}
{"session_id":"fb","turns":[{"messages":[{"role":"user","content":"try approach b"}],"max_tokens":4}]}
"#;

/// Fork children continue the parent's conversation: their first request carries every
/// message the parent sent and its reply. A background fork lets the parent go on at once,
/// and the run waits for it (a late child's request still ends as a record).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forks_carry_the_parents_messages_and_background_forks_do_not_hold_it() {
    let mock = mock(20.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "forks.jsonl", FORKS);
    let out = Profile::new("mock-model", &mock.url())
        .input_file(&file, "dag_jsonl")
        .concurrency(1)
        .arg("--conversation-num", 1)
        .run(&dir.path().join("out"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 5));
    let sent = posts(&mock);
    let (read, patch) = (find(&sent, "read the repo"), find(&sent, "write the patch"));
    let bg = find(&sent, "index in the background");
    // The parent did not wait for the background child (150 ms think time).
    assert!(ms(patch, bg) > 50.0, "{}", ms(patch, bg));
    // bg: system, user, assistant reply of turn 0, then its own message.
    let m = messages(bg);
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(m[..2], messages(read)[..]);
    assert_eq!(m[2]["role"], "assistant");
    assert!(!m[2]["content"].as_str().unwrap().is_empty());
    // fa and fb: everything of the parent's two turns, then their own message.
    for text in ["try approach a", "try approach b"] {
        let m = messages(find(&sent, text));
        assert_eq!(m.len(), 6, "{m:?}");
        assert_eq!(m[..4], messages(patch)[..]);
        assert_eq!(m[4]["role"], "assistant");
    }
    mock.stop().await;
}

const PRE_SESSION: &str = r#"{"session_id":"lead","pre_session_spawns":["indexer"],"turns":[{"messages":[{"role":"user","content":"start"}],"max_tokens":2},{"messages":[{"role":"user","content":"finish"}],"max_tokens":2,"spawns":["late"]}]}
{"session_id":"indexer","turns":[{"messages":[{"role":"user","content":"index"}],"max_tokens":2}]}
{"session_id":"late","turns":[{"messages":[{"role":"user","content":"late work"}],"max_tokens":2,"delay":120}]}
"#;

/// Open loop (`--request-rate`): the root's pre-session child starts once for the phase (as
/// AIPerf dispatches it, not per session); every session starts its last-turn child 120 ms
/// after the parent ended, and the run waits for those children, so every planned request is
/// sent and ends as a record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sessions_start_their_children_and_the_run_waits_for_them() {
    let mock = mock(5.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "pre.jsonl", PRE_SESSION);
    let out = Profile::new("mock-model", &mock.url())
        .input_file(&file, "dag_jsonl")
        .request_rate(50)
        .arg("--conversation-num", 3)
        .run(&dir.path().join("out"))
        .await
        .unwrap();
    // 3 sessions x (2 turns + late) + one indexer.
    assert_eq!((out.exit_code, out.request_count), (0, 10));
    let sent = posts(&mock);
    let count = |text: &str| sent.iter().filter(|r| last_user(r) == text).count();
    assert_eq!(
        ["start", "finish", "index", "late work"].map(count),
        [3, 3, 1, 3]
    );
    let records = read_jsonl(dir.path().join("out/profile_export.jsonl"));
    assert_eq!(records.len(), 10);
    mock.stop().await;
}

const WEKA: &str = r#"{"id": "t1", "models": ["m"], "block_size": 64, "hash_id_scope": "local", "requests": [
  {"type": "n", "t": 0, "model": "m", "in": 64, "out": 4, "hash_ids": [1], "api_time": 0.05},
  {"type": "subagent", "t": 0.1, "agent_id": "a1", "duration_ms": 300, "status": "completed",
   "models": ["m"], "subagent_type": "Explore", "requests": [
    {"type": "n", "t": 0.15, "model": "m", "in": 64, "out": 2, "hash_ids": [100], "api_time": 0.05},
    {"type": "n", "t": 0.25, "model": "m", "in": 128, "out": 2, "hash_ids": [100, 101], "api_time": 0.05}]},
  {"type": "n", "t": 0.5, "model": "m", "in": 128, "out": 4, "hash_ids": [1, 2], "api_time": 0.05}]}"#;

/// A Weka trace's subagent runs as a joined child: closed loop, and replayed on its fixed
/// schedule, where the phase's request count includes the children's requests (a count of
/// the roots' turns alone would cut the subagent and the joined turn off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weka_subagents_are_sent_closed_loop_and_on_a_fixed_schedule() {
    let mock = mock(5.0, 1.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "trace.json", WEKA);
    for (name, fixed) in [("closed", false), ("fixed", true)] {
        let out = Profile::new("mock-model", &mock.url())
            .input_file(&file, "weka_trace")
            .arg("--conversation-num", 1)
            .flag_if(fixed, "--fixed-schedule")
            .run(&dir.path().join(name))
            .await
            .unwrap();
        assert_eq!((out.exit_code, out.request_count), (0, 4), "{name}");
        let records = read_jsonl(dir.path().join(name).join("profile_export.jsonl"));
        let mut ids: Vec<String> = records
            .iter()
            .map(|r| {
                r["metadata"]["conversation_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        ids.sort();
        assert_eq!(ids, ["t1", "t1", "t1::sa:a1", "t1::sa:a1"], "{name}");
    }
    mock.stop().await;
}
