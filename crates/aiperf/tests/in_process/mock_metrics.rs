//! Metrics that only servers report, end to end against the mock over loopback: vLLM's
//! per-request speculative-decoding stats (`spec_decode_*`), SGLang's video job stats
//! (`video_*`) and vLLM's context-window refusals (`context_overflow_count`). Every expected
//! value is worked out from what the mock was told to send.

use crate::common::*;
use aiperf_mock_server::MockConfig;
use serde_json::Value;

/// The mock with speculative decoding: `k` drafts a step, each accepted with probability `p`.
fn spec_mock(k: u32, p: f64, detailed: bool) -> MockConfig {
    MockConfig {
        num_speculative_tokens: k,
        spec_acceptance_prob: p,
        spec_decode_detailed: detailed,
        ..MockConfig::for_tests(1.0, 0.1)
    }
}

/// Runs `profile` into `dir` and returns the summary; every request must succeed.
async fn summary(profile: Profile, dir: &std::path::Path, requests: u64) -> Value {
    let out = profile.run(dir).await.unwrap();
    assert_eq!(
        (out.exit_code, out.request_count, out.error_count),
        (0, requests, 0)
    );
    read_json(dir.join("profile_export_aiperf.json"))
}

/// The run totals `(steps, accepted, drafted)`.
fn totals(s: &Value) -> (f64, f64, f64) {
    (
        stat(s, "total_spec_decode_steps", "avg"),
        stat(s, "total_accepted_draft_tokens", "avg"),
        stat(s, "total_draft_tokens", "avg"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_draft_accepted_on_a_streamed_chat() {
    // k = 3, p = 1, 19 output tokens: 1 from the prefill, then steps of 4, 4, 4, 4 and a last
    // one of 2 (1 draft accepted): 5 steps, 13 of 15 drafts accepted, histogram [0, 1, 0, 4].
    // Per request: length 1 + 13 / 5 = 3.6, rate 13 / 15, (13 + 5) / (15 + 5) = 0.9.
    let mock = mock_with(spec_mock(3, 1.0, false)).await;
    let dir = tempfile::tempdir().unwrap();
    let s = summary(
        Profile::chat(&mock.url())
            .streaming()
            .concurrency(2)
            .request_count(4)
            .isl(8)
            .osl(19),
        dir.path(),
        4,
    )
    .await;
    for (tag, want) in [
        ("spec_decode_acceptance_length", 3.6),
        ("spec_decode_draft_acceptance_rate", 100.0 * 13.0 / 15.0),
        ("spec_decode_accepted_per_verified", 0.9),
        ("spec_decode_steps", 5.0),
    ] {
        for field in ["avg", "min", "max"] {
            assert_close(stat(&s, tag, field), want, 1e-9, tag);
        }
    }
    // 4 requests: 20 steps, 52 of 60 drafts accepted.
    assert_eq!(totals(&s), (20.0, 52.0, 60.0));
    assert_close(
        stat(&s, "spec_decode_token_weighted_acceptance_length", "avg"),
        1.0 + 52.0 / 20.0,
        1e-9,
        "token-weighted length",
    );
    assert_close(
        stat(&s, "spec_decode_overall_draft_acceptance_rate", "avg"),
        100.0 * 52.0 / 60.0,
        1e-9,
        "overall rate",
    );
    // The stats came on the trailing usage chunk, as vLLM sends them.
    let sent = posts(&mock);
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent[0].json().unwrap()["stream_options"]["include_usage"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_draft_accepted_on_whole_completions() {
    // k = 2, p = 0, 10 output tokens: 9 steps emit only their bonus token; 0 of 18 accepted.
    // Per request: length 1, rate 0, (0 + 9) / (18 + 9) = 1/3.
    let mock = mock_with(spec_mock(2, 0.0, true)).await;
    let dir = tempfile::tempdir().unwrap();
    let s = summary(
        Profile::new("mock-model", &mock.url())
            .endpoint("completions")
            .concurrency(1)
            .request_count(3)
            .isl(8)
            .osl(10),
        dir.path(),
        3,
    )
    .await;
    assert_eq!(stat(&s, "spec_decode_acceptance_length", "avg"), 1.0);
    assert_eq!(stat(&s, "spec_decode_draft_acceptance_rate", "max"), 0.0);
    assert_close(
        stat(&s, "spec_decode_accepted_per_verified", "avg"),
        1.0 / 3.0,
        1e-9,
        "accepted per verified",
    );
    assert_eq!(totals(&s), (27.0, 0.0, 54.0));
    assert_eq!(
        stat(&s, "spec_decode_token_weighted_acceptance_length", "avg"),
        1.0
    );
    assert_eq!(
        stat(&s, "spec_decode_overall_draft_acceptance_rate", "avg"),
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_acceptance_is_consistent_and_repeats() {
    // k = 4, p = 0.5, 30 output tokens, 5 requests: whatever the draws, each request's steps
    // emit its 29 tokens after the first (accepted + steps = 29) and propose 4 drafts each.
    let run = |seed: u64| async move {
        let cfg = MockConfig {
            random_seed: seed,
            ..spec_mock(4, 0.5, false)
        };
        let mock = mock_with(cfg).await;
        let dir = tempfile::tempdir().unwrap();
        summary(
            Profile::chat(&mock.url())
                .concurrency(1)
                .request_count(5)
                .isl(8)
                .osl(30),
            dir.path(),
            5,
        )
        .await
    };
    let s = run(7).await;
    let (steps, accepted, drafted) = totals(&s);
    assert_eq!(accepted + steps, 5.0 * 29.0);
    assert_eq!(drafted, 4.0 * steps);
    assert!(
        accepted > 0.0 && accepted < drafted,
        "{accepted} of {drafted}"
    );
    assert_close(
        stat(&s, "spec_decode_token_weighted_acceptance_length", "avg"),
        1.0 + accepted / steps,
        1e-9,
        "token-weighted length",
    );
    assert_close(
        stat(&s, "spec_decode_overall_draft_acceptance_rate", "avg"),
        100.0 * accepted / drafted,
        1e-9,
        "overall rate",
    );
    // The same seed draws the same acceptances.
    assert_eq!(totals(&run(7).await), (steps, accepted, drafted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_jobs_report_inference_time_and_peak_memory() {
    // A job takes ttft + itl * 64 = 20 + 64 * 1 = 84 ms: inference_time_s 0.084 (shown in ms).
    let mock = mock_with(MockConfig {
        video_peak_memory_mb: Some(2048.5),
        ..MockConfig::for_tests(20.0, 1.0)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "data.jsonl",
        "{\"text\": \"a lighthouse\"}\n".repeat(3),
    );
    let s = summary(
        Profile::new("mock-model", &mock.url())
            .endpoint("video_generation")
            .input_file(&data, "single_turn")
            .arg("--dataset-sampling-strategy", "sequential")
            .arg("--job-poll-interval", 0.01)
            .concurrency(1)
            .request_count(3),
        &dir.path().join("run"),
        3,
    )
    .await;
    for field in ["avg", "min", "max"] {
        assert_close(
            stat(&s, "video_inference_time", field),
            84.0,
            1e-9,
            "video_inference_time",
        );
        assert_eq!(stat(&s, "video_peak_memory", field), 2048.5);
    }
    assert_eq!(s["video_inference_time"]["unit"], "ms");
    assert_eq!(stat(&s, "video_peak_memory", "count"), 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_beyond_the_context_window_are_refused_and_counted() {
    // Without a tokenizer (`none`) the mock counts a token per 4 characters, rounded up: n
    // three-letter words joined by spaces are 4n - 1 characters, n tokens. A 10-token window:
    // prompts of 4, 10, 11 and 16 tokens without an output length, 11 and 16 overflow; 6 with
    // 4 output tokens fit (10), with 5 they do not (11). 3 of 6 requests are refused.
    let mock = mock_with(MockConfig {
        tokenizer: "none".into(),
        max_model_len: Some(10),
        ..MockConfig::for_tests(1.0, 0.1)
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let words = |n: usize| vec!["abc"; n].join(" ");
    let lines = [
        serde_json::json!({"text": words(4)}),
        serde_json::json!({"text": words(10)}),
        serde_json::json!({"text": words(11)}),
        serde_json::json!({"text": words(16)}),
        serde_json::json!({"text": words(6), "output_length": 4}),
        serde_json::json!({"text": words(6), "output_length": 5}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let data = write(dir.path(), "data.jsonl", text);
    let run = dir.path().join("run");
    let out = Profile::chat(&mock.url())
        .input_file(&data, "single_turn")
        .arg("--dataset-sampling-strategy", "sequential")
        .concurrency(1)
        .request_count(6)
        .run(&run)
        .await
        .unwrap();
    assert_eq!((out.request_count, out.error_count), (3, 3));
    let s = read_json(run.join("profile_export_aiperf.json"));
    assert_eq!(stat(&s, "context_overflow_count", "avg"), 3.0);
    assert_eq!(stat(&s, "error_request_count", "avg"), 3.0);
    // vLLM's own words reached the records.
    let records = read_jsonl(run.join("profile_export.jsonl"));
    let errors: Vec<String> = records
        .iter()
        .filter_map(|r| r.get("error"))
        .map(Value::to_string)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    for want in [
        "However, your request has 11 input tokens",
        "However, your request has 16 input tokens",
        "'max_tokens' or 'max_completion_tokens' is too large: 5",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "{want}: {errors:?}"
        );
    }
    assert!(errors.iter().all(|e| e.contains("400")), "{errors:?}");
}
