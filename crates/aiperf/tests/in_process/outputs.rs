//! The output flags of `aiperf profile`, end to end against the in-process mock server:
//! `--export-level raw` (`profile_export_raw.jsonl`), `--export-outputs-json` (`outputs.json`),
//! `--export-http-trace` (`trace_data` per record), `--show-trace-timing` (the console table),
//! `--profile-export-prefix` (file names), and a run where every request failed.
//!
//! What the client wrote is checked against what the mock recorded (bodies, generated text) and
//! against the per-request metrics of the same request, never against itself.

use std::collections::HashMap;
use std::path::Path;

use crate::common::*;
use aiperf_mock_server::{MockConfig, MockHandle};
use serde_json::Value;

/// Every violation of the published schema `file` by `doc`, one per line (empty when valid).
fn schema_violations(file: &str, doc: &Value) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas")
        .join(file);
    let schema = read_json(path);
    let v = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file}: {e}"));
    v.iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The mock's requests by `x-request-id`: (body as JSON, generated text).
fn by_request_id(mock: &MockHandle) -> HashMap<String, (Value, Option<String>)> {
    posts(mock)
        .into_iter()
        .map(|r| {
            let id = r
                .headers
                .iter()
                .find(|(n, _)| n == "x-request-id")
                .map(|(_, v)| v.clone())
                .expect("every request carries x-request-id");
            let body: Value = serde_json::from_slice(&r.body).expect("JSON body");
            (id, (body, r.reply))
        })
        .collect()
}

/// The text of a chat stream's `data` packets (`choices[0].delta.content`), joined.
fn streamed_text(responses: &Value) -> String {
    responses
        .as_array()
        .expect("responses")
        .iter()
        .flat_map(|r| r["packets"].as_array().cloned().unwrap_or_default())
        .filter(|p| p["name"] == "data" && p["value"] != "[DONE]")
        .filter_map(|p| {
            let v: Value = serde_json::from_str(p["value"].as_str()?).ok()?;
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// A streamed chat run of `n` requests at concurrency 2 with one warm-up request.
async fn run(mock: &MockHandle, dir: &Path, n: u32, extra: &[&str]) -> aiperf_engine::RunOutcome {
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(n)
        .isl(8)
        .osl(4)
        .arg("--warmup-request-count", 1)
        .args(extra)
        .run(dir)
        .await
        .expect("the run finishes");
    assert_eq!(out.exit_code, 0, "{}", out.console);
    assert_eq!(out.request_count, u64::from(n));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_payloads_of_later_turns_carry_their_history_exactly() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(
        &mock,
        dir.path(),
        6,
        &[
            "--export-level",
            "raw",
            "--conversation-turn-mean",
            "3",
            "--conversation-turn-stddev",
            "0",
        ],
    )
    .await;
    let sent = by_request_id(&mock);
    let lines = read_jsonl(dir.path().join("profile_export_raw.jsonl"));
    let mut later_turns = 0;
    for l in &lines {
        let id = l["metadata"]["x_request_id"].as_str().unwrap();
        assert_eq!(
            &l["payload"], &sent[id].0,
            "{id}: the body the mock received"
        );
        if l["metadata"]["turn_index"].as_u64().unwrap() > 0 {
            later_turns += 1;
            assert!(
                l["payload"]["messages"].as_array().unwrap().len() >= 3,
                "{id}: history"
            );
        }
    }
    assert!(later_turns > 0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_export_holds_every_request_as_sent_and_every_response_as_received() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(
        &mock,
        dir.path(),
        6,
        &["--export-level", "raw", "--api-key", "sk-very-secret"],
    )
    .await;
    let sent = by_request_id(&mock);
    let text = std::fs::read_to_string(dir.path().join("profile_export_raw.jsonl")).unwrap();
    assert!(!text.contains("sk-very-secret"), "the API key is redacted");
    let lines = read_jsonl(dir.path().join("profile_export_raw.jsonl"));
    // 6 profiled requests and the warm-up one, as AIPerf writes them; the records file keeps
    // the profiled ones.
    assert_eq!(lines.len(), 7);
    assert_eq!(sent.len(), 7);
    assert_eq!(read_jsonl(dir.path().join("profile_export.jsonl")).len(), 6);
    let phases: Vec<&str> = lines
        .iter()
        .map(|l| l["metadata"]["benchmark_phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.iter().filter(|p| **p == "warmup").count(), 1);
    for l in &lines {
        assert_eq!(
            schema_violations("profile_export_raw_record.schema.json", l),
            ""
        );
        let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "metadata",
                "start_perf_ns",
                "request_headers",
                "status",
                "responses",
                "payload"
            ]
        );
        let id = l["metadata"]["x_request_id"].as_str().unwrap();
        let (body, reply) = &sent[id];
        assert_eq!(&l["payload"], body, "{id}: the body the mock received");
        assert_eq!(l["status"], 200);
        assert_eq!(l["request_headers"]["x-request-id"], id);
        assert_eq!(l["request_headers"]["authorization"], "<redacted>");
        assert_eq!(
            Some(streamed_text(&l["responses"])),
            reply.clone(),
            "{id}: the text the mock generated"
        );
        let responses = l["responses"].as_array().unwrap();
        let last = &responses[responses.len() - 1]["packets"][0];
        assert_eq!(
            (&last["name"], &last["value"]),
            (&Value::from("data"), &Value::from("[DONE]"))
        );
        // Arrival times on the run's monotonic clock, after the request started.
        let start = l["start_perf_ns"].as_u64().unwrap();
        assert!(responses
            .iter()
            .all(|r| r["perf_ns"].as_u64().unwrap() >= start));
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_json_pairs_each_profiled_response_with_its_request() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(&mock, dir.path(), 5, &["--export-outputs-json"]).await;
    let sent = by_request_id(&mock);
    let doc = read_json(dir.path().join("outputs.json"));
    assert_eq!(schema_violations("outputs.schema.json", &doc), "");
    assert_eq!(doc.as_object().unwrap().len(), 2, "schema_version and data");
    assert_eq!(doc["schema_version"], "1.0");
    let data = doc["data"].as_array().unwrap();
    assert_eq!(data.len(), 5, "profiled requests only, not the warm-up");
    assert!(!dir.path().join("output_fragments").exists());
    let records: HashMap<String, Value> = read_jsonl(dir.path().join("profile_export.jsonl"))
        .into_iter()
        .map(|l| {
            (
                l["metadata"]["x_request_id"].as_str().unwrap().to_string(),
                l,
            )
        })
        .collect();
    let sessions: Vec<u64> = data
        .iter()
        .map(|e| e["session_num"].as_u64().unwrap())
        .collect();
    let mut sorted = sessions.clone();
    sorted.sort_unstable();
    assert_eq!(sessions, sorted, "sorted by session");
    for e in data {
        let id = e["x_request_id"].as_str().unwrap();
        assert_eq!(
            e["response_text"].as_str(),
            sent[id].1.as_deref(),
            "{id}: the text the mock generated"
        );
        let record = &records[id];
        assert_eq!(
            e["request_start_ns"],
            record["metadata"]["request_start_ns"]
        );
        assert_eq!(e["conversation_id"], record["metadata"]["conversation_id"]);
        let metrics = e["metrics"].as_object().unwrap();
        let tags: Vec<&String> = metrics.keys().collect();
        assert_eq!(
            tags,
            [
                "input_sequence_length",
                "output_token_count",
                "output_sequence_length",
                "request_latency",
                "time_to_first_token",
                "inter_token_latency"
            ]
        );
        for (tag, v) in metrics {
            assert_eq!(v, &record["metrics"][tag]["value"], "{id}: {tag}");
        }
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_trace_data_is_on_each_record_and_agrees_with_its_metrics() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    run(&mock, dir.path(), 6, &["--export-http-trace"]).await;
    let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(lines.len(), 6);
    for l in &lines {
        assert_eq!(
            schema_violations("profile_export_record.schema.json", l),
            ""
        );
        let t = &l["trace_data"];
        let m = &l["metrics"];
        let ms = |field: &str| t[field].as_u64().unwrap() as f64 / 1e6;
        let metric = |tag: &str| m[tag]["value"].as_f64().unwrap();
        for (field, tag) in [
            ("sending_ns", "http_req_sending"),
            ("waiting_ns", "http_req_waiting"),
            ("receiving_ns", "http_req_receiving"),
            ("blocked_ns", "http_req_blocked"),
            ("connecting_ns", "http_req_connecting"),
            ("duration_ns", "http_req_duration"),
        ] {
            assert_close(ms(field), metric(tag), 1e-9, tag);
        }
        assert_eq!(t["response_status_code"], 200);
        assert_eq!(t["response_reason"], "OK");
        assert_close(
            t["response_bytes_total"].as_f64().unwrap() / 1024.0,
            metric("http_req_data_received"),
            1e-12,
            "bytes received",
        );
        assert_eq!(
            t["response_receive_end_ns"],
            l["metadata"]["request_end_ns"]
        );
        let send_start = t["request_send_start_ns"].as_u64().unwrap();
        assert!(send_start >= l["metadata"]["request_start_ns"].as_u64().unwrap());
        assert_eq!(
            t["duration_ns"].as_u64().unwrap(),
            t["response_receive_end_ns"].as_u64().unwrap() - send_start
        );
    }
    // Without the flag, no trace data.
    let dir = tempfile::tempdir().unwrap();
    run(&mock, dir.path(), 2, &[]).await;
    let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert!(lines.iter().all(|l| l.get("trace_data").is_none()));
    mock.stop().await;
}

/// AIPerf's HTTP trace table rows, in its order.
const TRACE_ROWS: [&str; 14] = [
    "HTTP Blocked (ms)",
    "HTTP DNS Lookup (ms)",
    "HTTP Connecting (ms)",
    "HTTP Sending (ms)",
    "HTTP Waiting (TTFB) (ms)",
    "HTTP Receiving (ms)",
    "HTTP Connection Reused (ratio)",
    "HTTP Data Sent (KB)",
    "HTTP Chunks Sent (count)",
    "HTTP Data Received (KB)",
    "HTTP Chunks Received (count)",
    "HTTP Connection Overhead (ms)",
    "HTTP Duration (excl. conn) (ms)",
    "HTTP Total Time (ms)",
];

/// The table's rows appear in AIPerf's order, and a row whose value is known by hand: one
/// body write per request.
fn assert_trace_table(text: &str) {
    let mut at = text
        .find("NVIDIA AIPerf | HTTP Trace Timing")
        .expect("the table title");
    for row in TRACE_ROWS {
        let found = text[at..]
            .find(row)
            .unwrap_or_else(|| panic!("{row} after the rows before it:\n{text}"));
        at += found;
    }
    let chunks_sent = text
        .lines()
        .find(|l| l.contains("HTTP Chunks Sent (count)"))
        .unwrap();
    let cells: Vec<&str> = chunks_sent
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells[1..],
        ["1.00", "1.00", "1.00", "1.00", "1.00", "1.00", "0.00"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_timing_table_lists_the_http_phases_in_aiperfs_order() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mock, dir.path(), 4, &["--show-trace-timing"]).await;
    let table = aiperf_export::console::render_trace_timing(&out.summary, 140);
    assert_trace_table(&table);
    // The console shows the trace table once, and the metric tables never list its rows.
    assert!(
        out.console.contains("NVIDIA AIPerf | HTTP Trace Timing"),
        "{}",
        out.console
    );
    assert_eq!(
        out.console.matches("HTTP Blocked").count(),
        1,
        "only the trace table shows the HTTP trace metrics:\n{}",
        out.console
    );
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_timing_table_is_printed_and_saved_before_the_metric_tables() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mock, dir.path(), 4, &["--show-trace-timing"]).await;
    assert_trace_table(&out.console);
    let saved = std::fs::read_to_string(dir.path().join("profile_export_console.txt")).unwrap();
    assert_trace_table(&saved);
    let trace = saved.find("HTTP Trace Timing").unwrap();
    let metrics = saved.find("NVIDIA AIPerf | LLM Metrics").unwrap();
    assert!(trace < metrics, "AIPerf prints it before the metric tables");
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_renames_the_per_request_files_and_moves_earlier_ones_aside() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let prefixed = [
        "--profile-export-prefix",
        "run1_raw.jsonl",
        "--export-level",
        "raw",
    ];
    run(&mock, dir.path(), 3, &prefixed).await;
    let d = dir.path();
    assert_eq!(read_jsonl(d.join("run1.jsonl")).len(), 3);
    assert_eq!(
        read_jsonl(d.join("run1_raw.jsonl")).len(),
        4,
        "with the warm-up"
    );
    assert!(!d.join("profile_export.jsonl").exists());
    assert!(!d.join("profile_export_raw.jsonl").exists());
    run(&mock, dir.path(), 2, &prefixed).await;
    assert_eq!(read_jsonl(d.join("run1.jsonl")).len(), 2);
    assert_eq!(read_jsonl(d.join("previous_run/run1.jsonl")).len(), 3);
    // A relative directory part is kept under the artifact directory; an absolute path keeps
    // only its file name, so the run's files never leave its directory.
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let absolute = elsewhere.path().join("run3.csv");
    run(
        &mock,
        dir.path(),
        2,
        &["--profile-export-prefix", "sub/run2"],
    )
    .await;
    assert_eq!(read_jsonl(dir.path().join("sub/run2.jsonl")).len(), 2);
    run(
        &mock,
        dir.path(),
        2,
        &["--profile-export-prefix", absolute.to_str().unwrap()],
    )
    .await;
    assert_eq!(read_jsonl(dir.path().join("run3.jsonl")).len(), 2);
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_renames_the_summary_files_and_the_footer_names_them() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &mock,
        dir.path(),
        3,
        &[
            "--profile-export-file",
            "run1.csv",
            "--export-level",
            "raw",
            "--export-outputs-json",
        ],
    )
    .await;
    let d = dir.path();
    assert_eq!(
        stat(&read_json(d.join("run1.json")), "request_count", "avg"),
        3.0
    );
    assert!(std::fs::read_to_string(d.join("run1.csv"))
        .unwrap()
        .contains("Request Count"));
    assert!(d.join("run1_console.txt").is_file());
    assert!(!d.join("profile_export_aiperf.json").exists());
    for line in [
        format!("CSV Export: {}", d.join("run1.csv").display()),
        format!("JSON Export: {}", d.join("run1.json").display()),
        format!("Raw Records: {}", d.join("run1_raw.jsonl").display()),
        format!("Outputs JSON: {}", d.join("outputs.json").display()),
    ] {
        assert!(out.console.contains(&line), "{line}\n{}", out.console);
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_colliding_with_outputs_json_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let e = Profile::chat("http://127.0.0.1:9")
        .request_count(1)
        .arg("--profile-export-prefix", "outputs.json")
        .flag("--export-outputs-json")
        .run(dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "--profile-export-prefix: resolves to 'outputs' which produces 'outputs.json', \
         colliding with --export-outputs-json (also 'outputs.json'). Use a different prefix."
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_where_every_request_failed_writes_its_files_and_exits_1() {
    let mock = mock_with(MockConfig {
        faults: vec!["http:500@1".into()],
        ..MockConfig::for_tests(0.0, 0.0)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::chat(&mock.url())
        .streaming()
        .concurrency(2)
        .request_count(4)
        .isl(8)
        .osl(4)
        .args(["--export-level", "raw", "--export-outputs-json"])
        .run(dir.path())
        .await
        .expect("a run of failures is still a run");
    assert_eq!(out.exit_code, 1);
    assert_eq!((out.request_count, out.error_count), (0, 4));
    let d = dir.path();
    let summary = read_json(d.join("profile_export_aiperf.json"));
    assert_eq!(summary["error_summary"][0]["count"], 4);
    assert_eq!(summary["error_summary"][0]["error_details"]["code"], 500);
    let records = read_jsonl(d.join("profile_export.jsonl"));
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r["error"]["code"] == 500));
    let raw = read_jsonl(d.join("profile_export_raw.jsonl"));
    assert_eq!(raw.len(), 4);
    for r in &raw {
        assert_eq!(
            schema_violations("profile_export_raw_record.schema.json", r),
            ""
        );
    }
    assert!(raw
        .iter()
        .all(|r| r["status"] == 500 && r["error"]["type"] == "Internal Server Error"));
    let outputs = read_json(d.join("outputs.json"));
    assert_eq!(schema_violations("outputs.schema.json", &outputs), "");
    let data = outputs["data"].as_array().unwrap();
    assert_eq!(data.len(), 4);
    assert!(data
        .iter()
        .all(|e| e["response_text"].is_null() && e["metrics"] == serde_json::json!({})));
    mock.stop().await;
}
