//! The artifacts a real run writes validate against the JSON Schemas published under
//! `docs/schemas/`: a streamed chat run at a request rate, with HTTP errors and a connection reset
//! mid-stream, so error lines, partial responses and the load report are all exercised.

use std::path::Path;

use aiperf_mock_server::MockConfig;

use crate::common::*;
use serde_json::Value;

pub fn validator(file: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas")
        .join(file);
    let schema = read_json(path);
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file} is not a schema: {e}"))
}

/// Every violation, one per line (empty when valid).
pub fn violations(v: &jsonschema::Validator, doc: &Value) -> String {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_of_a_run_with_errors_match_the_published_schemas() {
    let mock = mock_with(MockConfig {
        faults: vec!["http:503@5".into(), "reset_mid_stream@7".into()],
        ..MockConfig::for_tests(1.0, 0.5)
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = mock.url();
    let out = Profile::chat(&url)
        .streaming()
        .request_rate(200)
        .request_count(16)
        .isl(16)
        .osl(6)
        .seed(3)
        .run(dir.path())
        .await
        .expect("run completes");
    mock.stop().await;
    assert!(out.error_count >= 2, "faults injected: {}", out.error_count);

    let summary = read_json(dir.path().join("profile_export_aiperf.json"));
    let v = validator("profile_export_aiperf.schema.json");
    let bad = violations(&v, &summary);
    assert!(bad.is_empty(), "summary JSON:\n{bad}");
    assert!(summary["load_report"]["scheduled_request_rate"].is_number());
    assert!(!summary["error_summary"]
        .as_array()
        .expect("array")
        .is_empty());

    let lines = read_jsonl(dir.path().join("profile_export.jsonl"));
    assert_eq!(lines.len() as u64, out.request_count + out.error_count);
    let v = validator("profile_export_record.schema.json");
    for (i, line) in lines.iter().enumerate() {
        let bad = violations(&v, line);
        assert!(bad.is_empty(), "line {i}: {bad}\n{line}");
    }
    assert!(lines.iter().any(|l| l.get("error").is_some()));
    assert!(
        lines
            .iter()
            .any(|l| l["metadata"].get("partial_response").is_some()),
        "a reset mid-stream leaves a partial response"
    );

    // The schemas are strict: a renamed field is caught.
    let mut renamed = summary.clone();
    if let Some(o) = renamed["run_info"].as_object_mut() {
        let seed = o.remove("random_seed").unwrap_or(Value::Null);
        o.insert("seed".into(), seed);
    }
    assert!(!violations(&validator("profile_export_aiperf.schema.json"), &renamed).is_empty());
    let mut renamed = lines[0].clone();
    if let Some(o) = renamed["metadata"].as_object_mut() {
        let id = o.remove("x_request_id").unwrap_or(Value::Null);
        o.insert("request_id".into(), id);
    }
    assert!(!violations(&v, &renamed).is_empty());
}

/// A repeated sweep with a failed configuration: the per-run summaries carry the multi-run
/// `run_info`, and the aggregate and sweep files match their schemas (a stray or renamed field
/// fails).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_and_sweep_files_match_the_published_schemas() {
    let mut cfg = MockConfig::for_tests(1.0, 0.5);
    cfg.max_output_tokens = 50;
    let mock = mock_with(cfg).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, _) = Profile::chat(&mock.url())
        .streaming()
        .request_count(3)
        .isl(8)
        .osl("4,100")
        .concurrency("1,2")
        .arg("--num-profile-runs", 2)
        .run_set(dir.path())
        .await
        .expect("sweep completes");
    assert_eq!(out.runs.len(), 8);
    let summary = validator("profile_export_aiperf.schema.json");
    let run = read_json(
        dir.path()
            .join("profile_runs/trial_0002/mean_4__concurrency_2/profile_export_aiperf.json"),
    );
    let bad = violations(&summary, &run);
    assert!(bad.is_empty(), "per-run summary:\n{bad}");
    let aggregate = validator("profile_export_aiperf_aggregate.schema.json");
    let doc = read_json(
        dir.path()
            .join("aggregate/mean_4__concurrency_1/profile_export_aiperf_aggregate.json"),
    );
    let bad = violations(&aggregate, &doc);
    assert!(bad.is_empty(), "aggregate JSON:\n{bad}");
    let sweep = validator("profile_export_aiperf_sweep.schema.json");
    let doc = read_json(
        dir.path()
            .join("aggregate/sweep_aggregate/profile_export_aiperf_sweep.json"),
    );
    let bad = violations(&sweep, &doc);
    assert!(bad.is_empty(), "sweep JSON:\n{bad}");
    assert_eq!(doc["failed_runs"].as_array().unwrap().len(), 4);
}
