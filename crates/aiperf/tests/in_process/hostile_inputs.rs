//! What a new user gets wrong on the first day (issue 18): dataset files without
//! `--custom-dataset-type`, files saved with a byte-order mark, a `config.json` passed as
//! `--tokenizer`, synthetic-only flags next to `--input-file`, rankings endpoints on synthetic
//! data, and a model name whose tokenizer is not available. Each either works or stops with one
//! clear line before anything is sent.

use crate::common::*;
use aiperf_dataset::TextTokenizer;
use serde_json::Value;

/// Every format we ship an example of runs without `--custom-dataset-type`: the type is
/// detected from the file and echoed in the summary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_dataset_runs_without_a_type() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("single_turn.jsonl", "single_turn"),
        ("multi_turn.jsonl", "multi_turn"),
        ("random_pool", "random_pool"),
        ("mooncake_trace.jsonl", "mooncake_trace"),
        ("sharegpt.json", "sharegpt"),
    ];
    for (i, (file, want)) in cases.iter().enumerate() {
        let before = posts(&mock).len();
        let run = dir.path().join(format!("run{i}"));
        let out = Profile::new("mock-model", &url)
            .arg("--input-file", example(file))
            .arg("--isl-block-size", 16)
            .request_count(3)
            .seed(1)
            .run(&run)
            .await
            .unwrap_or_else(|e| panic!("{file}: {e:#}"));
        assert_eq!((out.exit_code, out.error_count), (0, 0), "{file}");
        assert!(posts(&mock).len() > before, "{file}: requests were sent");
        let summary = read_json(run.join("profile_export_aiperf.json"));
        assert_eq!(
            summary["input_config"]["datasets"][0]["format"], *want,
            "{file}"
        );
    }
    mock.stop().await;
}

/// A file nothing recognizes stops the run with one line naming it, before any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrecognized_file_is_refused_before_sending() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "prompts.jsonl", "{\"prompt\": \"hi\"}\n");
    let e = Profile::new("mock-model", &mock.url())
        .arg("--input-file", &file)
        .run(&dir.path().join("run"))
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert_eq!(
        msg,
        format!("--input-file: {file}: no dataset format recognizes this file (the record on line 1 has fields 'prompt'); pass --custom-dataset-type (one of: single_turn, multi_turn, random_pool, mooncake_trace, sharegpt, bailian_trace, burst_gpt_trace, inputs_json, baseten_trace, sagemaker_data_capture, raw_payload, dag_jsonl, weka_trace, tracelab, speed_bench_* (32 variants))")
    );
    assert!(posts(&mock).is_empty());
    assert!(!dir.path().join("run").exists());
    mock.stop().await;
}

/// A byte-order mark at the start of a dataset file (as Windows editors save it) is not part
/// of the first record: the rows arrive as written, with or without an explicit type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bom_at_the_start_of_a_dataset_is_ignored() {
    let mock = mock(0.0, 0.0).await;
    let url = mock.url();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "bom.jsonl",
        "\u{feff}{\"text\": \"first row\"}\n{\"text\": \"second row\"}\n",
    );
    for (i, kind) in [None, Some("single_turn")].into_iter().enumerate() {
        let p = Profile::new("mock-model", &url).request_count(2);
        let p = match kind {
            Some(k) => p.input_file(&file, k),
            None => p.arg("--input-file", &file),
        };
        let out = p.run(&dir.path().join(format!("run{i}"))).await.unwrap();
        assert_eq!((out.exit_code, out.error_count), (0, 0));
    }
    let mut texts: Vec<String> = posts(&mock)
        .iter()
        .map(|r| {
            r.json().unwrap()["messages"][0]["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        ["first row", "first row", "second row", "second row"]
    );
    // The system prompt file goes through the same reader.
    let sys = write(dir.path(), "sys.txt", "\u{feff}Be brief.");
    Profile::new("mock-model", &url)
        .arg("--system-prompt-file", &sys)
        .isl(8)
        .request_count(1)
        .run(&dir.path().join("run-sys"))
        .await
        .unwrap();
    let last = posts(&mock).into_iter().max_by_key(|r| r.arrived).unwrap();
    assert_eq!(last.json().unwrap()["messages"][0]["content"], "Be brief.");
    mock.stop().await;
}

/// A JSON file that is not a tokenizer (the model's config.json) is named as such, with what
/// it lacks, instead of a JSON syntax error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_json_as_tokenizer_says_what_is_wrong() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "config.json",
        r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096}"#,
    );
    let e = Profile::new("mock-model", &mock.url())
        .arg("--tokenizer", &cfg)
        .request_count(1)
        .run(&dir.path().join("run"))
        .await
        .unwrap_err();
    assert_eq!(
        format!("{e:#}"),
        format!("--tokenizer: '{cfg}' is not a tokenizer.json: it has no \"model\" section (its keys: \"architectures\", \"hidden_size\"); pass a Hugging Face tokenizer.json or the model directory holding one")
    );
    assert!(posts(&mock).is_empty());
    mock.stop().await;
}

/// Rankings endpoints on synthetic data get what AIPerf sends them: one query and
/// `--rankings-passages-mean` passages of the asked lengths; no request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_rankings_send_a_query_and_passages() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let tok = TextTokenizer::builtin().unwrap();
    let out = Profile::new("mock-model", &mock.url())
        .endpoint("nim_rankings")
        .arg("--rankings-passages-mean", 3)
        .arg("--rankings-passages-prompt-token-mean", 20)
        .arg("--rankings-query-prompt-token-mean", 10)
        .request_count(4)
        .seed(2)
        .run(&dir.path().join("run"))
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.error_count, out.request_count),
        (0, 0, 4)
    );
    let summary = read_json(dir.path().join("run/profile_export_aiperf.json"));
    assert_eq!(
        summary["input_config"]["datasets"][0]["rankings"],
        serde_json::json!({"passages": {"mean": 3.0, "stddev": 0.0},
            "passage_tokens": {"mean": 20.0, "stddev": 0.0},
            "query_tokens": {"mean": 10.0, "stddev": 0.0}})
    );
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 4);
    for r in reqs {
        assert_eq!(r.path, "/v1/ranking");
        let body = r.json().unwrap();
        assert_eq!(tok.count(body["query"]["text"].as_str().unwrap()), 10);
        let passages = body["passages"].as_array().unwrap();
        assert_eq!(passages.len(), 3);
        for p in passages {
            assert_eq!(tok.count(p["text"].as_str().unwrap()), 20);
        }
    }
    mock.stop().await;
}

/// A rankings run on a file whose rows have no passages is refused before sending, instead of
/// failing every request with 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rankings_rows_without_passages_are_refused_before_sending() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "q.jsonl", "{\"text\": \"just a query\"}\n");
    for kind in ["nim_rankings", "hf_tei_rankings", "cohere_rankings"] {
        let e = Profile::new("mock-model", &mock.url())
            .endpoint(kind)
            .arg("--input-file", &file)
            .request_count(1)
            .run(&dir.path().join("run"))
            .await
            .unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            format!("--endpoint-type {kind}: a rankings request needs passages to rank: give texts named 'passages' (or more than one text) besides the query (dataset entry session_000000, turn 0)")
        );
    }
    assert!(posts(&mock).is_empty());
    mock.stop().await;
}

/// When the model's tokenizer cannot be loaded, the summary says which one counted tokens and
/// that it was a fallback; an explicit `--tokenizer` is no fallback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_says_which_tokenizer_counted_and_whether_it_was_a_fallback() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let tokenizer = |run: &str| -> Value {
        read_json(dir.path().join(run).join("profile_export_aiperf.json"))["input_config"]
            ["tokenizer"]
            .clone()
    };
    // No `/`: not tried on the Hub, so this test makes no request outside the machine (the
    // Hub fallback is `in_process/hub.rs`, against a fake Hub).
    Profile::new("no-such-model-xyz", &mock.url())
        .isl(8)
        .request_count(1)
        .run(&dir.path().join("fallback"))
        .await
        .unwrap();
    assert_eq!(
        tokenizer("fallback"),
        serde_json::json!({"name": "no-such-model-xyz", "revision": "main",
            "used": "builtin", "fallback": true,
            "fallback_reason": "'no-such-model-xyz' is not a local tokenizer, not in the Hugging Face cache, and not an 'org/name' Hub id"})
    );
    Profile::new("no-such-model-xyz", &mock.url())
        .arg("--tokenizer", "builtin")
        .isl(8)
        .request_count(1)
        .run(&dir.path().join("explicit"))
        .await
        .unwrap();
    assert_eq!(
        tokenizer("explicit"),
        serde_json::json!({"name": "builtin", "revision": "main", "used": "builtin",
            "fallback": false})
    );
    mock.stop().await;
}

/// The real binary's log: the detected type as INFO, the synthetic-only flags next to a file
/// as one WARN naming them as typed, the tokenizer fallback as WARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_names_detection_ignored_flags_and_the_fallback() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "d.jsonl", "{\"text\": \"hi\"}\n");
    let out = Profile::new("no-such-org/no-such-model-xyz", &mock.url())
        .arg("--input-file", &file)
        .isl(100)
        .arg("--prompt-batch-size", 2)
        .request_count(1)
        .ui("none")
        .command(Some(&dir.path().join("run")))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = |needle: &str| -> String {
        let found: Vec<&str> = stderr.lines().filter(|l| l.contains(needle)).collect();
        assert_eq!(found.len(), 1, "one line with {needle:?} in:\n{stderr}");
        found[0].to_string()
    };
    assert!(line("Auto-detected dataset type: single_turn").contains("INFO"));
    assert!(line(
        "--isl, --prompt-batch-size shape synthetic data only: they are ignored with --input-file"
    )
    .contains("WARN"));
    let fallback = line("no tokenizer for model 'no-such-org/no-such-model-xyz': ");
    assert!(fallback.contains("WARN"), "{fallback}");
    assert!(fallback.contains("HF_HUB_OFFLINE is set"), "{fallback}");
    assert!(
        fallback.contains("built-in o200k_base tokenizer, not the model's"),
        "{fallback}"
    );
    mock.stop().await;
}
