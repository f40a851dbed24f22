//! A run file's inline dataset `records:` end to end against the mock: the records are written
//! to a content-addressed JSONL file, read by the loader of their `format`, and every prompt
//! reaches the server exactly as written.

use crate::common::*;

/// The run file's arguments (as `aiperf profile --config FILE` layers them) run in process.
async fn run_file(
    file: &std::path::Path,
    artifacts: &std::path::Path,
) -> aiperf_engine::RunOutcome {
    let argv: Vec<String> = ["aiperf", "profile", "--config"]
        .into_iter()
        .map(String::from)
        .chain([file.display().to_string()])
        .collect();
    let mut args = aiperf_config::yaml::layered(&argv, file).expect("the run file loads");
    args.artifact_dir = Some(artifacts.to_path_buf());
    let registry = aiperf_plugins::Registry::builtin();
    let cfg = aiperf_config::ProfileConfig::resolve(args, &argv, &registry).expect("resolves");
    aiperf_engine::Engine::new(std::sync::Arc::new(registry))
        .run(&cfg, &aiperf_engine::Silent)
        .await
        .expect("the run completes")
}

/// The user message of every chat request the mock received, sorted.
fn sent_prompts(mock: &aiperf_mock_server::MockHandle) -> Vec<String> {
    let mut prompts: Vec<String> = posts(mock)
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
            let content = &body["messages"][0]["content"];
            content
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| content[0]["text"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    prompts.sort();
    prompts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_single_turn_records_are_sent_as_written() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.yaml");
    std::fs::write(
        &file,
        format!(
            "schemaVersion: \"2.0\"
benchmark:
  model: mock-model
  endpoint: {{url: {url}, type: chat}}
  dataset:
    type: file
    format: single_turn
    sampling: sequential
    records:
      - {{text: \"first inline prompt\"}}
      - {{text: \"second inline prompt\", output_length: 3}}
      - {{text: \"third inline prompt\"}}
  phases: {{type: concurrency, concurrency: 1, requests: 3}}
",
            url = mock.url()
        ),
    )
    .unwrap();
    let out = run_file(&file, &dir.path().join("artifacts")).await;
    assert_eq!(out.exit_code, 0);
    // Three records, three requests, each prompt once (sequential sampling).
    assert_eq!(
        sent_prompts(&mock),
        [
            "first inline prompt",
            "second inline prompt",
            "third inline prompt"
        ]
    );
    // The record's output_length became the request's token limit.
    let limited: Vec<serde_json::Value> = posts(&mock)
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
        .filter(|b| b.to_string().contains("second inline prompt"))
        .collect();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0]["max_completion_tokens"], 3, "{}", limited[0]);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_multi_turn_records_run_as_conversations() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.yaml");
    std::fs::write(
        &file,
        format!(
            "benchmark:
  model: mock-model
  endpoint: {{url: {url}, type: chat}}
  dataset:
    type: file
    format: multi_turn
    records:
      - session_id: chat_1
        turns:
          - {{text: \"turn one\"}}
          - {{text: \"turn two\"}}
  phases: {{type: concurrency, concurrency: 1, sessions: 1}}
",
            url = mock.url()
        ),
    )
    .unwrap();
    let out = run_file(&file, &dir.path().join("artifacts")).await;
    assert_eq!(out.exit_code, 0);
    let bodies: Vec<serde_json::Value> = posts(&mock)
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    // One conversation of two turns: the second request carries the first turn as history.
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["messages"].as_array().unwrap().len(), 1);
    assert_eq!(bodies[1]["messages"].as_array().unwrap().len(), 3);
    assert!(bodies[1].to_string().contains("turn one"));
    assert!(bodies[1].to_string().contains("turn two"));
    mock.stop().await;
}

/// Scenario runs from a run file, resolved on the layered command line (file flags, then the
/// typed ones) as `--variant` needs: what `ProfileConfig::resolve_set` must pass for `aiperf
/// profile --config` (the change asked of `resolve/multi_run.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_runs_from_a_run_file_each_send_their_own_requests() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.yaml");
    std::fs::write(
        &file,
        format!(
            "benchmark:
  model: mock-model
  endpoint: {{url: {url}, type: chat}}
  dataset:
    type: file
    records: [{{text: \"inline\"}}]
  phases: {{type: concurrency, concurrency: 1, requests: 2}}
  artifacts: {{dir: {dir}}}
sweep:
  type: scenarios
  runs:
    - {{name: two, benchmark: {{phases: {{requests: 2}}}}}}
    - {{name: three, benchmark: {{phases: {{requests: 3}}}}}}
",
            url = mock.url(),
            dir = dir.path().join("artifacts").display()
        ),
    )
    .unwrap();
    let typed: Vec<String> = ["aiperf", "profile", "--config"]
        .into_iter()
        .map(String::from)
        .chain([file.display().to_string()])
        .collect();
    let argv = aiperf_config::yaml::layered_argv(&typed, &file).unwrap();
    let args = aiperf_config::yaml::layered(&typed, &file).unwrap();
    let registry = aiperf_plugins::Registry::builtin();
    let set = aiperf_config::ProfileConfig::resolve_set(args, &argv, &registry).unwrap();
    let labels: Vec<&str> = set.variations.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(labels, ["two", "three"]);
    let engine = aiperf_engine::Engine::new(std::sync::Arc::new(registry));
    let outcome = engine
        .run_set(
            &set,
            "test-sweep",
            &aiperf_engine::Silent,
            &mut |_: &str| {},
        )
        .await;
    assert_eq!(outcome.exit_code, 0);
    // 2 + 3 requests, every one the inline prompt.
    assert_eq!(sent_prompts(&mock), vec!["inline"; 5]);
    mock.stop().await;
}
