//! Trace formats end to end (baseten_trace, sagemaker_data_capture, raw_payload) and the trace
//! replay flags, checked in the bodies and send times the mock received.

use std::collections::HashMap;

use crate::common::*;
use aiperf_mock_server::RecordedRequest;
use serde_json::{json, Value};

/// Milliseconds from `t0` to when the mock parsed `r`.
fn ms_since(t0: std::time::Instant, r: &RecordedRequest) -> f64 {
    (r.arrived - t0).as_secs_f64() * 1e3
}

/// Slack for a send time measured at the mock, relative to the first request's arrival: the
/// pacer sleeps to the millisecond, but on two cores shared with compilers a wake-up (the
/// first request's included, which shifts every other one) can be a few tens of ms late.
const SLACK_MS: f64 = 60.0;

fn last_content(r: &RecordedRequest) -> String {
    let body = r.json().unwrap();
    let m = body["messages"].as_array().unwrap();
    m.last().unwrap()["content"].as_str().unwrap().to_string()
}

/// The lines of a JSONL file as they go on the wire (compact, key order kept).
fn wire_lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::to_string(&serde_json::from_str::<Value>(l).unwrap()).unwrap())
        .collect()
}

fn body_text(r: &RecordedRequest) -> String {
    String::from_utf8(r.body.to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_payload_lines_are_sent_verbatim_file_and_directory() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    // A file, detected without --custom-dataset-type: each line one request, byte for byte
    // (no --extra-inputs merged, no history).
    let file = example("raw_payload.jsonl");
    let out = Profile::new("mock-model", &url)
        .arg("--input-file", &file)
        .arg("--extra-inputs", "ignore_eos:true")
        .arg("--dataset-sampling-strategy", "sequential")
        .request_count(2)
        .run(&dir.path().join("file"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 2));
    let sent: Vec<String> = posts(&mock).iter().map(body_text).collect();
    assert_eq!(sent, wire_lines(&file));

    // A directory: one conversation per file (name order), its lines the turns.
    let mock2 = aiperf_mock_server::start(aiperf_mock_server::MockConfig::for_tests(0.0, 0.0))
        .await
        .unwrap();
    let folder = example("raw_payload");
    let out = Profile::new("mock-model", &mock2.url())
        .input_file(&folder, "raw_payload")
        .arg("--dataset-sampling-strategy", "sequential")
        .request_count(3)
        .run(&dir.path().join("dir"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 3));
    let sent: Vec<String> = posts(&mock2).iter().map(body_text).collect();
    let mut want = wire_lines(&format!("{folder}/chat_a.jsonl"));
    want.extend(wire_lines(&format!("{folder}/chat_b.jsonl")));
    assert_eq!(sent, want, "chat_a's two turns in order, then chat_b");
    mock.stop().await;
    mock2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_fail_with_file_and_line_before_any_request() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = mock.url();
    let ok = "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}";
    let capture = |time: &str| {
        json!({"captureData": {"endpointInput": {"data": "{\"messages\": []}", "encoding": "JSON"}},
               "eventMetadata": {"eventId": "e1", "inferenceTime": time}})
        .to_string()
    };
    let cases = [
        (
            "raw_payload",
            "r.jsonl",
            format!("{ok}\n{{\"model\": \"m\"}}\n"),
            "r.jsonl:2: raw_payload line missing required 'messages' array (got NoneType)",
        ),
        (
            "raw_payload",
            "r.jsonl",
            format!("{ok}\n\n[1, 2]\n"),
            "r.jsonl:3: raw_payload line must be a JSON object, got list",
        ),
        (
            "sagemaker_data_capture",
            "c.jsonl",
            format!("{}\n{}\n", capture("2026-04-29T00:00:00Z"), capture("noon")),
            "c.jsonl:2: Capture record e1 has malformed inferenceTime: Invalid isoformat string: 'noon'",
        ),
    ];
    for (kind, name, text, want) in cases {
        let file = write(dir.path(), name, text);
        let e = Profile::new("mock-model", &url)
            .input_file(&file, kind)
            .run(&dir.path().join("run"))
            .await
            .unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains(want), "{kind}: {msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }
    // A Parquet row breaking a rule names its row.
    let p = dir.path().join("t.parquet");
    aiperf_dataset::loader::baseten::write_parquet(
        &p,
        &[
            (0, Some("a"), "x", 1, 1, vec![], None),
            (5, Some("a"), "y", 1, -2, vec![], None),
        ],
    )
    .unwrap();
    let e = Profile::new("mock-model", &url)
        .input_file(p.display(), "baseten_trace")
        .run(&dir.path().join("run"))
        .await
        .unwrap_err();
    assert!(
        format!("{e:#}").contains("t.parquet:2: 'output_tokens' must be >= 0, got -2"),
        "{e:#}"
    );
    assert!(posts(&mock).is_empty(), "nothing was sent");
    mock.stop().await;
}

/// The capture directory is read recursively and detected without --custom-dataset-type;
/// records go in inferenceTime order (not file order) with their captured messages, tools and
/// max_tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sagemaker_capture_replays_messages_at_inference_times() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("mock-model", &mock.url())
        .arg("--input-file", example("sagemaker_capture"))
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 3));
    let reqs = posts(&mock);
    let t0 = reqs[0].arrived;
    let got: Vec<(String, Value, f64)> = reqs
        .iter()
        .map(|r| {
            (
                last_content(r),
                r.json().unwrap()["max_completion_tokens"].clone(),
                ms_since(t0, r),
            )
        })
        .collect();
    let want = [
        ("First by time", json!(6), 0.0),
        ("Second by time", json!(5), 50.0),
        ("Third by time", json!(4), 100.0),
    ];
    for ((content, max, at), (w_content, w_max, w_at)) in got.iter().zip(want) {
        assert_eq!((content.as_str(), max), (w_content, &w_max));
        assert!((at - w_at).abs() < SLACK_MS, "{content} at {at} ms");
    }
    let first = reqs[0].json().unwrap();
    assert_eq!(
        first["messages"],
        json!([{"role": "system", "content": "You help."}, {"role": "user", "content": "First by time"}])
    );
    assert_eq!(first["tools"][0]["function"]["name"], "lookup");
    mock.stop().await;
}

/// `(content, body, ms after the first request)` of every request, in arrival order.
fn timeline(reqs: &[RecordedRequest]) -> Vec<(String, Value, f64)> {
    let t0 = reqs[0].arrived;
    reqs.iter()
        .map(|r| (last_content(r), r.json().unwrap(), ms_since(t0, r)))
        .collect()
}

/// The example trace (written by pyarrow): rows at +0 (sess-a), +500 (no session, 0 output
/// tokens), +800 (sess-a) and +1000 ms (sess-b). Open loop sends each at its time; the body
/// asks for the recorded output length and carries the KV hints; a later turn of a session is
/// sent alone, as AIPerf does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseten_trace_replays_rows_with_min_tokens_and_kv_hints() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("mock-model", &mock.url())
        .input_file(example("baseten_trace.parquet"), "baseten_trace")
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 4));
    let t = timeline(&posts(&mock));
    let want = [
        (
            "Once upon a time",
            0.0,
            json!({"max_completion_tokens": 3, "min_tokens": 3, "hash_ids": [101, 102], "block_size": 2}),
        ),
        (
            "A lone request",
            500.0,
            json!({"max_completion_tokens": 1, "min_tokens": 1}),
        ),
        (
            "Once upon a time there was",
            800.0,
            json!({"max_completion_tokens": 4, "min_tokens": 4, "hash_ids": [101, 102, 103], "block_size": 2}),
        ),
        (
            "Hello there",
            1000.0,
            json!({"max_completion_tokens": 2, "min_tokens": 2, "hash_ids": [201], "block_size": 2}),
        ),
    ];
    for ((content, body, at), (w_content, w_at, w_fields)) in t.iter().zip(want) {
        assert_eq!(content, w_content);
        assert_eq!(body["messages"].as_array().unwrap().len(), 1, "no history");
        for (k, v) in w_fields.as_object().unwrap() {
            assert_eq!(&body[k], v, "{content}: {k}");
        }
        for k in ["min_tokens", "hash_ids", "block_size"] {
            assert_eq!(
                body.get(k).is_some(),
                w_fields.get(k).is_some(),
                "{content}: {k}"
            );
        }
        assert!((at - w_at).abs() < SLACK_MS, "{content} at {at} ms");
    }
    mock.stop().await;
}

/// `--replay-speedup 10` divides the recorded times: 0, 500, 800, 1000 ms become 0, 50, 80,
/// 100 ms. `--omit-kv-hints --no-force-min-tokens` leave only max tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_speedup_compresses_send_times_tenfold() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("mock-model", &mock.url())
        .input_file(example("baseten_trace.parquet"), "baseten_trace")
        .arg("--replay-speedup", 10)
        .flag("--omit-kv-hints")
        .flag("--no-force-min-tokens")
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 4));
    let t = timeline(&posts(&mock));
    let at: Vec<f64> = t.iter().map(|x| x.2).collect();
    for (got, want) in at.iter().zip([0.0, 50.0, 80.0, 100.0]) {
        assert!((got - want).abs() < SLACK_MS, "{at:?}");
    }
    // Recorded span 1000 ms; replayed in 100 ms +- slack: at least 6x faster.
    assert!(at[3] < 100.0 + SLACK_MS, "{at:?}");
    for (_, body, _) in &t {
        for k in ["min_tokens", "hash_ids", "block_size"] {
            assert!(body.get(k).is_none(), "{k} in {body}");
        }
        assert!(body.get("max_completion_tokens").is_some());
    }
    mock.stop().await;
}

/// `--no-open-loop-replay`: sess-a's second turn (recorded 800 ms after the first, which took
/// 120 ms) goes a think time of 680 ms after the first turn's answer; session starts keep their
/// times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_replay_waits_the_recorded_think_time() {
    let mock = mock(30.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("mock-model", &mock.url())
        .input_file(example("baseten_trace.parquet"), "baseten_trace")
        .flag("--no-open-loop-replay")
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 4));
    let t = timeline(&posts(&mock));
    let at = |c: &str| t.iter().find(|x| x.0 == c).unwrap().2;
    // The first answer takes the mock's 30 ms TTFT (+ a token).
    let second = at("Once upon a time there was");
    assert!(
        (30.0 + 680.0 - 1.0..30.0 + 680.0 + 2.0 * SLACK_MS).contains(&second),
        "{second}"
    );
    assert!((at("A lone request") - 500.0).abs() < SLACK_MS);
    assert!((at("Hello there") - 1000.0).abs() < SLACK_MS);
    mock.stop().await;
}

/// `--trace-session-sample-ratio 0.5` keeps whole sessions (each of the kept ones sends all 3
/// of its rows), the same ones for the same --random-seed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_sampling_keeps_whole_sessions_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sessions.parquet");
    let names: Vec<String> = (0..30).map(|i| format!("s{i:02}")).collect();
    let prompts: Vec<String> = (0..30)
        .flat_map(|i| (0..3).map(move |k| format!("session {i:02} turn {k}")))
        .collect();
    let rows: Vec<_> = (0..90)
        .map(|j| {
            let (i, k) = (j / 3, j % 3);
            (
                (i * 5 + k) as i64,
                Some(names[i].as_str()),
                prompts[j].as_str(),
                3,
                1,
                vec![],
                None,
            )
        })
        .collect();
    aiperf_dataset::loader::baseten::write_parquet(&p, &rows).unwrap();
    let mut kept_sets = Vec::new();
    for run in 0..2 {
        let mock = mock(0.0, 0.0).await;
        let out = Profile::new("mock-model", &mock.url())
            .input_file(p.display(), "baseten_trace")
            .arg("--trace-session-sample-ratio", 0.5)
            .seed(11)
            .run(&dir.path().join(format!("run{run}")))
            .await
            .unwrap();
        assert_eq!(out.exit_code, 0);
        let mut per_session: HashMap<String, usize> = HashMap::new();
        for r in posts(&mock) {
            let c = last_content(&r);
            *per_session.entry(c[..10].to_string()).or_default() += 1;
        }
        assert!(per_session.values().all(|n| *n == 3), "{per_session:?}");
        // Binomial(30, 0.5): mean 15, sd 2.7; 4 sd either side, at least one kept.
        assert!(
            (4..=26).contains(&per_session.len()),
            "{}",
            per_session.len()
        );
        assert_eq!(out.request_count as usize, 3 * per_session.len());
        let mut kept: Vec<String> = per_session.into_keys().collect();
        kept.sort();
        kept_sets.push(kept);
        mock.stop().await;
    }
    assert_eq!(kept_sets[0], kept_sets[1], "same seed, same sessions");
}

/// `--ignore-trace-delays` with `--no-fixed-schedule`: the mooncake session's 40 ms delay is
/// dropped, so its follow-up goes as soon as the first answer is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_trace_delays_drops_recorded_delays() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("mock-model", &mock.url())
        .input_file(example("mooncake_trace.jsonl"), "mooncake_trace")
        .flag("--no-fixed-schedule")
        .flag("--ignore-trace-delays")
        .arg("--isl-block-size", 16)
        .arg("--dataset-sampling-strategy", "sequential")
        .request_count(5)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let reqs = posts(&mock);
    let first = reqs
        .iter()
        .position(|r| last_content(r) == "literal prompt")
        .unwrap();
    let follow = reqs
        .iter()
        .position(|r| last_content(r) == "follow up")
        .unwrap();
    let gap = (reqs[follow].arrived - reqs[first].arrived).as_secs_f64() * 1e3;
    assert!(gap < 40.0, "the 40 ms delay was kept: {gap} ms");
    mock.stop().await;
}

/// `--synthesis-*` on a Mooncake trace (block size 4): two rows share blocks 0 and 1. With the
/// prefix stretched x2, outputs x2 and time /2, worked by hand as AIPerf 0.13's Synthesizer
/// computes it (checked on the same rows): row 1 becomes blocks [0,1,2,3,5], 18 tokens,
/// `max_tokens` 10, at 0 ms; row 2 blocks [0,1,2,3,6], 20 tokens, `max_tokens` 14, at 200 ms
/// (recorded 400). The two prompts share their first four blocks: 16 identical tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthesis_reshapes_a_mooncake_trace() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let trace = write(
        dir.path(),
        "trace.jsonl",
        "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": [0, 1, 2]}\n\
         {\"timestamp\": 400, \"input_length\": 12, \"output_length\": 7, \"hash_ids\": [0, 1, 3]}\n",
    );
    let out = Profile::new("mock-model", &mock.url())
        .input_file(&trace, "mooncake_trace")
        .arg("--tokenizer", "builtin")
        .arg("--isl-block-size", 4)
        .arg("--synthesis-prefix-len-multiplier", 2)
        .arg("--synthesis-output-len-multiplier", 2)
        .arg("--synthesis-speedup-ratio", 2)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 2));
    let sent = posts(&mock);
    let tokenizer = aiperf_dataset::TextTokenizer::builtin().unwrap();
    let ids: Vec<Vec<u32>> = sent
        .iter()
        .map(|r| tokenizer.encode(&last_content(r)))
        .collect();
    assert_eq!((ids[0].len(), ids[1].len()), (18, 20));
    assert_eq!(ids[0][..16], ids[1][..16]);
    assert_ne!(ids[0][16..], ids[1][16..18]);
    let max_tokens: Vec<u64> = sent
        .iter()
        .map(|r| {
            let b = r.json().unwrap();
            b["max_completion_tokens"]
                .as_u64()
                .or(b["max_tokens"].as_u64())
                .unwrap()
        })
        .collect();
    assert_eq!(max_tokens, [10, 14]);
    let gap = ms_since(sent[0].arrived, &sent[1]);
    assert!(
        (gap - 200.0).abs() < SLACK_MS,
        "second request {gap:.0} ms after the first"
    );
    mock.stop().await;
}
