//! `--public-dataset` end to end: a fake Hugging Face Hub on 127.0.0.1 answering as the real one
//! does (`/api/datasets/<repo>/revision/<rev>` for the file list, `/datasets/<repo>/resolve/...`
//! with `X-Repo-Commit` and `ETag` for files) serves small datasets in their real repository
//! layouts (gsm8k's README configs block and Parquet files; MT-Bench as JSON Lines), handed to
//! the engine as a `HubConfig`; the prompts the mock received are the rows' texts.

use std::collections::HashMap;
use std::sync::Arc;

use crate::common::*;
use crate::fake_hub::{engine, fake_hub, COMMIT};
use aiperf_hub::HubConfig;
use aiperf_plugins::Registry;
use arrow_array::{ArrayRef, StringArray};
use serde_json::{json, Value};

/// A Parquet file with string columns, written as `datasets` writes them (Snappy).
fn parquet(columns: &[(&str, &[&str])]) -> Vec<u8> {
    let arrays: Vec<(&str, ArrayRef)> = columns
        .iter()
        .map(|(name, values)| {
            (
                *name,
                Arc::new(StringArray::from(values.to_vec())) as ArrayRef,
            )
        })
        .collect();
    crate::fake_hub::parquet_file(arrays)
}

const GSM8K_README: &str = "---\nlicense: mit\nconfigs:\n- config_name: main\n  data_files:\n  - split: train\n    path: main/train-*\n  - split: test\n    path: main/test-*\n- config_name: socratic\n  data_files:\n  - split: train\n    path: socratic/train-*\n  - split: test\n    path: socratic/test-*\n---\n# GSM8K\n";

fn gsm8k() -> HashMap<String, Vec<u8>> {
    let mut files = HashMap::new();
    files.insert("README.md".into(), GSM8K_README.as_bytes().to_vec());
    files.insert(".gitattributes".into(), b"*.parquet filter=lfs".to_vec());
    files.insert(
        "main/test-00000-of-00001.parquet".into(),
        parquet(&[
            ("question", &["Q1: 2+2?", "Q2: 3*3?", "Q3: 10-7?"]),
            ("answer", &["4", "9", "3"]),
        ]),
    );
    files.insert(
        "main/train-00000-of-00001.parquet".into(),
        parquet(&[("question", &["TRAIN"]), ("answer", &["x"])]),
    );
    files.insert(
        "socratic/test-00000-of-00001.parquet".into(),
        parquet(&[("question", &["S1: why?"]), ("answer", &["y"])]),
    );
    files
}

fn prompts(mock: &aiperf_mock_server::MockHandle) -> Vec<String> {
    posts(mock)
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            let msgs = body["messages"].as_array().unwrap();
            msgs.last().unwrap()["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// gsm8k's `main` config, `test` split: only that Parquet file is downloaded (not train, not
/// socratic), its questions are sent in order; a second engine downloads nothing again, and an
/// offline one runs from the cache without a single request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsm8k_questions_come_from_the_hub_once() {
    let (hub_url, seen) = fake_hub(HashMap::from([("openai/gsm8k".to_string(), gsm8k())]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "spec_al_gsm8k")
        .arg("--tokenizer", "builtin")
        .osl(4)
        .request_count(3);
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("a")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(prompts(&mock), ["Q1: 2+2?", "Q2: 3*3?", "Q3: 10-7?"]);
    // The summary names the dataset as AIPerf does (speed-bench-report reads it from there).
    let summary = read_json(dir.path().join("a/profile_export_aiperf.json"));
    let dataset = &summary["input_config"]["datasets"][0];
    assert_eq!(dataset["type"], "public", "{dataset}");
    assert_eq!(dataset["dataset"], "spec_al_gsm8k");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/api/datasets/openai/gsm8k/revision/main".to_string(),
            format!("/datasets/openai/gsm8k/resolve/{COMMIT}/README.md"),
            format!("/datasets/openai/gsm8k/resolve/{COMMIT}/main/test-00000-of-00001.parquet"),
        ]
    );
    let cached = dir
        .path()
        .join("hf-cache/datasets--openai--gsm8k/snapshots")
        .join(COMMIT)
        .join("main/test-00000-of-00001.parquet");
    assert!(cached.is_file());

    // A new engine: the file list is asked again (the revision may have moved), no file is.
    seen.lock().unwrap().clear();
    engine(&hub)
        .run(&p.config(&dir.path().join("b")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        ["/api/datasets/openai/gsm8k/revision/main".to_string()]
    );

    // Offline: the cache alone.
    seen.lock().unwrap().clear();
    hub.offline = true;
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("c")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(prompts(&mock).len(), 9);
    mock.stop().await;
}

/// `--hf-subset socratic` reads that config's file instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hf_subset_picks_another_config() {
    let (hub_url, _seen) = fake_hub(HashMap::from([("openai/gsm8k".to_string(), gsm8k())]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let with_subset = |subset: &str| {
        Profile::chat(&mock.url())
            .arg("--public-dataset", "spec_al_gsm8k")
            .arg("--hf-subset", subset)
            .arg("--tokenizer", "builtin")
            .request_count(2)
    };
    engine(&hub)
        .run(
            &with_subset("socratic").config(dir.path()),
            &aiperf_engine::Silent,
        )
        .await
        .unwrap();
    assert_eq!(prompts(&mock), ["S1: why?", "S1: why?"]);

    // A subset the repo does not have is named with the ones it has, before any request.
    let p = with_subset("nope");
    let err = engine(&hub)
        .run(&p.config(&dir.path().join("x")), &aiperf_engine::Silent)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--public-dataset spec_al_gsm8k: the Hub dataset 'openai/gsm8k' has no config 'nope' (configs: main, socratic)"
    );
    assert_eq!(posts(&mock).len(), 2);
    mock.stop().await;
}

/// MT-Bench rows (JSON Lines, a list of user turns each) become multi-turn conversations: the
/// second turn carries the first and the server's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mt_bench_rows_are_multi_turn_conversations() {
    let rows = [
        json!({"prompt_id": 1, "category": "writing", "prompt": ["Write a haiku.", "Now in French."]}),
        json!({"prompt_id": 2, "category": "math", "prompt": ["1+1?", ""]}),
    ];
    let jsonl: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let files = HashMap::from([("raw/question.jsonl".to_string(), jsonl.into_bytes())]);
    let (hub_url, _seen) = fake_hub(HashMap::from([(
        "HuggingFaceH4/mt_bench_prompts".to_string(),
        files,
    )]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "spec_al_mtbench")
        .arg("--tokenizer", "builtin")
        .request_count(3);
    engine(&hub)
        .run(&p.config(dir.path()), &aiperf_engine::Silent)
        .await
        .unwrap();
    let bodies: Vec<Value> = posts(&mock)
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let texts = |b: &Value| -> Vec<String> {
        b["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                format!(
                    "{}: {}",
                    m["role"].as_str().unwrap(),
                    m["content"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(texts(&bodies[0]), ["user: Write a haiku."]);
    let second = texts(&bodies[1]);
    assert_eq!(second.len(), 3, "{second:?}");
    assert_eq!(second[0], "user: Write a haiku.");
    assert!(second[1].starts_with("assistant: "));
    assert_eq!(second[2], "user: Now in French.");
    // The empty second prompt of row 2 is dropped: a one-turn conversation.
    assert_eq!(texts(&bodies[2]), ["user: 1+1?"]);
    mock.stop().await;
}

/// A gated repo (401) fails before any request, naming the repo and what to do; the token
/// never shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gated_dataset_names_the_repo_and_the_fix() {
    let (hub_url, _seen) = fake_hub(HashMap::new());
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut hub = HubConfig::new(&format!("{hub_url}/private"), dir.path().join("hf-cache"));
    hub.token = Some("hf_secret_token_123".into());
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "aimo")
        .arg("--tokenizer", "builtin")
        .request_count(1);
    let err = engine(&hub)
        .run(&p.config(dir.path()), &aiperf_engine::Silent)
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("HTTP 401") && msg.contains("AI-MO/NuminaMath-TIR"),
        "{msg}"
    );
    assert!(msg.contains("HF_TOKEN"), "{msg}");
    assert!(!msg.contains("hf_secret_token_123"), "{msg}");
    assert!(posts(&mock).is_empty());
    mock.stop().await;
}

/// Names and flags checked before anything runs.
#[test]
fn public_dataset_flags_are_checked() {
    let err = |args: &[&str]| {
        let mut argv = vec!["aiperf", "profile", "-m", "m"];
        argv.extend_from_slice(args);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let aiperf_config::Command::Profile(p) =
            <aiperf_config::Cli as clap::Parser>::try_parse_from(&argv)
                .unwrap()
                .command
        else {
            unreachable!()
        };
        aiperf_config::ProfileConfig::resolve(*p, &argv, &Registry::builtin())
            .unwrap_err()
            .to_string()
    };
    assert!(err(&["--public-dataset", "nope"]).starts_with(
        "--public-dataset: 'nope' is not a public dataset (this build reads: exgentic_v2, exgentic, sharegpt, aimo,"
    ));
    assert_eq!(
        err(&["--public-dataset", "weka_hf"]),
        "--public-dataset: weka_hf reads the Hub repo --hf-weka-dataset names; give it"
    );
    assert_eq!(
        err(&["--hf-weka-dataset", "org/x"]),
        "--hf-weka-dataset: requires --public-dataset weka_hf"
    );
    assert_eq!(
        err(&["--public-dataset", "aimo", "--dataset-filter", "a=b"]),
        "--dataset-filter: public dataset 'aimo' does not support --dataset-filter"
    );
    assert_eq!(
        err(&["--dataset-filter", "ab"]),
        "--dataset-filter: 'ab' is not in key=value form"
    );
    assert_eq!(
        err(&["--hf-subset", "x"]),
        "--hf-subset: requires --public-dataset"
    );
}

/// `--public-dataset sharegpt` downloads the ShareGPT file through the Hub (AIPerf fetches the
/// same file from huggingface.co directly) and applies vLLM's filters: the pair with a
/// two-word answer is dropped, the others keep their answers' token counts as `max_tokens`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharegpt_is_downloaded_through_the_hub() {
    let entries = json!([
        {"id": "a", "conversations": [
            {"from": "human", "value": "Tell me a long story about the sea and ships."},
            {"from": "gpt", "value": "Once upon a time a ship sailed the wide and windy sea."}]},
        {"id": "b", "conversations": [
            {"from": "human", "value": "Please say something short to me now."},
            {"from": "gpt", "value": "Okay."}]},
        {"id": "c", "conversations": [
            {"from": "human", "value": "What is the capital city of France, please?"},
            {"from": "gpt", "value": "The capital city of France is Paris, of course."}]}
    ]);
    let files = HashMap::from([(
        "ShareGPT_V3_unfiltered_cleaned_split.json".to_string(),
        entries.to_string().into_bytes(),
    )]);
    let (hub_url, seen) = fake_hub(HashMap::from([(
        "anon8231489123/ShareGPT_Vicuna_unfiltered".to_string(),
        files,
    )]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "sharegpt")
        .arg("--tokenizer", "builtin")
        .request_count(2);
    engine(&hub)
        .run(&p.config(dir.path()), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!(
        prompts(&mock),
        [
            "Tell me a long story about the sea and ships.",
            "What is the capital city of France, please?"
        ]
    );
    let tokenizer = aiperf_dataset::TextTokenizer::builtin().unwrap();
    let max_tokens: Vec<u64> = posts(&mock)
        .iter()
        .map(|r| {
            let b: Value = serde_json::from_slice(&r.body).unwrap();
            b["max_completion_tokens"]
                .as_u64()
                .or(b["max_tokens"].as_u64())
                .unwrap()
        })
        .collect();
    assert_eq!(
        max_tokens,
        [
            tokenizer.count("Once upon a time a ship sailed the wide and windy sea.") as u64,
            tokenizer.count("The capital city of France is Paris, of course.") as u64
        ]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["/datasets/anon8231489123/ShareGPT_Vicuna_unfiltered/resolve/main/ShareGPT_V3_unfiltered_cleaned_split.json"]
    );
    mock.stop().await;
}

/// A Hub repo holding one JSON Lines data file of `rows`, as `datasets` lays a split out.
fn jsonl_repo(rows: &[Value]) -> HashMap<String, Vec<u8>> {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    HashMap::from([(
        "data/train-00000-of-00001.jsonl".to_string(),
        text.into_bytes(),
    )])
}

fn sent_messages(mock: &aiperf_mock_server::MockHandle) -> Vec<Vec<Value>> {
    posts(mock)
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["messages"].as_array().unwrap().clone()
        })
        .collect()
}

/// `weka_hf` reads the repo `--hf-weka-dataset` names: each row a whole Weka trace, replayed
/// with its recorded context (turn 1 resends turn 0's blocks, the recorded answer as an
/// assistant message, then its new user blocks), never the server's live reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weka_traces_from_the_hub_replay_their_recorded_context() {
    let trace = json!({
        "id": "tr", "models": ["m"], "block_size": 64, "hash_id_scope": "local",
        "requests": [
            {"type": "n", "t": 0, "model": "m", "in": 128, "out": 10, "hash_ids": [1, 2], "api_time": 0.05},
            {"type": "n", "t": 0.1, "model": "m", "in": 256, "out": 4, "hash_ids": [1, 2, 3, 4], "api_time": 0.05}
        ]
    });
    let (hub_url, seen) = fake_hub(HashMap::from([(
        "org/agent-traces".to_string(),
        jsonl_repo(&[trace]),
    )]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "weka_hf")
        .arg("--hf-weka-dataset", "org/agent-traces")
        .arg("--tokenizer", "builtin")
        .arg("--conversation-num", 1);
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("a")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 2));
    assert_eq!(
        seen.lock().unwrap()[0],
        "/api/datasets/org/agent-traces/revision/main"
    );
    let sent = sent_messages(&mock);
    let roles = |m: &[Value]| -> Vec<String> {
        m.iter()
            .map(|x| x["role"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(roles(&sent[0]), ["user"]);
    assert_eq!(roles(&sent[1]), ["user", "assistant", "user"]);
    // Turn 1 starts with turn 0's prompt, byte for byte: the recorded prefix.
    assert_eq!(sent[1][0], sent[0][0]);
    mock.stop().await;
}

/// `exgentic` reads AIPerf's pinned commit, and `--dataset-filter harness=...` keeps only that
/// harness's sessions; a filter key Exgentic does not have is refused before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exgentic_sessions_come_filtered_from_the_pinned_commit() {
    let span = |text: &str| {
        json!({"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:01Z",
            "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.max_tokens": 8,
                "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5,
                "gen_ai.input.messages": serde_json::to_string(&json!([
                    {"role": "user", "parts": [{"type": "text", "content": text}]}])).unwrap()}})
    };
    let rows = [
        json!({"session_id": "a", "harness": "claude_code", "models": ["azure/gpt-4.1"], "spans": [span("from claude code")]}),
        json!({"session_id": "b", "harness": "tool_calling", "models": ["azure/gpt-4.1"], "spans": [span("from tool calling")]}),
    ];
    let (hub_url, seen) = fake_hub(HashMap::from([(
        "Exgentic/agent-llm-traces".to_string(),
        jsonl_repo(&rows),
    )]));
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::chat(&mock.url())
        .arg("--public-dataset", "exgentic")
        .arg("--dataset-filter", "harness=tool_calling")
        .arg("--tokenizer", "builtin")
        .request_count(1);
    let out = engine(&hub)
        .run(&p.config(&dir.path().join("a")), &aiperf_engine::Silent)
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.request_count), (0, 1));
    assert_eq!(
        seen.lock().unwrap()[0],
        "/api/datasets/Exgentic/agent-llm-traces/revision/70036b93a04e61b0ea2706a68b962f4f26774587"
    );
    let sent = sent_messages(&mock);
    assert_eq!(sent[0].last().unwrap()["content"], "from tool calling");
    let argv = Profile::chat(&mock.url())
        .arg("--public-dataset", "exgentic")
        .arg("--dataset-filter", "flavour=x")
        .argv(None);
    let cli = <aiperf_config::Cli as clap::Parser>::try_parse_from(&argv).unwrap();
    let aiperf_config::Command::Profile(a) = cli.command else {
        unreachable!()
    };
    let e = aiperf_config::ProfileConfig::resolve(*a, &argv, &Registry::builtin()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--dataset-filter: unknown Exgentic filter 'flavour' (harness, source_model, benchmark)"
    );
    mock.stop().await;
}
