//! Tokenizers from the Hugging Face Hub, end to end: a fake Hub on 127.0.0.1 (std::net, one
//! thread) serving the real o200k_base tokenizer.json, handed to the engine as a `HubConfig`
//! (no environment variable is set).

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::common::*;
use aiperf_engine::Engine;
use aiperf_hub::HubConfig;
use aiperf_plugins::Registry;
use serde_json::Value;

const COMMIT: &str = "89abcdef0123456789abcdef0123456789abcdef";

/// A fake Hub with `org/tiny` (tokenizer.json only); everything else is 404. Returns its URL
/// and the paths it was asked for.
fn fake_hub() -> (String, Arc<Mutex<Vec<String>>>) {
    let mut json = Vec::new();
    let gz = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets/tokenizers/o200k_base/tokenizer.json.gz"),
    )
    .unwrap();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut json)
        .unwrap();
    fake_http(move |path| {
        if path == "/org/tiny/resolve/main/tokenizer.json" {
            (
                "200 OK",
                format!("X-Repo-Commit: {COMMIT}\r\nETag: \"o200k\"\r\n"),
                json.clone(),
            )
        } else {
            ("404 Not Found", String::new(), Vec::new())
        }
    })
}

fn tokenizer_block(dir: &Path) -> Value {
    read_json(dir.join("profile_export_aiperf.json"))["input_config"]["tokenizer"].clone()
}

/// `-m org/tiny` without `--tokenizer`: the model's tokenizer is downloaded into the cache once
/// and used (no fallback); a second run of a new engine asks the Hub nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_named_org_name_gets_its_tokenizer_from_the_hub() {
    let (hub_url, seen) = fake_hub();
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let p = Profile::new("org/tiny", &mock.url())
        .isl(8)
        .osl(4)
        .request_count(1);
    for run in ["first", "second"] {
        let engine = Engine::new(Arc::new(Registry::builtin())).with_hub(hub.clone());
        let out = engine
            .run(&p.config(&dir.path().join(run)), &aiperf_engine::Silent)
            .await
            .unwrap();
        assert_eq!(out.exit_code, 0);
        assert_eq!(
            tokenizer_block(&dir.path().join(run)),
            serde_json::json!({"name": "org/tiny", "revision": "main", "used": "org/tiny",
                "fallback": false})
        );
    }
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            "/org/tiny/resolve/main/tokenizer.json".to_string(),
            "/org/tiny/resolve/main/tokenizer_config.json".to_string()
        ]
    );
    assert!(dir
        .path()
        .join("hf-cache/models--org--tiny/snapshots")
        .join(COMMIT)
        .join("tokenizer.json")
        .is_file());
    mock.stop().await;
}

/// A model not on the Hub falls back to the built-in tokenizer and the summary says why; an
/// explicit `--tokenizer` not on the Hub ends the run before any request, naming the repo and
/// the status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_hub_tokenizer_falls_back_for_a_model_and_fails_for_tokenizer() {
    let (hub_url, _seen) = fake_hub();
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubConfig::new(&hub_url, dir.path().join("hf-cache"));
    let engine = Engine::new(Arc::new(Registry::builtin())).with_hub(hub.clone());
    let p = Profile::new("org/missing", &mock.url())
        .isl(8)
        .osl(4)
        .request_count(1);
    engine
        .run(
            &p.config(&dir.path().join("fallback")),
            &aiperf_engine::Silent,
        )
        .await
        .unwrap();
    let t = tokenizer_block(&dir.path().join("fallback"));
    assert_eq!(t["used"], "builtin");
    assert_eq!(t["fallback"], true);
    let reason = t["fallback_reason"].as_str().unwrap();
    assert!(reason.contains("HTTP 404"), "{reason}");
    assert!(reason.contains("'org/missing'"), "{reason}");
    let sent = posts(&mock).len();

    let engine = Engine::new(Arc::new(Registry::builtin())).with_hub(hub);
    let e = engine
        .run(
            &p.clone()
                .arg("--tokenizer", "org/none")
                .config(&dir.path().join("explicit")),
            &aiperf_engine::Silent,
        )
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.starts_with("--tokenizer: "), "{msg}");
    assert!(
        msg.contains("'org/none'") && msg.contains("HTTP 404"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
    assert_eq!(posts(&mock).len(), sent, "no request after the error");
    mock.stop().await;
}
