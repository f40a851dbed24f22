//! Plugins end to end: a declarative endpoint from a manifest alone, an external dataset loader
//! and data exporter (executables speaking the JSON-lines protocol), a Rust endpoint registered in
//! code, and `aiperf plugins`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::*;
use aiperf_core::Turn;
use aiperf_endpoints::{Endpoint, PayloadOptions, ResponseData};
use aiperf_plugins::Registry;
use serde_json::{json, Map, Value};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/plugins")
}

fn with_example(name: &str) -> Registry {
    let mut r = Registry::builtin();
    r.load_manifest_file(&examples().join(name).join("plugins.yaml"))
        .expect("example manifest loads");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declarative_tgi_endpoint_from_a_manifest_alone() {
    let mock = mock(1.0, 0.5).await;
    let url = mock.url();
    for streaming in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let out = Profile::new("m", &url)
            .endpoint("tgi_generate")
            .request_count(5)
            .isl(16)
            .osl(6)
            .seed(4)
            .flag_if(streaming, "--streaming")
            .run_with(with_example("tgi-template"), dir.path())
            .await
            .unwrap();
        assert_eq!(
            (out.request_count, out.error_count),
            (5, 0),
            "streaming={streaming}"
        );
        let s = read_json(dir.path().join("profile_export_aiperf.json"));
        assert_eq!(
            stat(&s, "output_sequence_length", "avg"),
            6.0,
            "text picked by JMESPath counts 6 tokens"
        );
        assert_eq!(stat(&s, "input_sequence_length", "avg"), 16.0);
        assert_eq!(s.get("time_to_first_token").is_some(), streaming);
    }
    let reqs = mock.requests();
    assert_eq!(reqs[0].path, "/generate");
    assert_eq!(reqs[5].path, "/generate_stream");
    let body = reqs[0].json().unwrap();
    assert!(body["inputs"].is_string());
    assert_eq!(body["parameters"], json!({"max_new_tokens": 6}));
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_template_endpoint_from_extra_inputs() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &url)
        .endpoint("template")
        .arg("--endpoint", "/v1/completions")
        .arg("--extra-inputs", r#"payload_template:{"prompt": {{ text|tojson }}, "model": {{ model|tojson }}, "max_tokens": {{ max_tokens }}}"#)
        .arg("--extra-inputs", "response_field:choices[0].text")
        .arg("--extra-inputs", "temperature:0.5")
        .request_count(3)
        .isl(10)
        .osl(4)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (3, 0));
    let body = mock.requests()[0].json().unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["prompt", "model", "max_tokens", "temperature"],
        "template keys consumed, others merged"
    );
    let s = read_json(dir.path().join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "output_sequence_length", "avg"), 4.0);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_dataset_loader_feeds_the_wire() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("prompts.csv");
    std::fs::write(
        &csv,
        "prompt,max_tokens\nWhy is the sky blue?,3\n\"Name, then describe, a prime\",5\n",
    )
    .unwrap();
    let out_dir = dir.path().join("run");
    let out = Profile::new("m", &url)
        .input_file(csv.display(), "csv_prompts")
        .request_count(4)
        .run_with(with_example("csv-loader"), &out_dir)
        .await
        .unwrap();
    assert_eq!(out.request_count, 4);
    let sent: Vec<Value> = mock.requests().iter().map(|r| r.json().unwrap()).collect();
    let prompts: Vec<&str> = sent
        .iter()
        .map(|b| b["messages"][0]["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        prompts,
        [
            "Why is the sky blue?",
            "Name, then describe, a prime",
            "Why is the sky blue?",
            "Name, then describe, a prime"
        ],
        "file order, wrapping (sequential sampling for files)"
    );
    assert_eq!(sent[1]["max_completion_tokens"], 5);
    let inputs = read_json(out_dir.join("inputs.json"));
    assert_eq!(inputs["data"][0]["session_id"], "csv_000001");

    // A loader that reports a bad row fails the run before any request, naming the row.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "prompt\n\n   \n").unwrap();
    let before = mock.requests().len();
    let err = Profile::new("m", &url)
        .input_file(bad.display(), "csv_prompts")
        .run_with(with_example("csv-loader"), &dir.path().join("run2"))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("bad.csv:"), "{err:#}");
    assert_eq!(mock.requests().len(), before);
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_exporter_writes_its_file_and_failures_are_not_fatal() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &url)
        .request_count(7)
        .isl(8)
        .run_with(with_example("markdown-exporter"), dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let md = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(md.contains("7 requests recorded, 0 failed."), "{md}");
    assert!(md.contains("| request_latency |"), "{md}");
    assert!(
        out.console.contains("markdown Export: summary.md"),
        "{}",
        out.console
    );

    // An exporter that fails: the run still succeeds with every built-in artifact.
    let plugin_dir = tempfile::tempdir().unwrap();
    let script = plugin_dir.path().join("fail.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ncat > /dev/null\necho 'disk on fire' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let manifest = plugin_dir.path().join("plugins.yaml");
    std::fs::write(
        &manifest,
        "schema_version: '1.0'\ndata_exporter:\n  broken:\n    implementation: exec:./fail.sh\n",
    )
    .unwrap();
    let mut r = Registry::builtin();
    r.load_manifest_file(&manifest).unwrap();
    let run = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &url)
        .request_count(2)
        .isl(8)
        .run_with(r, run.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(
        out.console.contains("broken Export failed") && out.console.contains("disk on fire"),
        "{}",
        out.console
    );
    assert!(run.path().join("profile_export_aiperf.json").is_file());
    mock.stop().await;
}

/// An endpoint implemented in Rust by a program that embeds aiperf.
struct ShoutingCompletions;

impl Endpoint for ShoutingCompletions {
    fn payload(&self, turn: &Turn, opts: &PayloadOptions) -> Result<Map<String, Value>, String> {
        let mut m = Map::new();
        m.insert("prompt".into(), json!(turn.texts[0].to_uppercase()));
        m.insert("model".into(), json!(opts.model));
        m.insert("max_tokens".into(), json!(turn.max_tokens));
        Ok(m)
    }

    fn parse_json(&self, json: &str) -> (Option<ResponseData>, Option<Value>) {
        let v: Value = serde_json::from_str(json).unwrap_or(Value::Null);
        let text = v
            .pointer("/choices/0/text")
            .and_then(Value::as_str)
            .map(|t| ResponseData::Text(t.to_string()));
        (text, None)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_endpoint_registered_at_run_time() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let mut r = Registry::builtin();
    let endpoint: Arc<dyn Endpoint> = Arc::new(ShoutingCompletions);
    r.register("endpoint", "shouting", "my_crate::ShoutingCompletions", 0,
        json!({"endpoint_path": "/v1/completions", "supports_streaming": false, "produces_tokens": true, "tokenizes_input": true}),
        Some(Arc::new(endpoint))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("m", &url)
        .endpoint("shouting")
        .request_count(2)
        .isl(12)
        .osl(3)
        .run_with(r, dir.path())
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (2, 0));
    let prompt = mock.requests()[0].json().unwrap()["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(prompt, prompt.to_uppercase());
    mock.stop().await;
}

/// `aiperf <args>` (the `plugins` command: not a profile, so no [`Profile`]).
fn aiperf_plugins(args: &[&str], plugin_path: Option<&Path>) -> (i32, String, String) {
    let mut c = aiperf();
    c.args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent-aiperf-test");
    match plugin_path {
        Some(p) => c.env("AIPERF_PLUGIN_PATH", p),
        None => c.env_remove("AIPERF_PLUGIN_PATH"),
    };
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn plugins_command_lists_details_and_validates() {
    let ex = examples();
    let (code, out, _) = aiperf_plugins(&["plugins"], Some(&ex));
    assert_eq!(code, 0);
    for pkg in [
        "aiperf",
        "example-tgi-template",
        "example-csv-loader",
        "example-markdown-exporter",
    ] {
        assert!(out.contains(pkg), "missing package {pkg}: {out}");
    }
    let (code, out, _) = aiperf_plugins(&["plugins", "endpoint"], Some(&ex));
    assert_eq!(code, 0);
    assert!(
        out.contains("tgi_generate") && out.contains("chat") && out.contains("--endpoint-type"),
        "{out}"
    );
    let (code, out, _) = aiperf_plugins(&["plugins", "endpoint", "chat"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("endpoint:chat")
            && out.contains("Implementation: aiperf_endpoints::chat::Chat")
            && out.contains("/v1/chat/completions"),
        "{out}"
    );
    let (code, out, _) = aiperf_plugins(&["plugins", "--all"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("dataset_sampler") && out.contains("shuffle") && out.contains("data_exporter"),
        "{out}"
    );
    // Every one of AIPerf 0.13's 35 categories is accounted for: an entry here, or a reason.
    for category in [
        "service",
        "api_router",
        "service_manager",
        "endpoint",
        "transport",
        "dataset_composer",
        "custom_dataset_loader",
        "dataset_sampler",
        "dataset_backing_store",
        "dataset_client_store",
        "timing_strategy",
        "arrival_pattern",
        "ramp",
        "record_processor",
        "record_observer",
        "accumulator",
        "stream_exporter",
        "analyzer",
        "data_exporter",
        "console_exporter",
        "ui",
        "url_selection_strategy",
        "plot",
        "gpu_telemetry_collector",
        "spec_decode_adapter",
        "accuracy_grader",
        "accuracy_benchmark",
        "communication",
        "communication_client",
        "public_dataset_loader",
        "zmq_proxy",
        "search_recipe",
        "search_recipe_post_process",
        "convergence_criterion",
        "search_planner",
    ] {
        assert!(
            out.contains(category),
            "{category} missing from plugins --all"
        );
    }
    let (code, out, _) = aiperf_plugins(&["plugins", "search_planner"], None);
    assert_eq!(code, 0);
    assert!(
        ["bayesian", "monotonic_sla", "smooth_isotonic"]
            .iter()
            .all(|p| out.contains(p)),
        "{out}"
    );
    let (code, _, err) = aiperf_plugins(&["plugins", "endpoint", "chatt"], None);
    assert_eq!(code, 1);
    assert!(err.contains("Did you mean 'chat'?"), "{err}");
    let (code, out, _) = aiperf_plugins(&["plugins", "--validate"], Some(&ex));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("are valid"), "{out}");

    // A manifest naming a Rust type this build does not have fails validation, naming it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "schema_version: '1.0'\nui:\n  fancy:\n    implementation: someone::Fancy\n",
    )
    .unwrap();
    let (code, out, _) = aiperf_plugins(&["plugins", "--validate"], Some(dir.path()));
    assert_eq!(code, 1);
    assert!(
        out.contains("bad.yaml") && out.contains("ui:fancy") && out.contains("someone::Fancy"),
        "{out}"
    );
    // A broken manifest stops aiperf before anything runs, naming the file.
    std::fs::write(dir.path().join("broken.yaml"), "schema_version: '1.0'\nendpoint:\n  x:\n    implementation: a::B\n    metadata: {nope: 1}\n").unwrap();
    let (code, _, err) = aiperf_plugins(&["plugins"], Some(dir.path()));
    assert_eq!(code, 1);
    assert!(
        err.contains("broken.yaml") && err.contains("endpoint:x"),
        "{err}"
    );
}
