//! `--apply-chat-template` end to end: a model directory (the real o200k tokenizer.json plus a
//! tokenizer_config.json with a ChatML chat template), runs against the mock, and the ISL of
//! every record checked against the hand-built template of the body the mock received.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::common::*;
use aiperf_dataset::TextTokenizer;
use aiperf_mock_server::RecordedRequest;
use serde_json::{json, Value};

/// Qwen2.5's ChatML template, trimmed to what these tests send (no tools).
const CHATML: &str = "{%- if messages[0]['role'] == 'system' %}\n    {{- '<|im_start|>system\\n' + \
    messages[0]['content'] + '<|im_end|>\\n' }}\n{%- else %}\n    {{- '<|im_start|>system\\nYou are \
    a helpful assistant.<|im_end|>\\n' }}\n{%- endif %}\n{%- for message in messages %}\n    {%- if \
    not (message.role == 'system' and loop.first) %}\n        {{- '<|im_start|>' + message.role + \
    '\\n' + message.content + '<|im_end|>\\n' }}\n    {%- endif %}\n{%- endfor %}\n{%- if \
    add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n";

/// A model directory: o200k's tokenizer.json and a tokenizer_config.json (`config`).
fn model_dir(root: &Path, config: Value) -> String {
    let dir = root.join("model");
    std::fs::create_dir_all(&dir).unwrap();
    let gz = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/tokenizers/o200k_base/tokenizer.json.gz"),
    )
    .unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .unwrap();
    std::fs::write(dir.join("tokenizer.json"), json).unwrap();
    std::fs::write(dir.join("tokenizer_config.json"), config.to_string()).unwrap();
    dir.to_str().unwrap().to_string()
}

/// What the template renders for a chat body, written out by hand: the system message (or the
/// default one), every other message wrapped, then the generation prompt.
fn by_hand(body: &Value) -> String {
    let messages = body["messages"].as_array().unwrap();
    let mut out = String::new();
    if messages[0]["role"] != "system" {
        out.push_str("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
    }
    for m in messages {
        let (role, content) = (m["role"].as_str().unwrap(), m["content"].as_str().unwrap());
        out.push_str(&format!("<|im_start|>{role}\n{content}<|im_end|>\n"));
    }
    out + "<|im_start|>assistant\n"
}

/// ISL per request id from the run's records.
fn isl_by_request(run: &Path) -> HashMap<String, u64> {
    read_jsonl(run.join("profile_export.jsonl"))
        .iter()
        .map(|r| {
            (
                r["metadata"]["x_request_id"].as_str().unwrap().to_string(),
                r["metrics"]["input_sequence_length"]["value"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect()
}

fn request_id(r: &RecordedRequest) -> String {
    r.header("x-request-id").unwrap().to_string()
}

/// Multi-turn conversations with a system prompt: each record's ISL is the token count of the
/// template over the messages actually sent (system, history with the server's replies, this
/// turn) plus the generation prompt, counted without special tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isl_counts_the_template_over_each_sent_body() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir(
        dir.path(),
        json!({"chat_template": CHATML, "eos_token": "<|im_end|>"}),
    );
    let run = dir.path().join("run");
    let out = Profile::new("mock-model", &mock.url())
        .input_file(example("multi_turn.jsonl"), "multi_turn")
        .arg("--tokenizer", &model)
        .flag("--apply-chat-template")
        .arg("--conversation-num", 2)
        .concurrency(1)
        .seed(3)
        .run(&run)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!((out.request_count, out.error_count), (5, 0));
    let tok = TextTokenizer::load(&model, "main").unwrap();
    let isl = isl_by_request(&run);
    let reqs = posts(&mock);
    assert_eq!(reqs.len(), 5);
    let mut longest = 0;
    for r in &reqs {
        let body = r.json().unwrap();
        let templated = by_hand(&body);
        let bare: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        let want = tok.count(&templated) as u64;
        assert_eq!(isl[&request_id(r)], want, "{templated:?}");
        assert!(want > tok.count(&bare.join(" ")) as u64);
        longest = longest.max(body["messages"].as_array().unwrap().len());
    }
    // The last turn of c1 carries the system prompt and two earlier exchanges.
    assert_eq!(longest, 6);
    mock.stop().await;
}

/// Synthetic prompts are shortened by the template's estimated wrapping, so the templated
/// prompt is `--isl` long: the user text is shorter, the record's ISL is `--isl`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_prompts_hit_isl_after_the_template() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir(dir.path(), json!({"chat_template": CHATML}));
    let run = dir.path().join("run");
    let out = Profile::chat(&mock.url())
        .arg("--tokenizer", &model)
        .flag("--apply-chat-template")
        .isl(64)
        .osl(4)
        .request_count(6)
        .arg("--num-dataset-entries", 6)
        .seed(11)
        .run(&run)
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (6, 0));
    let tok = TextTokenizer::load(&model, "main").unwrap();
    // AIPerf's estimate of the wrapping of a first turn (default system message, the turn's
    // header and end, the generation prompt), which the prompts are shortened by.
    let o = aiperf_dataset::chat_template::ChatTemplate::from_dir(Path::new(&model))
        .unwrap()
        .unwrap()
        .overhead(&tok);
    let overhead = o.per_request + o.per_message;
    assert!(overhead > 10, "{o:?}");
    let isl = isl_by_request(&run);
    for r in posts(&mock) {
        let body = r.json().unwrap();
        let user = body["messages"][0]["content"].as_str().unwrap();
        assert_eq!(tok.count(user), 64 - overhead, "{user:?}");
        assert_eq!(isl[&request_id(&r)], tok.count(&by_hand(&body)) as u64);
        // AIPerf's estimate from three probe texts, not an exact fit: where template text and
        // prompt text tokenize differently at their boundary it can be one off.
        let got = isl[&request_id(&r)];
        assert!(got.abs_diff(64) <= 1, "{got}");
    }
    mock.stop().await;
}

/// Completions bodies have no message list: their ISL is the bare prompt, as in AIPerf (whose
/// composer still shortens synthetic prompts by the template's wrapping).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_count_the_bare_prompt() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir(dir.path(), json!({"chat_template": CHATML}));
    let run = dir.path().join("run");
    let out = Profile::new("mock-model", &mock.url())
        .endpoint("completions")
        .arg("--tokenizer", &model)
        .flag("--apply-chat-template")
        .isl(64)
        .osl(4)
        .request_count(3)
        .seed(5)
        .run(&run)
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (3, 0));
    let tok = TextTokenizer::load(&model, "main").unwrap();
    let isl = isl_by_request(&run);
    for r in posts(&mock) {
        let prompt = r.json().unwrap()["prompt"].as_str().unwrap().to_string();
        assert_eq!(isl[&request_id(&r)], tok.count(&prompt) as u64);
        assert!(tok.count(&prompt) < 64);
    }
    mock.stop().await;
}

/// A tokenizer without a chat template (GPT-2 style config): as in AIPerf the flag does nothing
/// (here with a warning); the run succeeds, prompts are `--isl` long and the ISL is the bare
/// prompt's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_template_the_flag_does_nothing() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let model = model_dir(
        dir.path(),
        json!({"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>",
            "eos_token": "<|endoftext|>"}),
    );
    let run = dir.path().join("run");
    let out = Profile::chat(&mock.url())
        .arg("--tokenizer", &model)
        .flag("--apply-chat-template")
        .isl(48)
        .osl(4)
        .request_count(3)
        .seed(2)
        .run(&run)
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!((out.request_count, out.error_count), (3, 0));
    let tok = TextTokenizer::load(&model, "main").unwrap();
    let isl = isl_by_request(&run);
    for r in posts(&mock) {
        let user = r.json().unwrap()["messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(tok.count(&user), 48);
        assert_eq!(isl[&request_id(&r)], 48);
    }
    mock.stop().await;
}
