//! `--model-selection-strategy`: with several `--model`s, round_robin sends session `n` to model
//! `n % models`, random gives every session a seeded pick (the same picks again from the same
//! seed), a session's turns keep its model, and weighted is refused from the command line.

use std::collections::HashMap;

use crate::common::*;
use aiperf_mock_server::RecordedRequest;
use serde_json::Value;

fn model(r: &RecordedRequest) -> String {
    let body: Value = serde_json::from_slice(&r.body).expect("a JSON body");
    body["model"].as_str().expect("a model").to_string()
}

/// The model of each single-turn session, in the order sent (one request at a time, so
/// arrival order is session order).
async fn models_sent(strategy: &str, seed: u64, sessions: u32) -> Vec<String> {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("a,b,c", &mock.url())
        .endpoint("chat")
        .arg("--model-selection-strategy", strategy)
        .concurrency(1)
        .request_count(sessions)
        .isl(8)
        .osl(2)
        .seed(seed)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let models: Vec<String> = posts(&mock).iter().map(model).collect();
    assert_eq!(models.len(), sessions as usize);
    mock.stop().await;
    models
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_alternates_models_by_session() {
    let models = models_sent("round_robin", 1, 9).await;
    assert_eq!(models, ["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_is_reproducible_from_the_seed_and_uses_every_model() {
    let first = models_sent("random", 11, 30).await;
    let again = models_sent("RANDOM", 11, 30).await;
    assert_eq!(first, again, "the same seed picks the same models");
    for m in ["a", "b", "c"] {
        assert!(first.iter().any(|x| x == m), "{m} never picked: {first:?}");
    }
    let round_robin: Vec<String> = (0..30).map(|i| ["a", "b", "c"][i % 3].into()).collect();
    assert_ne!(first, round_robin, "random is not round robin");
    let other = models_sent("random", 12, 30).await;
    assert_ne!(first, other, "another seed, other picks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_its_random_model_for_every_turn() {
    let mock = mock(0.0, 0.0).await;
    let dir = tempfile::tempdir().unwrap();
    let out = Profile::new("a,b,c", &mock.url())
        .endpoint("chat")
        .arg("--model-selection-strategy", "random")
        .arg("--conversation-num", 12)
        .arg("--conversation-turn-mean", 3)
        .concurrency(2)
        .isl(8)
        .osl(2)
        .seed(5)
        .run(dir.path())
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    let mut sessions: HashMap<String, Vec<String>> = HashMap::new();
    for r in &posts(&mock) {
        sessions
            .entry(r.header("x-correlation-id").unwrap().to_string())
            .or_default()
            .push(model(r));
    }
    assert_eq!(sessions.len(), 12);
    for turns in sessions.values() {
        assert_eq!(turns.len(), 3);
        assert!(turns.iter().all(|m| *m == turns[0]), "{turns:?}");
    }
    mock.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_is_refused_with_aiperfs_reason() {
    let dir = tempfile::tempdir().unwrap();
    let err = Profile::new("a,b", "http://127.0.0.1:1")
        .endpoint("chat")
        .arg("--model-selection-strategy", "weighted")
        .run(dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--model-selection-strategy"), "{err}");
    assert!(
        err.contains("All models must have weights specified when using weighted strategy"),
        "{err}"
    );
}
